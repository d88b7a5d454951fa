// History for the local stack (`pnpm start`): before going live, days of bars for the local
// gateway's symbols, so the chart has days to show, include_legacy changes it, pct_from_yesterday
// has a previous close and the migration panel compares legacy with trades. The first days are
// legacy MBP-1 bars (volume 0), "the switch", then trades bars; two stopped heartbeat rows date
// the switch the way the cleanup gates do (the first trades screener's start).
import { sessionDayOf, sessionDayStart, sql } from '@timed/db';
import { mulberry32 } from '@timed/dbn/prng';

/** Heartbeat rows written with the bars; the trades one is also the "already seeded" marker. */
export const SEED_INSTANCES = { legacy: 'seed-history-mbp-1', trades: 'seed-history-trades' };
export const SEED_HOST = 'seed-history';
const MINUTE = 60_000;
/** Regular session: 390 one-minute bars from 09:30 America/New_York. */
export const SESSION_MINUTES = 390;
const ROWS_PER_INSERT = 20_000;

const nyParts = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});

/** Wall-clock parts of `ms` in New York. */
function nyWall(ms) {
  const p = Object.fromEntries(nyParts.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { day: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour), minute: Number(p.minute) };
}

/** Epoch ms of `hh:mm` New York time on `day` (YYYY-MM-DD), DST-aware. */
export function nyTime(day, hh, mm) {
  const wall = Date.parse(
    `${day}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00Z`,
  );
  // New York is 4 or 5 hours behind UTC: try both, keep the one that reads back as asked.
  for (const offsetH of [4, 5]) {
    const ms = wall + offsetH * 3_600_000;
    const w = nyWall(ms);
    if (w.day === day && w.hour === hh && w.minute === mm) return ms;
  }
  throw new Error(`nyTime: ${day} ${hh}:${mm} does not exist in America/New_York`);
}

