import type { Socket } from 'node:net';
import { SystemCode } from '../constants.js';
import { type EncodableRecord, encodedSize, encodeMetadata, writeRecord } from '../encoder.js';
import { RType } from '../layout.js';
import { parseControlLine } from '../live/protocol.js';
import type { GatewayConfig, GatewaySessionLog } from './gateway-config.js';
import type { GatewayRequest, ReceivedSubscription } from './sources.js';

const BATCH = 64 * 1024;
const UNDEF_TS = 0xffffffffffffffffn;

function parseStart(s: string | undefined): bigint | undefined {
  if (s === undefined || s === '') return undefined;
  if (/^\d+$/.test(s)) return BigInt(s);
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : BigInt(ms) * 1_000_000n;
}

/** Server side of one Live connection. */
export class GatewayConnection {
  private phase: 'auth' | 'subscribing' | 'streaming' | 'closed' = 'auth';
  private text = '';
  private readonly subs: ReceivedSubscription[] = [];
  private tsOut = false;
  private heartbeatMs = 30_000;
  private lastWrite = Date.now();
  private stalledUntil = 0;
  private readonly batch = new Uint8Array(BATCH);
  private readonly view = new DataView(this.batch.buffer);
  private off = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private hbTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly cfg: GatewayConfig,
    private readonly log: GatewaySessionLog,
    private readonly challenge: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => this.shutdown());
    socket.write(`lsg_version=0.0.0-local\ncram=${challenge}\n`);
  }

  drop(midRecord: boolean): void {
    if (this.phase === 'closed') return;
    const streaming = this.phase === 'streaming';
    this.phase = 'closed';
    if (midRecord && streaming) {
      this.flush();
      const half = new Uint8Array(24);
      half[0] = 12; // a TradeMsg header announcing 48 bytes, cut after 24
      this.socket.end(half);
    } else this.socket.destroy();
    this.shutdown();
  }

  stall(ms: number): void {
    this.stalledUntil = Math.max(this.stalledUntil, Date.now() + ms);
  }

  sendError(text: string, code: number, close: boolean): void {
    if (this.phase !== 'streaming') return;
    this.push({
      kind: 'ErrorMsg',
      ...this.gatewayHeader(RType.ERROR),
      err: text,
      code,
      is_last: 1,
    });
    this.flush();
    if (close) {
      this.phase = 'closed';
      this.socket.end();
      this.shutdown();
    }
  }

  private shutdown(): void {
    this.phase = 'closed';
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.hbTimer) clearInterval(this.hbTimer);
    this.hbTimer = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        res();
      }, ms);
      this.timers.add(t);
    });
  }

  private onData(d: Buffer): void {
    this.text += d.toString('latin1');
    for (;;) {
      const nl = this.text.indexOf('\n');
      if (nl < 0 || this.phase === 'closed' || this.phase === 'streaming') return;
      const line = this.text.slice(0, nl);
      this.text = this.text.slice(nl + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    const kv = parseControlLine(line);
    if (this.phase === 'auth') {
      this.log.auth = kv;
      let error: string | undefined;
      if (!kv.auth || !this.cfg.checkAuth(this.challenge, kv.auth))
        error = 'Authentication failed.';
      else if (kv.dataset !== this.cfg.dataset) error = `Unknown dataset ${kv.dataset ?? ''}`;
      else if (kv.encoding !== undefined && kv.encoding !== 'dbn') error = 'Unsupported encoding';
      else if ((kv.compression ?? 'none') !== 'none')
        error = 'The local gateway only sends compression=none';
      if (error) {
        this.phase = 'closed';
        this.socket.end(`success=0|error=${error}\n`);
        return;
      }
      this.log.authenticated = true;
      this.tsOut = kv.ts_out === '1';
      const hb = Number(kv.heartbeat_interval_s);
      this.heartbeatMs = this.cfg.heartbeatMs ?? (hb > 0 ? hb * 1000 : 30_000);
      this.phase = 'subscribing';
      this.socket.write(`success=1|session_id=${this.log.id}\n`);
      return;
    }
    if (line.startsWith('start_session')) {
      this.phase = 'streaming';
      this.log.started = true;
      void this.stream().catch(() => this.socket.destroy());
      return;
    }
    this.log.subscriptionLines.push(line);
    this.subs.push({
      schema: kv.schema ?? '',
      stype_in: kv.stype_in ?? 'raw_symbol',
      symbols: (kv.symbols ?? '').split(',').filter((s) => s !== ''),
      start: kv.start,
      id: kv.id,
      is_last: kv.is_last,
    });
  }

  private gatewayHeader(rtype: number) {
    return { rtype, publisher_id: 0, instrument_id: 0, ts_event: this.cfg.nowNs() };
  }

  /** Append a record to the batch (flushing when full). */
  private push(rec: EncodableRecord): void {
    const size = encodedSize(rec, this.cfg.version, this.tsOut);
    if (this.off + size > BATCH) this.flush();
    const r = this.tsOut ? { ...rec, ts_out: this.cfg.nowNs() } : rec;
    this.off += writeRecord(this.batch, this.view, this.off, r, this.cfg.version, this.tsOut);
  }

  /** Write the batch; returns false when the socket wants us to wait for 'drain'. */
  private flush(): boolean {
    if (this.off === 0 || this.socket.destroyed) return true;
    const ok = this.socket.write(this.batch.slice(0, this.off));
    this.off = 0;
    this.lastWrite = Date.now();
    return ok;
  }

  private async waitDrain(): Promise<void> {
    if (this.socket.destroyed || this.socket.writableLength === 0) return;
    this.log.waitingForDrain = true;
    await new Promise<void>((res) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        this.log.waitingForDrain = false;
        res();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private live(): boolean {
    return this.phase === 'streaming';
  }

  private async stream(): Promise<void> {
    const cfg = this.cfg;
    let start: bigint | undefined;
    for (const s of this.subs) {
      const t = parseStart(s.start);
      if (t !== undefined && (start === undefined || t < start)) start = t;
    }
    const all = this.subs.some((s) => s.symbols.includes('ALL_SYMBOLS'));
    const symbols = all ? undefined : new Set(this.subs.flatMap((s) => s.symbols));
    // Without a replay start a real-time gateway sends only what happens from now on.
    const from = start ?? (cfg.rate === 'realtime' ? cfg.nowNs() : undefined);
    const request: GatewayRequest = {
      dataset: cfg.dataset,
      subscriptions: this.subs,
      start: from,
      symbols,
    };
    const feed = cfg.source(request);
    this.socket.write(
      encodeMetadata({
        version: cfg.version,
        dataset: cfg.dataset,
        start: start ?? cfg.nowNs(),
        ts_out: this.tsOut,
      }),
    );
    let allowed: Set<number> | undefined;
    if (feed.instruments) {
      const known = new Set<string>();
      allowed = new Set();
      for (const ins of feed.instruments) {
        if (symbols && !symbols.has(ins.symbol)) continue;
        known.add(ins.symbol);
        allowed.add(ins.instrument_id);
        this.push({
          kind: 'SymbolMappingMsg',
          ...this.gatewayHeader(RType.SYMBOL_MAPPING),
          instrument_id: ins.instrument_id,
          stype_in: 1,
          stype_in_symbol: ins.symbol,
          stype_out: 1,
          stype_out_symbol: ins.symbol,
          start_ts: cfg.nowNs(),
          end_ts: UNDEF_TS,
        });
      }
      for (const s of symbols ?? []) {
        if (known.has(s)) continue;
        const err = `Failed to resolve symbol: ${s}`;
        this.push({
          kind: 'ErrorMsg',
          ...this.gatewayHeader(RType.ERROR),
          err,
          code: 4,
          is_last: 1,
        });
      }
    }
    const acked = new Set<string>();
    for (const s of this.subs) {
      if (s.is_last === '0' || acked.has(s.id ?? '')) continue;
      acked.add(s.id ?? '');
      const msg = `Subscription request ${s.id ?? ''} for ${s.schema} data succeeded`;
      this.push({
        kind: 'SystemMsg',
        ...this.gatewayHeader(RType.SYSTEM),
        msg,
        code: SystemCode.SUBSCRIPTION_ACK,
      });
    }
    this.flush();
    this.hbTimer = setInterval(
      () => this.heartbeat(),
      Math.max(5, Math.min(this.heartbeatMs / 4, 1000)),
    );
    const t0 = Date.now();
    let sent = 0;
    for await (const rec of feed.records) {
      if (!this.live()) return;
      if (allowed && !allowed.has(rec.instrument_id)) continue;
      if (from !== undefined && rec.ts_event < from) continue;
      while (this.stalledUntil > Date.now()) {
        await this.sleep(this.stalledUntil - Date.now());
        if (!this.live()) return;
      }
      if (typeof cfg.rate === 'number') {
        const due = t0 + (sent / cfg.rate) * 1000;
        if (due > Date.now() + 1) {
          this.flush();
          await this.sleep(due - Date.now());
          if (!this.live()) return;
        }
      } else if (cfg.rate === 'realtime') {
        const waitMs = Number((rec.ts_event - cfg.nowNs()) / 1_000_000n);
        if (waitMs > 0) {
          this.flush();
          await this.sleep(waitMs);
          if (!this.live()) return;
        }
      }
      this.push(cfg.beforeSend ? cfg.beforeSend(rec) : rec);
      sent++;
      this.log.recordsSent++;
      if (this.off >= BATCH - 1024 && !this.flush()) {
        await this.waitDrain();
        if (!this.live()) return;
      }
    }
    this.flush();
    if (cfg.closeWhenDone && this.live()) {
      this.phase = 'closed';
      this.socket.end();
      this.shutdown();
    }
  }

  private heartbeat(): void {
    if (!this.live() || this.stalledUntil > Date.now()) return;
    if (Date.now() - this.lastWrite < this.heartbeatMs) return;
    this.push({
      kind: 'SystemMsg',
      ...this.gatewayHeader(RType.SYSTEM),
      msg: 'Heartbeat',
      code: SystemCode.HEARTBEAT,
    });
    this.flush();
  }
}
