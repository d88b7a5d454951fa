import { describe, expect, it } from 'vitest';
import { sessionDayOf } from './session-day.js';

describe('session day', () => {
  it('puts the hours before 04:00 New York into the day before', () => {
    expect(sessionDayOf(Date.parse('2025-07-15T07:59:59Z'))).toBe('2025-07-14');
    expect(sessionDayOf(Date.parse('2025-07-15T08:00:00Z'))).toBe('2025-07-15');
    expect(sessionDayOf(Date.parse('2025-12-15T08:30:00Z'))).toBe('2025-12-14');
    expect(sessionDayOf(Date.parse('2025-12-15T09:00:00Z'))).toBe('2025-12-15');
    // 23:30 New York is still that day (04:30 UTC the next day).
    expect(sessionDayOf(Date.parse('2025-12-16T04:30:00Z'))).toBe('2025-12-15');
    expect(sessionDayOf(Date.parse('2026-01-01T03:00:00Z'))).toBe('2025-12-31');
  });
});
