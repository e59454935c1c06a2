/**
 * The slot the reschedule panel proposes: the same window one day later, or,
 * when that has already begun (an overdue job), tomorrow at the old window's
 * time of day. Never in the past, which the reschedule rule refuses. The
 * window keeps its length; the technician adjusts it.
 */
export function proposeSlot(windowStart: Date, windowEnd: Date, now: Date): { start: Date; end: Date } {
  const length = windowEnd.getTime() - windowStart.getTime();
  const start = new Date(windowStart);
  start.setDate(start.getDate() + 1);
  if (start.getTime() <= now.getTime()) {
    start.setFullYear(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  }
  return { start, end: new Date(start.getTime() + length) };
}
