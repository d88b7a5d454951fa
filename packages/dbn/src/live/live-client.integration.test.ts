import { afterEach, describe, expect, it } from 'vitest';
import {
  generateTradesSession,
  type LocalGateway,
  startLocalGateway,
  tradesSource,
} from '../gateway/index.js';
import {
  type DbnRecord,
  LiveClient,
  type LiveClientOptions,
  LiveError,
  type LiveEvent,
  parseControlLine,
} from '../index.js';

const KEY = 'db-localtestkey0123456789abcDEFG';
const session = generateTradesSession({
  symbols: 1300,
  start: new Date('2024-03-01T14:30:00Z'),
  end: new Date('2024-03-01T15:30:00Z'),
  seed: 42,
  tradesPerSecond: 300,
});
const SYMS = session.instruments.slice(0, 40).map((i) => i.symbol);

let gateway: LocalGateway | undefined;
let client: LiveClient | undefined;

afterEach(async () => {
  await client?.close();
  await gateway?.close();
  client = undefined;
  gateway = undefined;
});

async function setup(
  gw: Partial<Parameters<typeof startLocalGateway>[0]> = {},
  opts: Partial<LiveClientOptions> = {},
): Promise<{ gateway: LocalGateway; client: LiveClient; events: LiveEvent[] }> {
  gateway = await startLocalGateway({ apiKey: KEY, source: tradesSource(session), ...gw });
  const events: LiveEvent[] = [];
  client = new LiveClient({
    apiKey: KEY,
    dataset: 'EQUS.MINI',
    gateway: gateway.address,
    subscriptions: [{ schema: 'trades', symbols: SYMS }],
    reconnect: { baseDelayMs: 20, maxDelayMs: 100 },
    onEvent: (e) => events.push(e),
    ...opts,
  });
  return { gateway, client, events };
}

async function take(
  c: LiveClient | AsyncIterator<DbnRecord>,
  n: number,
  keep = (_r: DbnRecord) => true,
): Promise<DbnRecord[]> {
  const out: DbnRecord[] = [];
  const it = c instanceof LiveClient ? c[Symbol.asyncIterator]() : c;
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    if (keep(r.value)) out.push(r.value);
  }
  return out;
}

const isTrade = (r: DbnRecord) => r.kind === 'TradeMsg';
const key = (r: DbnRecord) =>
  r.kind === 'TradeMsg' ? `${r.ts_recv}:${r.instrument_id}:${r.price}:${r.size}` : '';

