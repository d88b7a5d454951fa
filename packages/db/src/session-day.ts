/** The US equities session day: America/New_York dates, each starting at 04:00 local (pre-market). */

const NEW_YORK = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** The session day starts at this New York hour; earlier hours belong to the day before. */
const SESSION_START_HOUR = 4;

function newYorkParts(epochMs: number): { y: number; m: number; d: number; hour: number } {
  let y = 0;
  let m = 0;
  let d = 0;
  let hour = 0;
  for (const p of NEW_YORK.formatToParts(epochMs)) {
    if (p.type === 'year') y = Number(p.value);
    else if (p.type === 'month') m = Number(p.value);
    else if (p.type === 'day') d = Number(p.value);
    else if (p.type === 'hour') hour = Number(p.value);
  }
  return { y, m, d, hour };
}

const iso = (utcMidnightMs: number) => new Date(utcMidnightMs).toISOString().slice(0, 10);

/** Session day (`YYYY-MM-DD`) of an instant: its New York date, or the date before before 04:00. */
export function sessionDayOf(epochMs: number): string {
  const { y, m, d, hour } = newYorkParts(epochMs);
  const date = Date.UTC(y, m - 1, d);
  return iso(hour < SESSION_START_HOUR ? date - 86_400_000 : date);
}

/** The instant (epoch ms) session day `day` (`YYYY-MM-DD`) starts: 04:00 New York time, DST-aware. */
export function sessionDayStart(day: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) throw new RangeError(`session day must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // New York is UTC-4 (EDT) or UTC-5 (EST); 04:00 local is never inside a DST jump (02:00).
  for (const offset of [4, 5]) {
    const t = Date.UTC(y, m - 1, d, SESSION_START_HOUR + offset);
    const p = newYorkParts(t);
    if (p.y === y && p.m === m && p.d === d && p.hour === SESSION_START_HOUR) return t;
  }
  throw new RangeError(`not a calendar day: ${day}`);
}
