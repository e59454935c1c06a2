/** A typed call duration ("3:05", "3", "185s") to seconds; null when empty; NaN when unreadable. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  const mmss = /^(\d{1,3}):([0-5]?\d)$/.exec(t);
  if (mmss) return Number(mmss[1]) * 60 + Number(mmss[2]);
  const seconds = /^(\d{1,5})\s*(s|秒)$/i.exec(t);
  if (seconds) return Number(seconds[1]);
  const minutes = /^(\d{1,3})\s*(m|min|分钟?)?$/i.exec(t);
  if (minutes) return Number(minutes[1]) * 60;
  return NaN;
}