/** Waits until `cond` holds (checked every few ms), failing with `what` after `ms`. */
async function until(cond: () => boolean, what = 'condition', ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** TCP sockets and servers this process holds open. */
const tcpHandles = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap');

describe('LiveClient against the local gateway', () => {
  it('authenticates, maps symbols and streams only the subscribed trades', async () => {
    const { client, events } = await setup();
    const recs = await take(client, 200);
    const mappings = recs.filter((r) => r.kind === 'SymbolMappingMsg');
    expect(mappings.map((m) => m.kind === 'SymbolMappingMsg' && m.stype_in_symbol)).toEqual(SYMS);
    const ack = recs.find((r) => r.kind === 'SystemMsg');
    expect(ack).toMatchObject({ code: 1, msg: 'Subscription request 1 for trades data succeeded' });
    const trades = recs.filter(isTrade);
    expect(trades.length).toBeGreaterThan(100);
    for (const t of trades) expect(SYMS).toContain(client.symbols.get(t.instrument_id));
    expect(client.metadata).toMatchObject({ version: 3, dataset: 'EQUS.MINI' });
    expect(events[0]).toMatchObject({ type: 'connected', sessionId: '1' });
    const expected = [...take0(session.records(), 5000)].filter((r) =>
      SYMS.includes(session.instruments[r.instrument_id - 1000]!.symbol),
    );
    expect(trades.map(key)).toEqual(expected.slice(0, trades.length).map(key));
  });

  it('fails on a wrong key without retrying', async () => {
    const { gateway, client, events } = await setup({}, { apiKey: `${KEY.slice(0, -1)}X` });
    const err = await client.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LiveError);
    expect(err).toMatchObject({ code: 'AUTH_FAILED', gatewayText: 'Authentication failed.' });
    await expect(take(client, 1)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(gateway.sessions).toHaveLength(1);
    expect(events.filter((e) => e.type === 'reconnecting')).toHaveLength(0);
  });

  it('sends subscriptions in chunks of 500 symbols', async () => {
    const many = session.instruments.slice(0, 1201).map((i) => i.symbol);
    const { gateway, client } = await setup(
      {},
      { subscriptions: [{ schema: 'trades', symbols: many }] },
    );
    await take(client, 1);
    const lines = gateway.sessions[0]!.subscriptionLines.map(parseControlLine);
    expect(lines.map((l) => l.symbols!.split(',').length)).toEqual([500, 500, 201]);
    expect(lines.map((l) => l.is_last)).toEqual(['0', '0', '1']);
    expect(new Set(lines.map((l) => l.id))).toEqual(new Set(['1']));
    expect(lines.flatMap((l) => l.symbols!.split(','))).toEqual(many);
  });

  it('replays from the subscription start', async () => {
    const start = session.start + 30n * 60_000_000_000n;
    const { gateway, client } = await setup(
      {},
      { subscriptions: [{ schema: 'trades', symbols: 'ALL_SYMBOLS', start }] },
    );
    const trades = await take(client, 50, isTrade);
    expect(parseControlLine(gateway.sessions[0]!.subscriptionLines[0]!).start).toBe(
      start.toString(),
    );
    expect(client.metadata!.start).toBe(start);
    expect(trades.map(key)).toEqual([...take0(session.records(start), 50)].map(key));
    expect(trades.every((t) => t.ts_event >= start)).toBe(true);
  });

  it('keeps the session alive on heartbeats while idle', async () => {
    const { client } = await setup(
      { source: () => ({ records: [] }), heartbeatMs: 40 },
      { heartbeatTimeoutMs: 400, heartbeatIntervalS: 5 },
    );
    const recs = await take(client, 8, (r) => r.kind === 'SystemMsg' && r.code === 0);
    expect(recs).toHaveLength(8);
    expect(recs.every((r) => r.kind === 'SystemMsg' && r.msg === 'Heartbeat')).toBe(true);
  });

  it('treats silence beyond the heartbeat timeout as a dead connection and reconnects', async () => {
    const { gateway, client, events } = await setup(
      { source: () => ({ records: [] }), heartbeatMs: 60_000 },
      { heartbeatTimeoutMs: 150 },
    );
    const it = client[Symbol.asyncIterator]();
    await it.next();
    await until(() => gateway.sessions.length >= 2 && gateway.sessions[1]!.started);
    const dis = events.find((e) => e.type === 'disconnected');
    expect(dis).toMatchObject({ error: { code: 'HEARTBEAT_TIMEOUT' } });
  });

  it('reconnects after a mid-record disconnect and resumes gap-free from a caller start', async () => {
    const asked: Array<bigint | undefined> = [];
    const { gateway, client, events } = await setup(
      { rate: 20_000 },
      {
        subscriptions: [{ schema: 'trades', symbols: 'ALL_SYMBOLS' }],
        resumeStart: ({ lastTsEvent }) => {
          asked.push(lastTsEvent);
          // ts_event is not monotonic across instruments: back off 1 ms and de-duplicate.
          return lastTsEvent === undefined ? undefined : lastTsEvent - 1_000_000n;
        },
      },
    );
    const seen = new Map<string, DbnRecord>();
    const it = client[Symbol.asyncIterator]();
    while (seen.size < 300) {
      const r = (await it.next()).value as DbnRecord;
      if (isTrade(r)) seen.set(key(r), r);
    }
    gateway.dropConnections({ midRecord: true });
    // Records buffered before the drop are read first: go on until the reconnect has happened.
    while (seen.size < 900 || !gateway.sessions[1]?.started) {
      const r = (await it.next()).value as DbnRecord;
      if (isTrade(r)) seen.set(key(r), r);
    }
    const dis = events.find((e) => e.type === 'disconnected');
    expect(dis).toMatchObject({ error: { code: 'CONNECTION_CLOSED' } });
    expect((dis as { error: LiveError }).error.message).toMatch(/mid-record/);
    expect(asked).toHaveLength(1);
    const resume = parseControlLine(gateway.sessions[1]!.subscriptionLines[0]!).start;
    expect(resume).toBe((asked[0]! - 1_000_000n).toString());
    const want = [...take0(session.records(), 700)].map(key);
    const got = [...seen.values()].sort((a, b) =>
      a.kind === 'TradeMsg' && b.kind === 'TradeMsg' ? Number(a.ts_recv - b.ts_recv) : 0,
    );
    expect(got.slice(0, 700).map(key)).toEqual(want);
  });

  it('reconnects after a retryable gateway ErrorMsg and surfaces it', async () => {
    const { gateway, client, events } = await setup({ rate: 2000 });
    const it = client[Symbol.asyncIterator]();
    await it.next();
    gateway.sendError('Internal error', { code: 6 });
    const [err] = await take(it, 1, (r) => r.kind === 'ErrorMsg');
    expect(err).toMatchObject({ kind: 'ErrorMsg', err: 'Internal error', code: 6 });
    await until(() => gateway.sessions.length >= 2 && gateway.sessions[1]!.started);
    expect(events).toContainEqual({ type: 'gateway_error', text: 'Internal error', code: 6 });
    expect(events.find((e) => e.type === 'disconnected')).toMatchObject({
      error: { code: 'GATEWAY_ERROR', gatewayText: 'Internal error', retryable: true },
    });
  });

  it('stops with a typed error after a fatal gateway ErrorMsg', async () => {
    const { gateway, client } = await setup({ rate: 2000 });
    const it = client[Symbol.asyncIterator]();
    await it.next();
    gateway.sendError('Invalid subscription: no such schema', { code: 5 });
    let caught: unknown;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({
      name: 'LiveError',
      code: 'GATEWAY_ERROR',
      gatewayCode: 5,
      gatewayText: 'Invalid subscription: no such schema',
      retryable: false,
    });
    expect(gateway.sessions).toHaveLength(1);
  });

  it('backs off exponentially with jitter and gives up after maxAttempts', async () => {
    const {
      gateway: gw,
      client,
      events,
    } = await setup(
      {},
      { reconnect: { baseDelayMs: 10, maxDelayMs: 30, maxAttempts: 3 }, random: () => 1 },
    );
    await client.start();
    await gw.close();
    let caught: unknown;
    try {
      for await (const _ of client) {
        /* drain */
      }
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'RECONNECT_EXHAUSTED' });
    const delays = events.flatMap((e) => (e.type === 'reconnecting' ? [e.delayMs] : []));
    expect(delays).toEqual([10, 20, 30]);
    gateway = undefined;
  });

  it('ends the stream with an error when resumeStart throws', async () => {
    const { gateway, client } = await setup(
      { rate: 2000 },
      {
        resumeStart: () => {
          throw new Error('no checkpoint store');
        },
      },
    );
    const it = client[Symbol.asyncIterator]();
    await it.next();
    gateway.dropConnections();
    let caught: unknown;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({
      name: 'LiveError',
      message: expect.stringContaining('no checkpoint store'),
    });
  });

  it('drained() waits until every record of the closed session is read (resumeStart)', async () => {
    const small = generateTradesSession({
      symbols: 30,
      start: new Date('2024-03-01T14:30:00Z'),
      end: new Date('2024-03-01T14:30:03Z'),
      seed: 9,
      tradesPerSecond: 200,
    });
    const trades = [...small.records()].length;
    let read = 0;
    let readAtResume: number | undefined;
    const { client } = await setup(
      { source: tradesSource(small), closeWhenDone: true },
      {
        subscriptions: [{ schema: 'trades', symbols: 'ALL_SYMBOLS' }],
        // The gateway closes once it sent everything; the reconnect waits for the reader.
        resumeStart: async () => {
          await client.drained();
          readAtResume ??= read;
          return undefined;
        },
      },
    );
    const it = client[Symbol.asyncIterator]();
    // Read slowly (a macrotask per record): the session's records are queued when it closes.
    while (readAtResume === undefined) {
      const r = await it.next();
      if (!r.done && isTrade(r.value)) read++;
      await new Promise((res) => setImmediate(res));
    }
    expect(trades).toBeGreaterThan(100);
    expect(readAtResume).toBe(trades);
  });

  it('pauses the socket while the consumer is busy (backpressure)', async () => {
    const { gateway, client } = await setup(
      {},
      { subscriptions: [{ schema: 'trades', symbols: 'ALL_SYMBOLS' }], highWaterMark: 100 },
    );
    const it = client[Symbol.asyncIterator]();
    await it.next();
    // The client pauses its socket once `highWaterMark` records wait unread (white-box: the
    // session's flag), and then the gateway can no longer write: it waits for a drain.
    const session0 = () => (client as unknown as { session?: { paused: boolean } }).session;
    await until(
      () => session0()?.paused === true && gateway.sessions[0]!.waitingForDrain,
      'the client to pause and the gateway to block',
    );
    const sent = gateway.sessions[0]!.recordsSent;
    const total = [...take0(session.records(), 10_000_000)].length;
    expect(sent).toBeLessThan(total);
    // Reading again lets the gateway write again.
    let read = 0;
    while (gateway.sessions[0]!.recordsSent === sent && read < total) {
      read += (await take(it, 1000)).length;
    }
    expect(gateway.sessions[0]!.recordsSent).toBeGreaterThan(sent);
  });

  it('closes cleanly: no sockets or timers left behind', async () => {
    await until(() => tcpHandles().length === 0, "earlier tests' sockets to close");
    const before = process.getActiveResourcesInfo();
    const { client, gateway } = await setup({ rate: 1000, heartbeatMs: 20 });
    await take(client, 10);
    await client.close();
    await gateway.close();
    // Closed handles leave the list once their close callbacks have run.
    await until(() => tcpHandles().length === 0, 'the sockets to close');
    const after = process.getActiveResourcesInfo();
    expect(tcpHandles()).toEqual([]);
    expect(after.filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(
      before.filter((r) => r === 'Timeout').length,
    );
  });
});

function* take0<T>(it: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  let i = 0;
  for (const x of it) {
    yield x;
    if (++i >= n) return;
  }
}

describe('process exit', () => {
  it('lets the process exit on its own after close (built package)', async () => {
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const { packageDir } = await import('../testing/fixtures.js');
    const script = `
      import { LiveClient } from ${JSON.stringify(join(packageDir, 'dist/index.js'))};
      import { startLocalGateway, generateTradesSession, tradesSource } from ${JSON.stringify(join(packageDir, 'dist/gateway.js'))};
      const s = generateTradesSession({ symbols: 20, start: 1709303400000000000n, end: 1709303460000000000n, tradesPerSecond: 200 });
      const gw = await startLocalGateway({ apiKey: ${JSON.stringify(KEY)}, source: tradesSource(s), heartbeatMs: 50 });
      const c = new LiveClient({ apiKey: ${JSON.stringify(KEY)}, dataset: 'EQUS.MINI', gateway: gw.address,
        subscriptions: [{ schema: 'trades', symbols: 'ALL_SYMBOLS' }], heartbeatTimeoutMs: 60000 });
      let n = 0;
      for await (const r of c) if (++n === 50) break;
      await gw.close();
      console.log('read', n);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const killer = setTimeout(() => child.kill(), 10_000);
    const code = await new Promise<number | null>((res) => child.on('close', res));
    clearTimeout(killer);
    expect(out.trim()).toBe('read 50');
    expect(code).toBe(0);
  });
});
