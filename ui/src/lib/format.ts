import type { Locale } from './ipc';

const intlLocale = (l: Locale) => (l === 'en' ? 'en-GB' : 'zh-CN');

/**
 * The operator's time zone (an IANA name HQ sets): every time shown, and
 * every time typed into a date-time field, is in it, whatever zone the
 * browser or the laptop is set to. Until HQ names one: the default HQ has.
 */
let operatorZone = 'Asia/Shanghai';

/** Shows every time from now on in `zone` (from HQ's settings or the app). */
export function useTimeZone(zone: string) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    operatorZone = zone;
  } catch {
    /* a zone this browser does not know: keep the one we have */
  }
}

export function timeZone(): string {
  return operatorZone;
}

/** An Intl formatter in the operator's zone. */
export function zoned(l: Locale, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(intlLocale(l), { ...options, timeZone: operatorZone });
}

/** The wall-clock fields of `d` in the operator's zone. */
function wall(d: Date): { y: number; mo: number; d: number; h: number; mi: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: operatorZone, hourCycle: 'h23',
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  }).formatToParts(d);
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { y: n('year'), mo: n('month'), d: n('day'), h: n('hour'), mi: n('minute') };
}

/** YYYY-MM-DD of `d` in the operator's zone (the board's day, "today"). */
export function operatorDate(d = new Date()): string {
  const w = wall(d);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${w.y}-${p(w.mo)}-${p(w.d)}`;
}

function dateLabel(d: Date, l: Locale): string {
  const date = zoned(l, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const wd = zoned(l, { weekday: 'short' }).format(d);
  return l === 'en' ? `${wd} ${date}` : `${date} ${wd}`;
}

/** A Date as the value of a datetime-local input, in the operator's zone. */
export function toLocalInput(d: Date): string {
  const w = wall(d);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${w.y}-${p(w.mo)}-${p(w.d)}T${p(w.h)}:${p(w.mi)}`;
}

/** Date and time of an RFC 3339 timestamp, in the operator's zone. */
export function fmtDateTime(iso: string | null | undefined, l: Locale): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const t = zoned(l, { hour: '2-digit', minute: '2-digit', hour12: false }).format(d);
  return `${dateLabel(d, l)} ${t}`;
}

export function fmtTime(iso: string | null | undefined, l: Locale): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return zoned(l, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(d);
}

/** An appointment window: the date once, then start–end times. */
export function fmtWindow(start: string, end: string, l: Locale): string {
  const s = new Date(start);
  const e = new Date(end);
  if (Number.isNaN(s.getTime()) || Number.isNaN(e.getTime())) return `${start} – ${end}`;
  const date = dateLabel(s, l);
  const t = zoned(l, { hour: '2-digit', minute: '2-digit', hour12: false });
  const sameDay = operatorDate(s) === operatorDate(e);
  return sameDay ? `${date} ${t.format(s)}–${t.format(e)}` : `${date} ${t.format(s)} – ${fmtDateTime(end, l)}`;
}

/** Fen (1/100 yuan) as a yuan amount with two decimals. */
export function yuan(fen: number): string {
  return (fen / 100).toFixed(2);
}

/** mm:ss of a number of seconds. */
export function mmss(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** A datetime-local input value, read in the operator's zone, to RFC 3339 (UTC). */
export function localInputToIso(v: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(v);
  if (!m) return null;
  const [y, mo, d, h, mi] = m.slice(1).map(Number);
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  // The zone's offset at that wall time: guess with the offset at the same
  // instant read as UTC, then correct once (enough across a clock change).
  const offsetAt = (t: number) => {
    const w = wall(new Date(t));
    return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi) - Math.floor(t / 60000) * 60000;
  };
  let t = asUtc - offsetAt(asUtc);
  t = asUtc - offsetAt(t);
  const out = new Date(t);
  return Number.isNaN(out.getTime()) ? null : out.toISOString();
}

/** Bytes as KiB or MiB. */
export function fmtBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A moment-of-truth score (-3 to +3) with its sign, as the standard writes it. */
export function fmtMot(mot: number): string {
  return mot > 0 ? `+${mot}` : `${mot}`;
}
