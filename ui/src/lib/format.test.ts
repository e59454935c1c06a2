import { afterEach, describe, expect, it } from 'vitest';
import { fmtTime, fmtWindow, localInputToIso, operatorDate, toLocalInput, useTimeZone } from './format';

// Times are the operator's: what is shown and what is typed is read in the
// zone HQ names, whatever zone this machine runs in (the suite passes under
// any TZ; the console test runs Chromium in another zone too).
describe('the operator zone', () => {
  afterEach(() => useTimeZone('Asia/Shanghai'));

  it('shows an instant on the operator clock and calendar', () => {
    useTimeZone('Asia/Shanghai');
    expect(fmtTime('2026-12-01T17:30:00Z', 'en')).toBe('01:30:00');
    expect(operatorDate(new Date('2026-12-01T17:30:00Z'))).toBe('2026-12-02');
    expect(fmtWindow('2026-12-01T17:30:00Z', '2026-12-01T18:30:00Z', 'en')).toContain('01:30–02:30');
  });

  it('reads a typed time in the operator zone, both ways, across a clock change', () => {
    useTimeZone('Asia/Shanghai');
    expect(localInputToIso('2026-12-02T09:00')).toBe('2026-12-02T01:00:00.000Z');
    expect(toLocalInput(new Date('2026-12-02T01:00:00Z'))).toBe('2026-12-02T09:00');
    useTimeZone('America/New_York');
    expect(localInputToIso('2026-07-01T09:00')).toBe('2026-07-01T13:00:00.000Z');
    expect(localInputToIso('2026-12-01T09:00')).toBe('2026-12-01T14:00:00.000Z');
    expect(toLocalInput(new Date('2026-12-01T14:00:00Z'))).toBe('2026-12-01T09:00');
  });

  it('keeps the zone it has when given one the browser does not know', () => {
    useTimeZone('Mars/Olympus_Mons');
    expect(fmtTime('2026-12-01T17:30:00Z', 'en')).toBe('01:30:00');
  });
});
