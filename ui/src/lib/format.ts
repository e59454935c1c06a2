import type { Locale } from './ipc';

const intlLocale = (l: Locale) => (l === 'en' ? 'en-GB' : 'zh-CN');

function dateLabel(d: Date, l: Locale): string {
  const date = new Intl.DateTimeFormat(intlLocale(l), { year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const wd = new Intl.DateTimeFormat(intlLocale(l), { weekday: 'short' }).format(d);
  return l === 'en' ? `${wd} ${date}` : `${date} ${wd}`;
}

/** A Date as the value of a datetime-local input (local time). */
export function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Local date and time of an RFC 3339 timestamp. */
export function fmtDateTime(iso: string | null | undefined, l: Locale): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const t = new Intl.DateTimeFormat(intlLocale(l), { hour: '2-digit', minute: '2-digit', hour12: false }).format(d);
  return `${dateLabel(d, l)} ${t}`;
}

export function fmtTime(iso: string | null | undefined, l: Locale): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(intlLocale(l), { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(d);
}

/** An appointment window: the date once, then start–end times. */
export function fmtWindow(start: string, end: string, l: Locale): string {
  const s = new Date(start);
  const e = new Date(end);
  if (Number.isNaN(s.getTime()) || Number.isNaN(e.getTime())) return `${start} – ${end}`;
  const date = dateLabel(s, l);
  const t = new Intl.DateTimeFormat(intlLocale(l), { hour: '2-digit', minute: '2-digit', hour12: false });
  const sameDay = s.toDateString() === e.toDateString();
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

/** A datetime-local input value to RFC 3339 (UTC). */
export function localInputToIso(v: string): string | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Bytes as KiB or MiB. */
export function fmtBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
