// Child process of the live peak benchmark: many SSE clients of GET /stream on raw node:http
// (one socket each, no EventSource, so a client costs little), measuring what they receive.
// Driven over IPC by live-peak.ts: `open` -> `stats` (while running) -> `report` -> exit.
import { request } from 'node:http';
import { type ClientReport, type ClientSpec, type ClientsMessage, LATENCY_BUCKETS } from './ipc.js';

interface Client {
  spec: ClientSpec;
  index: Map<string, number>;
  buf: string;
  state: 'connecting' | 'open' | 'ended' | 'error';
  error?: string;
  lastPrice: Float64Array;
  priceEvents: number;
  provisionalBars: number;
  finalBars: number;
  duplicateFinalBars: number;
  finalSeen: Set<string>;
  finalTrades: number;
  finalVolume: number;
  leaderboardEvents: number;
  leaderboardWithVolume: number;
  otherEvents: number;
}

const clients: Client[] = [];
/** Receipt time - price event timestamp, 1 ms buckets (last = overflow). */
const latency = new Uint32Array(LATENCY_BUCKETS);
/** The same since the last `stats` (progress lines show how latency moves). */
const recent = new Map<number, number>();
let negative = 0;
let stopping = false;

function onBlock(c: Client, block: string, receivedMs: number): void {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data = line.slice(6);
  }
  if (data === '') return; // comments (heartbeats), retry
  if (event === 'price') {
    const p = JSON.parse(data) as { symbol: string; price: number; timestamp: string };
    c.priceEvents++;
    const i = c.index.get(p.symbol);
    if (i !== undefined) c.lastPrice[i] = p.price;
    const ms = receivedMs - Date.parse(p.timestamp);
    if (ms < 0) negative++;
    const bucket = Math.min(LATENCY_BUCKETS - 1, Math.max(0, ms));
    latency[bucket]!++;
    recent.set(bucket, (recent.get(bucket) ?? 0) + 1);
  } else if (event === 'bar') {
    const b = JSON.parse(data) as {
      symbol: string;
      timestamp: string;
      final: boolean;
      trade_count: number;
      volume: number;
    };
    if (!b.final) {
      c.provisionalBars++;
      return;
    }
    const key = `${b.symbol} ${b.timestamp}`;
    if (c.finalSeen.has(key)) {
      c.duplicateFinalBars++;
      return;
    }
    c.finalSeen.add(key);
    c.finalBars++;
    c.finalTrades += b.trade_count;
    c.finalVolume += b.volume;
  } else if (event === 'leaderboard') {
    const body = JSON.parse(data) as { rows: Array<{ volume: number }> };
    c.leaderboardEvents++;
    if (body.rows.length > 0 && body.rows[0]!.volume > 0) c.leaderboardWithVolume++;
  } else c.otherEvents++;
}

function open(base: URL, spec: ClientSpec): Promise<void> {
  const c: Client = {
    spec,
    index: new Map(spec.symbols.map((s, i) => [s, i])),
    buf: '',
    state: 'connecting',
    lastPrice: new Float64Array(spec.symbols.length).fill(Number.NaN),
    priceEvents: 0,
    provisionalBars: 0,
    finalBars: 0,
    duplicateFinalBars: 0,
    finalSeen: new Set(),
    finalTrades: 0,
    finalVolume: 0,
    leaderboardEvents: 0,
    leaderboardWithVolume: 0,
    otherEvents: 0,
  };
  clients.push(c);
  const path = `/stream?symbols=${spec.symbols.map(encodeURIComponent).join(',')}${
    spec.leaderboard ? '&leaderboard=up' : ''
  }`;
  return new Promise((resolve) => {
    const fail = (why: string) => {
      if (c.state === 'ended' || c.state === 'error') return;
      c.state = stopping ? 'ended' : 'error';
      c.error = why;
      resolve();
    };
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path,
        agent: false,
        headers: { accept: 'text/event-stream' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          fail(`HTTP ${res.statusCode}`);
          res.resume();
          return;
        }
        c.state = 'open';
        resolve();
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const now = Date.now();
          c.buf += chunk;
          let at = c.buf.indexOf('\n\n');
          if (at < 0) return;
          let from = 0;
          while (at >= 0) {
            onBlock(c, c.buf.slice(from, at), now);
            from = at + 2;
            at = c.buf.indexOf('\n\n', from);
          }
          c.buf = c.buf.slice(from);
        });
        res.on('end', () => fail('the server ended the stream'));
        res.on('error', (err) => fail(err.message));
        res.on('close', () => fail('connection closed'));
      },
    );
    req.on('error', (err) => fail(err.message));
    req.end();
  });
}

function stats() {
  let events = 0;
  let finalBars = 0;
  const states = { connecting: 0, open: 0, ended: 0, error: 0 };
  for (const c of clients) {
    states[c.state]++;
    events += c.priceEvents + c.provisionalBars + c.finalBars + c.leaderboardEvents;
    finalBars += c.finalBars;
  }
  const window = [...recent];
  recent.clear();
  return { ...states, events, finalBars, latency: window };
}

function report(): { clients: ClientReport[]; latency: Array<[number, number]>; negative: number } {
  const hist: Array<[number, number]> = [];
  for (let i = 0; i < latency.length; i++) if (latency[i]) hist.push([i, latency[i]!]);
  return {
    negative,
    latency: hist,
    clients: clients.map((c) => ({
      id: c.spec.id,
      state: c.state,
      error: c.error,
      lastPrice: Array.from(c.lastPrice),
      priceEvents: c.priceEvents,
      provisionalBars: c.provisionalBars,
      finalBars: c.finalBars,
      duplicateFinalBars: c.duplicateFinalBars,
      finalTrades: c.finalTrades,
      finalVolume: c.finalVolume,
      leaderboardEvents: c.leaderboardEvents,
      leaderboardWithVolume: c.leaderboardWithVolume,
      otherEvents: c.otherEvents,
    })),
  };
}

process.on('message', async (m: ClientsMessage) => {
  if (m.type === 'open') {
    const base = new URL(m.base);
    // A few at a time: 1,000 simultaneous connects would only queue in the API's accept backlog.
    for (let i = 0; i < m.clients.length; i += 50) {
      await Promise.all(m.clients.slice(i, i + 50).map((s) => open(base, s)));
    }
    process.send?.({ reqId: m.reqId, ...stats() });
  } else if (m.type === 'stats') {
    process.send?.({ reqId: m.reqId, ...stats() });
  } else if (m.type === 'report') {
    stopping = true;
    process.send?.({ reqId: m.reqId, ...report() });
  } else if (m.type === 'exit') {
    process.exit(0);
  }
});
