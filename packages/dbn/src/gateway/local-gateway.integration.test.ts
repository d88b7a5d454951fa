import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cramResponse, DbnDecoder, type DbnRecord, decodeFile, LiveClient } from '../index.js';
import { dbnDir, needFixtures } from '../testing/fixtures.js';
import {
  fileSource,
  generateTradesSession,
  type LocalGateway,
  startLocalGateway,
  tradesSource,
} from './index.js';

const KEY = 'db-gatewaytestkey0123456789ABCDE';
let gateway: LocalGateway | undefined;
let client: LiveClient | undefined;
afterEach(async () => {
  await client?.close();
  await gateway?.close();
  client = undefined;
  gateway = undefined;
});

async function collect(c: LiveClient, n: number): Promise<DbnRecord[]> {
  const out: DbnRecord[] = [];
  for await (const r of c) {
    out.push(r);
    if (out.length >= n) break;
  }
  return out;
}

// Tests that stream Databento's fixture files; the others use the generator and run everywhere.
const withFixtures = it.skipIf(!needFixtures('local gateway, file sources'));

describe('local gateway', () => {
  for (const version of [1, 2, 3] as const) {
    withFixtures(`streams a DBN file as a v${version} live session with ts_out`, async () => {
      const file = `${dbnDir}/test_data.trades.v3.dbn.zst`;
      gateway = await startLocalGateway({
        apiKey: KEY,
        dataset: 'GLBX.MDP3',
        version,
        source: fileSource(file),
      });
      client = new LiveClient({
        apiKey: KEY,
        dataset: 'GLBX.MDP3',
        gateway: gateway.address,
        tsOut: true,
        subscriptions: [{ schema: 'trades', symbols: ['ESH1'] }],
      });
      const recs = await collect(client, 4);
      expect(recs.map((r) => r.kind)).toEqual([
        'SymbolMappingMsg',
        'SystemMsg',
        'TradeMsg',
        'TradeMsg',
      ]);
      const want = (await decodeFile(file)).records;
      for (const [i, r] of recs.slice(2).entries()) {
        expect({ ...r, ts_out: undefined, length: 0 }).toEqual({
          ...want[i],
          ts_out: undefined,
          length: 0,
        });
        expect(typeof r.ts_out).toBe('bigint');
      }
      expect(client.metadata).toMatchObject({ version, ts_out: true });
      expect(client.symbols.get(5482)).toBe('ESH1');
    });
  }

  withFixtures(
    'reports unresolved symbols with a non-fatal ErrorMsg and keeps streaming',
    async () => {
      gateway = await startLocalGateway({
        apiKey: KEY,
        dataset: 'GLBX.MDP3',
        source: fileSource(`${dbnDir}/test_data.trades.dbn`),
      });
      client = new LiveClient({
        apiKey: KEY,
        dataset: 'GLBX.MDP3',
        gateway: gateway.address,
        subscriptions: [{ schema: 'trades', symbols: ['ESH1', 'NOPE'] }],
      });
      const recs = await collect(client, 5);
      expect(recs[1]).toMatchObject({
        kind: 'ErrorMsg',
        err: 'Failed to resolve symbol: NOPE',
        code: 4,
      });
      expect(recs.filter((r) => r.kind === 'TradeMsg')).toHaveLength(2);
    },
  );

  withFixtures(
    'speaks the wire protocol: greeting, challenge, auth line, DBN after start_session',
    async () => {
      gateway = await startLocalGateway({
        apiKey: KEY,
        dataset: 'GLBX.MDP3',
        source: fileSource(`${dbnDir}/test_data.trades.dbn`),
      });
      const sock = connect(gateway.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      sock.on('data', (d: Buffer) => chunks.push(d));
      const text = async (lines: number) => {
        while (Buffer.concat(chunks).toString('latin1').split('\n').length <= lines) {
          await once(sock, 'data');
        }
        return Buffer.concat(chunks).toString('latin1').split('\n');
      };
      const [greeting, cram] = await text(2);
      expect(greeting).toMatch(/^lsg_version=/);
      expect(cram).toMatch(/^cram=/);
      sock.write(
        `auth=${cramResponse(cram!.slice(5), KEY)}|dataset=GLBX.MDP3|encoding=dbn|compression=none|ts_out=0|client=test\n`,
      );
      const lines = await text(3);
      expect(lines[2]).toBe('success=1|session_id=1');
      sock.write('schema=trades|stype_in=raw_symbol|symbols=ESH1|id=7|is_last=1\nstart_session\n');
      const head = Buffer.byteLength(`${lines.slice(0, 3).join('\n')}\n`, 'latin1');
      const dec = new DbnDecoder();
      const recs: DbnRecord[] = [];
      let fed = head;
      for (;;) {
        const all = Buffer.concat(chunks);
        recs.push(...dec.push(all.subarray(fed)));
        fed = all.length;
        if (recs.length >= 4) break;
        await once(sock, 'data');
      }
      expect(recs[1]).toMatchObject({
        kind: 'SystemMsg',
        msg: 'Subscription request 7 for trades data succeeded',
      });
      sock.destroy();
    },
  );

  it('in realtime mode sends no backlog without start, and replays it with start', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const session = generateTradesSession({
      symbols: 50,
      start: now - 120_000_000_000n,
      end: now + 120_000_000_000n,
      tradesPerSecond: 200,
    });
    gateway = await startLocalGateway({
      apiKey: KEY,
      source: tradesSource(session),
      rate: 'realtime',
    });
    const connectAt = BigInt(Date.now()) * 1_000_000n;
    client = new LiveClient({
      apiKey: KEY,
      dataset: 'EQUS.MINI',
      gateway: gateway.address,
      subscriptions: [{ schema: 'trades', symbols: 'ALL_SYMBOLS' }],
    });
    const live = (await collect(client, 60)).filter((r) => r.kind === 'TradeMsg');
    expect(live.length).toBeGreaterThan(0);
    expect(live.every((r) => r.ts_event >= connectAt)).toBe(true);
    await client.close();
    const replayFrom = now - 60_000_000_000n;
    client = new LiveClient({
      apiKey: KEY,
      dataset: 'EQUS.MINI',
      gateway: gateway.address,
      subscriptions: [{ schema: 'trades', symbols: 'ALL_SYMBOLS', start: replayFrom }],
    });
    const replay = (await collect(client, 100)).filter((r) => r.kind === 'TradeMsg');
    expect(replay[0]!.ts_event).toBeGreaterThanOrEqual(replayFrom);
    expect(replay[0]!.ts_event).toBeLessThan(connectAt);
  });

  it('writes what beforeSend returns for each feed record, in send order', async () => {
    const session = generateTradesSession({
      symbols: 20,
      start: new Date('2024-03-01T14:30:00Z'),
      end: new Date('2024-03-01T14:31:00Z'),
      tradesPerSecond: 50,
    });
    const seen: bigint[] = [];
    let stamp = 0n;
    gateway = await startLocalGateway({
      apiKey: KEY,
      source: tradesSource(session),
      rate: 2000,
      // A stamp the test controls: the n-th record sent carries n, whatever its source time.
      beforeSend: (rec) => {
        seen.push(rec.ts_event);
        stamp++;
        return rec.kind === 'TradeMsg' ? { ...rec, ts_recv: stamp } : rec;
      },
    });
    client = new LiveClient({
      apiKey: KEY,
      dataset: 'EQUS.MINI',
      gateway: gateway.address,
      subscriptions: [{ schema: 'trades', symbols: 'ALL_SYMBOLS' }],
    });
    const trades = (await collect(client, 20 + 1 + 30)).filter((r) => r.kind === 'TradeMsg');
    expect(trades).toHaveLength(30);
    expect(trades.map((r) => r.ts_recv)).toEqual(trades.map((_, i) => BigInt(i + 1)));
    // Called for feed records only (not the mappings or the ack), in order, with the source's own.
    expect(seen.slice(0, 30)).toEqual(trades.map((r) => r.ts_event));
    const want = [...session.records()].slice(0, 30);
    expect(trades.map((r) => r.price)).toEqual(want.map((r) => r.price));
  });

  it('rejects a bad key and a wrong dataset with success=0', async () => {
    gateway = await startLocalGateway({ apiKey: KEY, source: () => ({ records: [] }) });
    for (const [key, dataset] of [
      ['db-wrongkey0123456789ABCDEFGHIJK', 'EQUS.MINI'],
      [KEY, 'XNAS.ITCH'],
    ] as const) {
      const c = new LiveClient({
        apiKey: key,
        dataset,
        gateway: gateway.address,
        subscriptions: [{ schema: 'trades', symbols: ['A'] }],
      });
      await expect(c.start()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      await c.close();
    }
    expect(gateway.sessions.map((s) => s.authenticated)).toEqual([false, false]);
  });
});