/** The `n` weekdays before `day` (YYYY-MM-DD), oldest first. Holidays are not skipped. */
export function weekdaysBefore(day, n) {
  const out = [];
  let t = Date.parse(`${day}T12:00:00Z`);
  while (out.length < n) {
    t -= 86_400_000;
    const wd = new Date(t).getUTCDay();
    if (wd !== 0 && wd !== 6) out.unshift(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

const px = (x) => Math.round(x * 100) / 100;

/**
 * Bars of `days` for each instrument: a random walk (mulberry32 from `seed`) whose last close is a
 * small overnight gap away from the instrument's `openPrice`, so today's live prices continue it.
 * Busier symbols (earlier in the list, as the local gateway weights them) trade more; volume has
 * the U shape of a session. Bars of `legacyDays` (the first days) are MBP-1 bars: volume 0, no
 * VWAP. Returns column arrays ready for unnest.
 */
export function generateHistory({
  instruments,
  days,
  legacyDays,
  seed = 1,
  tradesPerSecond = 300,
}) {
  const rnd = mulberry32(seed >>> 0);
  const normal = () => {
    const u = Math.max(rnd(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const weights = instruments.map((_, i) => 1 / (i + 3) ** 1.05);
  const total = weights.reduce((a, b) => a + b, 0);
  const cols = {
    symbol: [],
    ts: [],
    open: [],
    high: [],
    low: [],
    close: [],
    volume: [],
    count: [],
    legacy: [],
    source: [],
    vwap: [],
  };
  // The bar times as text, shared by every symbol.
  const times = days.flatMap((d) => {
    const start = nyTime(d, 9, 30);
    return Array.from({ length: SESSION_MINUTES }, (_, m) =>
      new Date(start + m * MINUTE).toISOString(),
    );
  });
  const n = times.length;
  for (let i = 0; i < instruments.length; i++) {
    const { symbol, openPrice } = instruments[i];
    const vol = 0.0008 + 0.0015 * rnd(); // per-minute log volatility
    const tradesPerMinute = (tradesPerSecond * 60 * weights[i]) / total;
    // The log path first, then shifted so the last close sits a small gap below/above today's open.
    const logClose = new Float64Array(n);
    const logOpen = new Float64Array(n);
    let x = 0;
    for (let k = 0; k < n; k++) {
      if (k > 0 && k % SESSION_MINUTES === 0) x += 0.006 * normal(); // overnight gap
      logOpen[k] = x;
      x += vol * normal();
      logClose[k] = x;
    }
    const shift = Math.log(openPrice) - 0.004 * normal() - x;
    for (let k = 0; k < n; k++) {
      const d = Math.floor(k / SESSION_MINUTES);
      const m = k % SESSION_MINUTES;
      const isLegacy = d < legacyDays;
      const open = px(Math.exp(logOpen[k] + shift));
      const close = px(Math.exp(logClose[k] + shift));
      const high = Math.max(open, close, px(Math.max(open, close) * (1 + rnd() * vol)));
      const low = Math.min(open, close, px(Math.min(open, close) * (1 - rnd() * vol)));
      // U-shaped activity: busy at the open and the close, quiet at midday.
      const u = (m - SESSION_MINUTES / 2) / (SESSION_MINUTES / 2);
      const trades = Math.max(
        1,
        Math.round(tradesPerMinute * (0.5 + 1.5 * u * u) * (0.6 + 0.8 * rnd())),
      );
      cols.symbol.push(symbol);
      cols.ts.push(times[k]);
      cols.open.push(String(open));
      cols.high.push(String(high));
      cols.low.push(String(low));
      cols.close.push(String(close));
      cols.volume.push(isLegacy ? '0' : String(trades * (40 + Math.floor(rnd() * 160))));
      cols.count.push(isLegacy ? '0' : String(trades));
      cols.legacy.push(isLegacy ? 't' : 'f');
      cols.source.push(isLegacy ? 'mbp-1' : 'trades');
      // VWAP lies within the bar; legacy bars have none (no trades).
      const vwap = Math.min(high, Math.max(low, (high + low + 2 * close) / 4));
      cols.vwap.push(isLegacy ? 'NULL' : `"${vwap.toFixed(4)}"`);
    }
  }
  return cols;
}

/** A Postgres array literal of values needing no escaping (symbols, numbers, ISO times). */
const literal = (values) =>
  `{${values.map((v) => (v === 'NULL' || v.startsWith('"') ? v : `"${v}"`)).join(',')}}`;

/**
 * Seeds `legacyDays` days of MBP-1 bars and then `tradesDays` days of trades bars (the weekdays
 * before today's session day) for `instruments`, with the heartbeat rows of the screeners that
 * "wrote" them, all in one transaction. Skips, writing nothing, when the trades marker row exists
 * (seeded before) or when price_bars already holds a bar before today's session (real history is
 * never mixed with made-up bars). Existing rows are never overwritten (ON CONFLICT DO NOTHING).
 */
export async function seedHistory(db, options) {
  const {
    instruments,
    now = Date.now(),
    seed = 1,
    tradesPerSecond = 300,
    legacyDays = 3,
    tradesDays = 2,
    dataset = 'EQUS.MINI',
  } = options;
  if (instruments.length === 0) throw new Error('seedHistory: no instruments to seed');
  if (!(legacyDays >= 1 && tradesDays >= 1)) {
    throw new Error('seedHistory: legacyDays and tradesDays must be at least 1');
  }
  const today = sessionDayOf(now);
  const days = weekdaysBefore(today, legacyDays + tradesDays);
  const marker =
    await sql`SELECT 1 FROM screener_instances WHERE instance_id = ${SEED_INSTANCES.trades}`.execute(
      db,
    );
  if (marker.rows.length > 0) return { seeded: false, reason: 'already seeded', days, bars: 0 };
  const todayStart = sessionDayStart(today);
  const older =
    await sql`SELECT 1 FROM price_bars WHERE timestamp < ${new Date(todayStart)} LIMIT 1`.execute(
      db,
    );
  if (older.rows.length > 0) {
    return { seeded: false, reason: 'the database already holds bars before today', days, bars: 0 };
  }
  options.log?.(
    `seeding history: ${instruments.length} symbols, ${days.length} days before ${today} (first start only)…`,
  );
  const cols = generateHistory({ instruments, days, legacyDays, seed, tradesPerSecond });
  const legacyFrom = nyTime(days[0], 9, 25);
  const legacyTo = nyTime(days[legacyDays - 1], 16, 0);
  const tradesFrom = nyTime(days[legacyDays], 9, 25);
  const tradesTo = nyTime(days.at(-1), 16, 0);
  let tradesSeen = 0;
  let tradesBars = 0;
  for (let k = 0; k < cols.count.length; k++) {
    if (cols.legacy[k] === 'f') {
      tradesSeen += Number(cols.count[k]);
      tradesBars++;
    }
  }
  let written = 0;
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < cols.symbol.length; i += ROWS_PER_INSERT) {
      const part = (c) => literal(c.slice(i, i + ROWS_PER_INSERT));
      const res = await sql`
        INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count, is_legacy, data_source, vwap)
        SELECT * FROM unnest(
          ${part(cols.symbol)}::varchar[], ${part(cols.ts)}::timestamptz[],
          ${part(cols.open)}::numeric[], ${part(cols.high)}::numeric[],
          ${part(cols.low)}::numeric[], ${part(cols.close)}::numeric[],
          ${part(cols.volume)}::bigint[], ${part(cols.count)}::integer[],
          ${part(cols.legacy)}::boolean[], ${part(cols.source)}::varchar[], ${part(cols.vwap)}::numeric[])
        ON CONFLICT (symbol, timestamp) DO NOTHING`.execute(trx);
      written += Number(res.numAffectedRows ?? 0n);
    }
    const heartbeat = (id, schema, from, to, seen, bars) => sql`
      INSERT INTO screener_instances
        (instance_id, host, pid, dataset, schema, started_at, last_seen, trades_seen, bars_written, stopped_at)
      VALUES (${id}, ${SEED_HOST}, 0, ${dataset}, ${schema}, ${new Date(from)}, ${new Date(to)},
        ${seen}, ${bars}, ${new Date(to)})
      ON CONFLICT (instance_id) DO NOTHING`;
    await heartbeat(
      SEED_INSTANCES.legacy,
      'mbp-1',
      legacyFrom,
      legacyTo,
      0,
      cols.symbol.length - tradesBars,
    ).execute(trx);
    // The first trades screener's start is the switch (as /migration/status and the gates date it).
    await heartbeat(
      SEED_INSTANCES.trades,
      'trades',
      tradesFrom,
      tradesTo,
      tradesSeen,
      tradesBars,
    ).execute(trx);
  });
  return {
    seeded: true,
    days,
    legacyDays: days.slice(0, legacyDays),
    tradesDays: days.slice(legacyDays),
    switchAt: new Date(tradesFrom),
    bars: written,
  };
}
