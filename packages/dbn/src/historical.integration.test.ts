import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type DbnRecord, HistoricalClient, HistoricalError } from './index.js';
import { fixture, needFixtures } from './testing/fixtures.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

interface Seen {
  method?: string;
  url?: string;
  headers?: IncomingMessage['headers'];
  form?: URLSearchParams;
}

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; seen: Seen }> {
  const seen: Seen = {};
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      Object.assign(seen, {
        method: req.method,
        url: req.url,
        headers: req.headers,
        form: new URLSearchParams(body),
      });
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

const KEY = 'db-histtestkey0123456789abcdefgh';

// The streaming test serves a zstd fixture (nothing here compresses); the error paths need none.
const withFixtures = it.skipIf(!needFixtures('HistoricalClient, zstd body'));

describe('HistoricalClient.timeseriesGetRange', () => {
  withFixtures(
    'POSTs the documented form with Basic auth and streams the zstd body as records',
    async () => {
      const body = fixture('test_data.trades.v3.dbn.zst');
      const { url, seen } = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        // Split the body to exercise streaming decompression across chunks.
        res.write(body.subarray(0, 50));
        setTimeout(() => res.end(body.subarray(50)), 10);
      });
      const client = new HistoricalClient({ apiKey: KEY, baseUrl: `${url}/` });
      const stream = client.timeseriesGetRange({
        dataset: 'GLBX.MDP3',
        schema: 'trades',
        symbols: ['ESH1', 'ESM1'],
        start: 1609160400000000000n,
        end: new Date('2020-12-29T00:00:00Z'),
        limit: 2,
      });
      const records: DbnRecord[] = [];
      for await (const r of stream) records.push(r);
      expect(records.map((r) => r.kind)).toEqual(['TradeMsg', 'TradeMsg']);
      expect((await stream.metadata).dataset).toBe('GLBX.MDP3');
      expect(stream.symbols.get(5482, records[0]!.ts_event)).toBe('ESH1');
      expect(seen.method).toBe('POST');
      expect(seen.url).toBe('/v0/timeseries.get_range');
      expect(seen.headers!.authorization).toBe(
        `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`,
      );
      expect(seen.headers!['content-type']).toBe('application/x-www-form-urlencoded');
      expect(Object.fromEntries(seen.form!)).toEqual({
        dataset: 'GLBX.MDP3',
        schema: 'trades',
        symbols: 'ESH1,ESM1',
        start: '1609160400000000000',
        end: '1609200000000000000',
        stype_in: 'raw_symbol',
        stype_out: 'instrument_id',
        encoding: 'dbn',
        compression: 'zstd',
        limit: '2',
      });
    },
  );

  it('turns a 422 JSON detail object into a HistoricalError with case and request id', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(422, { 'content-type': 'application/json', 'request-id': 'req-123' });
      res.end(
        JSON.stringify({
          detail: {
            case: 'data_start_before_available_start',
            message: 'The dataset GLBX.MDP3 has data available from 2010-06-06.',
            status_code: 422,
          },
        }),
      );
    });
    const stream = new HistoricalClient({ apiKey: KEY, baseUrl: url }).timeseriesGetRange({
      dataset: 'GLBX.MDP3',
      schema: 'trades',
      symbols: 'ALL_SYMBOLS',
      start: '2000-01-01',
    });
    const err = await (async () => {
      for await (const _ of stream) {
        /* none */
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HistoricalError);
    expect(err).toMatchObject({
      code: 'HTTP_422',
      status: 422,
      case: 'data_start_before_available_start',
      requestId: 'req-123',
    });
    expect((err as Error).message).toContain('has data available from 2010-06-06');
    await expect(stream.metadata).rejects.toBeInstanceOf(HistoricalError);
  });

  it('reports 401 string details and non-JSON 5xx bodies clearly', async () => {
    let status = 401;
    const { url } = await serve((_req, res) => {
      res.writeHead(status);
      res.end(status === 401 ? '{"detail":"Authentication failed."}' : '<html>Bad gateway</html>');
    });
    const client = new HistoricalClient({ apiKey: KEY, baseUrl: url });
    const run = async () => {
      const s = client.timeseriesGetRange({
        dataset: 'X',
        schema: 'trades',
        symbols: ['A'],
        start: 1n,
      });
      for await (const _ of s) {
        /* none */
      }
    };
    await expect(run()).rejects.toMatchObject({
      code: 'HTTP_401',
      message: expect.stringContaining('Authentication failed.'),
    });
    status = 502;
    await expect(run()).rejects.toMatchObject({
      code: 'HTTP_502',
      message: expect.stringContaining('<html>Bad gateway</html>'),
    });
  });

  it('reports an unreachable server as NETWORK_ERROR', async () => {
    const { url } = await serve(() => {});
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    const s = new HistoricalClient({ apiKey: KEY, baseUrl: url }).timeseriesGetRange({
      dataset: 'X',
      schema: 'trades',
      symbols: ['A'],
      start: 1n,
    });
    const err = await (async () => {
      for await (const _ of s) {
        /* none */
      }
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'HistoricalError', code: 'NETWORK_ERROR' });
  });
});
