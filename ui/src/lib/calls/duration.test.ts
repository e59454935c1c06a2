import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration';

// The duration field takes what a technician types after hanging up; an
// unreadable entry must be caught in the form, never saved as zero.
describe('parseDuration', () => {
  it('reads minutes and seconds, plain minutes, and seconds', () => {
    expect(parseDuration('3:05')).toBe(185);
    expect(parseDuration('0:40')).toBe(40);
    expect(parseDuration('4')).toBe(240);
    expect(parseDuration('4分钟')).toBe(240);
    expect(parseDuration('95s')).toBe(95);
    expect(parseDuration('95秒')).toBe(95);
  });
  it('leaves an empty field empty', () => {
    expect(parseDuration('  ')).toBeNull();
  });
  it('refuses what it cannot read', () => {
    expect(parseDuration('abc')).toBeNaN();
    expect(parseDuration('3:75')).toBeNaN();
    expect(parseDuration('-2')).toBeNaN();
  });
});
