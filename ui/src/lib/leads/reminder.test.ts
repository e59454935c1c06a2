import { describe, expect, it } from 'vitest';
import { reminderLabel, wasMoved, withLocalOffset } from './reminder';

describe('reminders', () => {
  it('carry the local time and its offset, so core judges the call window locally', () => {
    const v = withLocalOffset('2026-12-03T12:30');
    expect(v).toMatch(/^2026-12-03T12:30:00[+-]\d{2}:\d{2}$/);
    expect(new Date(v!).getTime()).toBe(new Date('2026-12-03T12:30').getTime());
  });
  it('refuse what is not a time', () => {
    expect(withLocalOffset('')).toBeNull();
    expect(withLocalOffset('tomorrow')).toBeNull();
  });
  it('show in the technician\'s own local time and tell when core moved them', () => {
    expect(reminderLabel('2026-12-03T14:00:00+08:00')).toBe('2026-12-03 14:00');
    expect(wasMoved('2026-12-03T12:30:00+08:00', '2026-12-03T14:00:00+08:00')).toBe(true);
    expect(wasMoved('2026-12-03T10:30:00+08:00', '2026-12-03T10:30:00+08:00')).toBe(false);
  });
});
