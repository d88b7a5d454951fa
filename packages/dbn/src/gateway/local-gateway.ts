import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { EncodableRecord } from '../encoder.js';
import { cramResponse } from '../live/protocol.js';
import type { GatewayConfig, GatewaySessionLog } from './gateway-config.js';
import { GatewayConnection } from './gateway-connection.js';
import type { GatewaySource } from './sources.js';

/** Options of startLocalGateway. */
export interface LocalGatewayOptions {
  /** The only key that authenticates. */
  apiKey: string;
  /** Dataset the gateway serves (default `EQUS.MINI`); the auth request must name it. */
  dataset?: string;
  /** Port on 127.0.0.1 (default 0 = any free port). */
  port?: number;
  source: GatewaySource;
  /** DBN version of the stream (default 3). */
  version?: 1 | 2 | 3;
  /**
   * Pace: records per second per session, `realtime` (each record when the clock reaches its
   * ts_event), or undefined = as fast as the reader takes them (socket backpressure).
   */
  rate?: number | 'realtime';
  /** Heartbeat interval in ms (default: the client's heartbeat_interval_s, else 30 s). */
  heartbeatMs?: number;
  /** End each session when its feed is exhausted (default false: stay open, heartbeating). */
  closeWhenDone?: boolean;
  /**
   * Called with each feed record as it is written to a session (after filtering and pacing, not
   * for gateway messages); what it returns is written instead. Benchmarks stamp `ts_recv` with
   * the send time here, so that a receipt's latency is measured from when the gateway sent it.
   */
  beforeSend?: (record: EncodableRecord) => EncodableRecord;
  /** Clock in UNIX ns for metadata start, ts_out and gateway records (default wall clock). */
  nowNs?: () => bigint;
}

/** A running local gateway. */
export interface LocalGateway {
  host: string;
  port: number;
  /** `127.0.0.1:<port>`, usable as the Live client's `gateway` option. */
  address: string;
  sessions: GatewaySessionLog[];
  /** Open connections. */
  connections(): number;
  /** Close every connection; `midRecord` first sends half a record then ends the stream. */
  dropConnections(options?: { midRecord?: boolean }): void;
  /** Send nothing at all (no data, no heartbeats) on current connections for `ms`. */
  stall(ms: number): void;
  /** Send an ErrorMsg on streaming connections; closes them unless `close: false`. */
  sendError(text: string, options?: { code?: number; close?: boolean }): void;
  close(): Promise<void>;
}

const wallNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/**
 * Start a Databento-protocol Live gateway on 127.0.0.1: greeting, CRAM against `apiKey`,
 * subscriptions (incl. `start` replay), start_session, then a DBN v1-3 stream with heartbeats,
 * plus fault injection for tests.
 */
export async function startLocalGateway(options: LocalGatewayOptions): Promise<LocalGateway> {
  const cfg: GatewayConfig = {
    apiKey: options.apiKey,
    source: options.source,
    dataset: options.dataset ?? 'EQUS.MINI',
    version: options.version ?? 3,
    rate: options.rate,
    heartbeatMs: options.heartbeatMs,
    closeWhenDone: options.closeWhenDone ?? false,
    beforeSend: options.beforeSend,
    nowNs: options.nowNs ?? wallNs,
    checkAuth: (challenge, response) => response === cramResponse(challenge, options.apiKey),
  };
  const conns = new Set<GatewayConnection>();
  const sessions: GatewaySessionLog[] = [];
  const server: Server = createServer((socket: Socket) => {
    const log: GatewaySessionLog = {
      id: sessions.length + 1,
      authenticated: false,
      auth: {},
      subscriptionLines: [],
      started: false,
      recordsSent: 0,
      waitingForDrain: false,
    };
    sessions.push(log);
    const conn = new GatewayConnection(socket, cfg, log, randomBytes(16).toString('hex'));
    conns.add(conn);
    socket.on('close', () => conns.delete(conn));
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(options.port ?? 0, '127.0.0.1', () => res());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    sessions,
    connections: () => conns.size,
    dropConnections: (o) => {
      for (const c of conns) c.drop(o?.midRecord ?? false);
    },
    stall: (ms) => {
      for (const c of conns) c.stall(ms);
    },
    sendError: (text, o) => {
      for (const c of conns) c.sendError(text, o?.code ?? 6, o?.close ?? true);
    },
    close: async () => {
      for (const c of conns) c.drop(false);
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
