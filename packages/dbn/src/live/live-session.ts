import { connect, type Socket } from 'node:net';
import { ErrorCode } from '../constants.js';
import { DbnDecoder } from '../decoder.js';
import { LiveError } from '../errors.js';
import { RType } from '../layout.js';
import type { Metadata } from '../metadata.js';
import type { DbnRecord, ErrorMsg } from '../records.js';
import {
  type Clock,
  cramResponse,
  formatControlLine,
  type LiveSubscription,
  parseControlLine,
  subscriptionLines,
} from './protocol.js';

/** What one connection needs to know. */
export interface SessionConfig {
  host: string;
  port: number;
  apiKey: string;
  dataset: string;
  subscriptions: LiveSubscription[];
  tsOut: boolean;
  compression: 'none' | 'zstd';
  heartbeatIntervalS: number;
  heartbeatTimeoutMs: number;
  connectTimeoutMs: number;
  authTimeoutMs: number;
  slowReaderBehavior: 'warn' | 'skip' | undefined;
  client: string;
  clock: Clock;
}

export interface SessionHandlers {
  onMetadata(md: Metadata): void;
  onRecords(records: DbnRecord[]): void;
}

// Fatal ErrorMsg codes after which retrying cannot help.
const NOT_RETRYABLE = new Set<number>([
  ErrorCode.AUTH_FAILED,
  ErrorCode.API_KEY_DEACTIVATED,
  ErrorCode.INVALID_SUBSCRIPTION,
]);
const NON_FATAL = new Set<number>([
  ErrorCode.SYMBOL_RESOLUTION_FAILED,
  ErrorCode.SKIPPED_RECORDS_AFTER_SLOW_READING,
]);

/**
 * One TCP connection to a Live gateway: greeting, CRAM, subscriptions, start_session, then the
 * DBN stream. `ended` resolves with the reason the connection ended (null = closed by us).
 */
export class LiveSession {
  sessionId: string | undefined;
  readonly ended: Promise<LiveError | null>;
  private socket: Socket | undefined;
  private resolveEnded!: (e: LiveError | null) => void;
  private phase: 'greeting' | 'cram' | 'auth' | 'binary' = 'greeting';
  private text = '';
  private readonly decoder = new DbnDecoder();
  private failure: LiveError | null = null;
  private gatewayError: ErrorMsg | undefined;
  private closing = false;
  private paused = false;
  private timer: unknown;
  private resolveOpen!: (id: string) => void;
  private rejectOpen!: (e: LiveError) => void;

  constructor(
    private readonly cfg: SessionConfig,
    private readonly handlers: SessionHandlers,
  ) {
    this.ended = new Promise((res) => {
      this.resolveEnded = res;
    });
  }

