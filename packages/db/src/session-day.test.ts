import { describe, expect, it } from 'vitest';
import { sessionDayOf, sessionDayStart } from './session-day.js';

describe('session day', () => {
  it('starts at 04:00 New York time, in summer (EDT) and winter (EST)', () => {
    expect(new Date(sessionDayStart('2025-07-15')).toISOString()).toBe('2025-07-15T08:00:00.000Z');
    expect(new Date(sessionDayStart('2025-12-15')).toISOString()).toBe('2025-12-15T09:00:00.000Z');
    // The DST switch days themselves (2025-03-09 and 2025-11-02, at 02:00 local).
    expect(new Date(sessionDayStart('2025-03-09')).toISOString()).toBe('2025-03-09T08:00:00.000Z');
    expect(new Date(sessionDayStart('2025-11-02')).toISOString()).toBe('2025-11-02T09:00:00.000Z');
  });

  it('puts the hours before 04:00 New York into the day before', () => {
    expect(sessionDayOf(Date.parse('2025-07-15T07:59:59Z'))).toBe('2025-07-14');
    expect(sessionDayOf(Date.parse('2025-07-15T08:00:00Z'))).toBe('2025-07-15');
    expect(sessionDayOf(Date.parse('2025-12-15T08:30:00Z'))).toBe('2025-12-14');
    expect(sessionDayOf(Date.parse('2025-12-15T09:00:00Z'))).toBe('2025-12-15');
    // 23:30 New York is still that day (04:30 UTC the next day).
    expect(sessionDayOf(Date.parse('2025-12-16T04:30:00Z'))).toBe('2025-12-15');
    expect(sessionDayOf(Date.parse('2026-01-01T03:00:00Z'))).toBe('2025-12-31');
  });

  it('refuses a malformed day', () => {
    expect(() => sessionDayStart('2025-7-1')).toThrow(/YYYY-MM-DD/);
    expect(() => sessionDayStart('2025-02-30')).toThrow(/not a calendar day/);
  });
});
