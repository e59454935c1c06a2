import { describe, expect, it } from 'vitest';
import { proposeSlot } from './slot';

// Local times: the panel shows and edits local date and time.
const local = (y: number, m: number, d: number, h: number, min = 0) => new Date(y, m - 1, d, h, min);

describe('proposeSlot', () => {
  it('proposes the same window a day later when that is still ahead', () => {
    const slot = proposeSlot(local(2026, 12, 2, 9), local(2026, 12, 2, 11), local(2026, 12, 2, 8));
    expect(slot.start, 'one day later, same time of day').toEqual(local(2026, 12, 3, 9));
    expect(slot.end, 'the window keeps its length').toEqual(local(2026, 12, 3, 11));
  });

  it('never proposes a slot in the past for an overdue job', () => {
    // The window was three days ago: a day later is still in the past,
    // which the reschedule rule refuses.
    const now = local(2026, 12, 5, 15, 30);
    const slot = proposeSlot(local(2026, 12, 2, 9), local(2026, 12, 2, 10, 30), now);
    expect(slot.start.getTime(), 'the proposal must be after now').toBeGreaterThan(now.getTime());
    expect(slot.start, 'tomorrow at the old window time of day').toEqual(local(2026, 12, 6, 9));
    expect(slot.end).toEqual(local(2026, 12, 6, 10, 30));
  });

  it('moves past a window that has only just begun', () => {
    // Yesterday 16:00 plus a day is 16:00 today, already begun at 16:10.
    const now = local(2026, 12, 3, 16, 10);
    const slot = proposeSlot(local(2026, 12, 2, 16), local(2026, 12, 2, 17), now);
    expect(slot.start).toEqual(local(2026, 12, 4, 16));
  });
});