  /** Connect and authenticate; resolves with the session id once start_session is sent. */
  open(): Promise<string> {
    const opened = new Promise<string>((res, rej) => {
      this.resolveOpen = res;
      this.rejectOpen = rej;
    });
    const { host, port } = this.cfg;
    const socket = connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    this.arm(this.cfg.connectTimeoutMs, () =>
      this.fail(
        new LiveError('CONNECT_FAILED', `connect to ${host}:${port} timed out`, {
          retryable: true,
        }),
      ),
    );
    socket.on('connect', () =>
      this.arm(this.cfg.authTimeoutMs, () =>
        this.fail(new LiveError('PROTOCOL_ERROR', 'authentication timed out', { retryable: true })),
      ),
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      const code = this.phase === 'greeting' ? 'CONNECT_FAILED' : 'CONNECTION_CLOSED';
      this.fail(
        new LiveError(code, `socket error: ${err.message}`, { retryable: true, cause: err }),
      );
    });
    socket.on('close', () => this.onClose());
    opened.catch(() => {});
    return opened;
  }

  /** Stop reading (backpressure); the heartbeat timer is suspended meanwhile. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket?.pause();
    if (this.phase === 'binary') this.disarm();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket?.resume();
    if (this.phase === 'binary') this.armHeartbeat();
  }

  /** Close on request: half-close, then destroy shortly after. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.disarm();
    const s = this.socket;
    if (!s || s.destroyed) {
      this.finish();
      return;
    }
    s.end();
    s.destroy();
  }

  private arm(ms: number, fn: () => void): void {
    this.disarm();
    this.timer = this.cfg.clock.setTimeout(fn, ms);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.cfg.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private armHeartbeat(): void {
    const ms = this.cfg.heartbeatTimeoutMs;
    this.arm(ms, () =>
      this.fail(
        new LiveError('HEARTBEAT_TIMEOUT', `no data from the gateway for ${ms} ms`, {
          retryable: true,
        }),
      ),
    );
  }

  private fail(err: LiveError): void {
    if (!this.failure && !this.closing) this.failure = err;
    this.socket?.destroy();
  }

  private send(line: string): void {
    this.socket?.write(line);
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'binary') {
      if (!this.paused) this.armHeartbeat();
      this.onBinary(chunk);
      return;
    }
    this.text += chunk.toString('latin1');
    for (;;) {
      const nl = this.text.indexOf('\n');
      if (nl < 0 || this.isBinary()) return;
      const line = this.text.slice(0, nl);
      this.text = this.text.slice(nl + 1);
      this.onLine(line);
      if (this.isBinary()) {
        const rest = Buffer.from(this.text, 'latin1');
        this.text = '';
        if (!this.paused) this.armHeartbeat();
        if (rest.length > 0) this.onBinary(rest);
        return;
      }
    }
  }

  private isBinary(): boolean {
    return this.phase === 'binary';
  }

  private onLine(line: string): void {
    const kv = parseControlLine(line);
    if (this.phase === 'greeting') {
      this.phase = 'cram';
      if (kv.cram === undefined) return; // first line is the version greeting
    }
    if (this.phase === 'cram') {
      if (kv.cram === undefined) {
        this.fail(new LiveError('PROTOCOL_ERROR', `expected cram challenge, got "${line}"`));
        return;
      }
      this.phase = 'auth';
      const pairs: Array<[string, string | number]> = [
        ['auth', cramResponse(kv.cram, this.cfg.apiKey)],
        ['dataset', this.cfg.dataset],
        ['encoding', 'dbn'],
        ['compression', this.cfg.compression],
        ['ts_out', this.cfg.tsOut ? 1 : 0],
        ['client', this.cfg.client],
        ['heartbeat_interval_s', this.cfg.heartbeatIntervalS],
      ];
      if (this.cfg.slowReaderBehavior)
        pairs.push(['slow_reader_behavior', this.cfg.slowReaderBehavior]);
      this.send(formatControlLine(pairs));
      return;
    }
    if (kv.success !== '1') {
      const text = kv.error ?? line;
      this.fail(
        new LiveError('AUTH_FAILED', `authentication failed: ${text}`, {
          gatewayText: text,
          retryable: false,
        }),
      );
      return;
    }
    this.sessionId = kv.session_id ?? '';
    this.phase = 'binary';
    let id = 1;
    for (const sub of this.cfg.subscriptions) {
      for (const l of subscriptionLines(sub, id)) this.send(l);
      id++;
    }
    this.send('start_session\n');
    this.resolveOpen(this.sessionId);
  }

  private onBinary(chunk: Uint8Array): void {
    let records: DbnRecord[];
    try {
      const hadMeta = this.decoder.metadata !== null;
      records = this.decoder.push(chunk);
      if (!hadMeta && this.decoder.metadata) this.handlers.onMetadata(this.decoder.metadata);
    } catch (err) {
      this.fail(
        new LiveError('DECODE_ERROR', `corrupt DBN stream: ${(err as Error).message}`, {
          retryable: true,
          cause: err,
        }),
      );
      return;
    }
    for (const r of records) {
      if (r.rtype === RType.ERROR && r.kind === 'ErrorMsg') {
        if (r.code === undefined || !NON_FATAL.has(r.code)) this.gatewayError = r;
      }
    }
    if (records.length > 0) this.handlers.onRecords(records);
  }

  private onClose(): void {
    this.disarm();
    if (this.phase !== 'binary' || !this.sessionId) {
      const err =
        this.failure ??
        new LiveError('CONNECTION_CLOSED', 'gateway closed the connection during authentication', {
          retryable: true,
        });
      if (!this.closing) this.failure = err;
      this.rejectOpen(err);
    }
    this.finish();
  }

  private finish(): void {
    if (this.closing) {
      this.resolveEnded(null);
      return;
    }
    const g = this.gatewayError;
    if (g && (!this.failure || this.failure.code === 'CONNECTION_CLOSED')) {
      this.resolveEnded(
        new LiveError('GATEWAY_ERROR', `gateway error: ${g.err}`, {
          gatewayText: g.err,
          gatewayCode: g.code,
          retryable: g.code === undefined || !NOT_RETRYABLE.has(g.code),
        }),
      );
      return;
    }
    if (this.failure) {
      this.resolveEnded(this.failure);
      return;
    }
    const midRecord = this.decoder.position > 0 && !this.decoderAtBoundary();
    this.resolveEnded(
      new LiveError(
        'CONNECTION_CLOSED',
        midRecord ? 'gateway closed the connection mid-record' : 'gateway closed the connection',
        { retryable: true },
      ),
    );
  }

  private decoderAtBoundary(): boolean {
    try {
      this.decoder.end();
      return true;
    } catch {
      return false;
    }
  }
}
