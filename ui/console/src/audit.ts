// An audit entry's detail in the console's language. HQ writes it in
// English for people and scripts; the shapes the console knows are shown
// translated (times in the browser's zone), anything else as HQ wrote it.
import { get } from 'svelte/store';
import { _ } from './i18n';
import type { AuditEntry } from './api';
import { fmtWindow } from '../../src/lib/format';
import type { Locale } from '../../src/lib/ipc';

const t = (key: string, values?: Record<string, string | number>) => get(_)(key, { values });

const REASONS = ['wrong password', 'unknown username', 'account disabled', 'password too long'];

export function auditDetail(entry: AuditEntry, lang: Locale): string {
  const d = entry.detail;
  let m: RegExpMatchArray | null;
  if (entry.action === 'login_failed' && REASONS.includes(d)) return t('audit.reasons.' + d.replaceAll(' ', '_'));
  if ((m = d.match(/^CSV row (\d+) of (\d+)$/))) return t('audit.csv_row', { row: m[1], rows: m[2] });
  if (d === 'demo set') return t('audit.demo_set');
  if ((m = d.match(/^code ([0-9a-f-]{36})$/))) return t('audit.code', { id: m[1].slice(-8) });
  if (entry.action === 'reschedule' && (m = d.match(/^(\S+) – (\S+)$/))) return fmtWindow(m[1], m[2], lang);
  if (entry.action === 'resolve_conflict' && (m = d.match(/^(accept_completion|keep_cancelled): ?(.*)$/s))) {
    const outcome = t('conflicts.resolutions.' + m[1]);
    return m[2] ? `${outcome}:${m[2]}` : outcome;
  }
  return d;
}
