import { DataSource, SymbolParam } from '@timed/schema';
import { z } from 'zod';

/** Path parameters of `GET /bars/:symbol`. */
export const BarsParams = z.object({
  symbol: SymbolParam.describe('Raw symbol, case-insensitive (e.g. AAPL, brk.b)'),
});

const isoTime = z.string().describe('ISO 8601 UTC time');

/** Body of `GET /health`. */
export const HealthResponse = z.object({
  status: z
    .enum(['ok', 'degraded', 'down'])
    .describe('down: database unreachable (503); degraded: reachable, with problems'),
  time: isoTime,
  database: z.object({
    reachable: z.boolean(),
    latency_ms: z.number().nullable(),
    error: z.string().nullable(),
  }),
  newest_bars: z.array(z.object({ data_source: DataSource, newest_bar: isoTime.nullable() })),
  screeners: z.object({
    alive: z.number().int(),
    instances: z.array(
      z.object({
        instance_id: z.string(),
        host: z.string(),
        pid: z.number().int(),
        dataset: z.string(),
        schema: z.string(),
        started_at: isoTime,
        last_seen: isoTime,
        trades_seen: z.number(),
        bars_written: z.number(),
        errors: z.number(),
        last_error: z.string().nullable(),
        last_error_at: isoTime.nullable(),
        alive: z.boolean(),
      }),
    ),
  }),
  live: z
    .object({
      listener_connected: z
        .boolean()
        .describe('The LISTEN connection following the screener is up (false: live data is stale)'),
      listener_reconnects: z.number().int().describe('Times the LISTEN connection was re-made'),
      streams: z.number().int().describe('Open /stream clients'),
      dropped_clients: z
        .number()
        .int()
        .describe('/stream clients dropped for not reading (buffer past its bound)'),
      symbols: z.number().int().describe('Symbols with live state'),
      closed_through: isoTime.nullable().describe('Newest closed minute the hub knows of'),
    })
    .nullable()
    .describe('The live hub behind /live, /leaderboard and /stream; null without live routes'),
  problems: z.array(z.string()).describe('Empty when status is ok'),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

/** One success criterion of the seed's migration plan, computed live. */
export const Criterion = z.object({
  id: z.enum([
    'new_bars_have_volume',
    'min_new_bars',
    'coverage_per_hour',
    'one_screener_alive',
    'no_screener_errors_last_hour',
    'days_of_new_data',
    'no_screener_errors_since_switch',
    'api_returns_correct_data',
    'leaderboard_shows_volume',
  ]),
  description: z.string(),
  value: z.number().nullable(),
  target: z.string(),
  pass: z.boolean(),
  details: z.record(z.string(), z.unknown()),
});
export type Criterion = z.infer<typeof Criterion>;

/** Body of `GET /migration/status`. */
export const MigrationStatusResponse = z.object({
  generated_at: isoTime,
  passed: z.boolean().describe('Every criterion passes'),
  criteria: z.array(Criterion),
  counts: z
    .array(
      z.object({
        data_source: z.string().nullable(),
        is_legacy: z.boolean().nullable(),
        bar_count: z.number(),
        total_volume: z.number().nullable(),
        first_bar: isoTime.nullable(),
        last_bar: isoTime.nullable(),
      }),
    )
    .describe("The seed's Phase 5 counts per data_source and is_legacy"),
  last_day_by_hour: z
    .array(z.object({ hour: isoTime, legacy_bars: z.number(), new_bars: z.number() }))
    .describe("The seed's old-vs-new bar counts per hour over the last day"),
});
export type MigrationStatusResponse = z.infer<typeof MigrationStatusResponse>;
