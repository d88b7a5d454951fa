import { sessionDayOf, sessionDayStart } from '@timed/db';
import { describe, expect, it } from 'vitest';
import { pastSessionWindow, sessionFeedClock } from './sessions.js';

const MINUTE = 60_000;
// The runbook's session (the fault drill's is shorter): 60 minutes that ended 30 minutes ago.
const RUNBOOK = { minutes: 60, endedMinutesAgo: 30 };

/** Every minute of the session day `day` (04:00 New York to the next 04:00), as epoch ms. */
function minutesOf(day: string): number[] {
  const from = sessionDayStart(day);
  const next = new Date(Date.parse(`${day}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const out: number[] = [];
  for (let t = from; t < sessionDayStart(next); t += MINUTE) out.push(t);
  return out;
}

// Winter (EST), summer (EDT), and the two days New York changes its clocks (23 and 25 hours).
const DAYS = ['2026-01-15', '2026-07-01', '2026-03-08', '2026-10-31', '2026-11-01'];

describe('pastSessionWindow: the runbook session, wherever the wall clock stands', () => {
  for (const day of DAYS) {
    it(`every minute of session day ${day}: one session day, in the past, not near its end`, () => {
      for (const now of minutesOf(day)) {
        const w = pastSessionWindow(now + 17_000, RUNBOOK);
        const at = new Date(now).toISOString();
        expect(w.endMs - w.startMs, at).toBe(RUNBOOK.minutes * MINUTE);
        expect(w.startMs % MINUTE, at).toBe(0);
        expect(w.endMs, at).toBeLessThanOrEqual(now - RUNBOOK.endedMinutesAgo * MINUTE);
        // Well inside the screener's replay window (23 h 50 min) for the daemon to resume from.
        expect(now - w.endMs, at).toBeLessThan(3 * 3_600_000);
        // The whole session (its first and last trade) in one session day...
        expect([sessionDayOf(w.startMs), sessionDayOf(w.endMs - 1)], at).toEqual([
          w.sessionDay,
          w.sessionDay,
        ]);
        // ... and the gateway's feed clock stays in it for the next 30 minutes of the test: the
        // screener's live state (it follows the feed's clock) does not roll over to a new day,
        // which would zero every symbol's volume before the leaderboard is checked.
        let wall = now;
        const clock = sessionFeedClock({ end: BigInt(w.endMs) * 1_000_000n }, () => wall);
        for (const elapsed of [0, MINUTE, 10 * MINUTE, RUNBOOK.endedMinutesAgo * MINUTE - 1]) {
          wall = now + elapsed;
          expect(sessionDayOf(Number(clock() / 1_000_000n)), `${at} +${elapsed} ms`).toBe(
            w.sessionDay,
          );
        }
      }
    });
  }

  it('takes the last 90 minutes when they fit in the current session day, else the day before', () => {
    // 2026-12-02 is EST (UTC-5): 04:00 New York = 09:00 UTC.
    expect(pastSessionWindow(Date.parse('2026-12-02T16:00:30Z'), RUNBOOK)).toEqual({
      startMs: Date.parse('2026-12-02T14:30:00Z'),
      endMs: Date.parse('2026-12-02T15:30:00Z'),
      sessionDay: '2026-12-02',
    });
    // 04:10 New York: the current session day is 10 minutes old.
    expect(pastSessionWindow(Date.parse('2026-12-02T09:10:00Z'), RUNBOOK)).toEqual({
      startMs: Date.parse('2026-12-02T07:30:00Z'),
      endMs: Date.parse('2026-12-02T08:30:00Z'),
      sessionDay: '2026-12-01',
    });
  });

  it('the feed clock starts at the session end and moves with the wall clock', () => {
    let wall = 1_000;
    const clock = sessionFeedClock({ end: 5_000_000_000n }, () => wall);
    expect(clock()).toBe(5_000_000_000n);
    wall += 250;
    expect(clock()).toBe(5_250_000_000n);
  });
});
