// A reminder travels as the technician's local time with its UTC offset
// (RFC 3339), so core judges the call windows in local time without a time
// zone database. These convert to and from a datetime-local input.

const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0');

/** `2026-12-03T12:30` (a datetime-local value) as `2026-12-03T12:30:00+08:00`
 *  in this machine's zone on that date; null when empty or not a time. */
export function withLocalOffset(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) return null;
  const d = new Date(value); // a datetime-local value parses as local time
  if (Number.isNaN(d.getTime())) return null;
  const east = -d.getTimezoneOffset();
  const sign = east < 0 ? '-' : '+';
  return `${value}:00${sign}${pad(east / 60)}:${pad(east % 60)}`;
}

/** A reminder as the technician set it: `2026-12-03 14:00`, in its own
 *  offset (the technician's local time), whatever zone reads it. */
export function reminderLabel(reminder: string | null | undefined): string {
  if (!reminder) return '';
  return reminder.slice(0, 16).replace('T', ' ');
}

/** Whether core moved a proposed reminder (outside the call windows). */
export function wasMoved(proposed: string | null, kept: string | null | undefined): boolean {
  if (!proposed || !kept) return false;
  return Date.parse(proposed) !== Date.parse(kept);
}
