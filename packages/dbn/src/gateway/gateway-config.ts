import type { EncodableRecord } from '../encoder.js';
import type { GatewaySource } from './sources.js';

/** What the gateway saw of one connection (for tests and logs). */
export interface GatewaySessionLog {
  id: number;
  authenticated: boolean;
  /** Fields of the authentication request. */
  auth: Record<string, string>;
  /** Raw subscription lines, in order. */
  subscriptionLines: string[];
  started: boolean;
  recordsSent: number;
  /** True while the stream waits for the socket to drain (the reader is not keeping up). */
  waitingForDrain: boolean;
}

/** Internal configuration shared with connections. */
export interface GatewayConfig {
  apiKey: string;
  source: GatewaySource;
  dataset: string;
  version: 1 | 2 | 3;
  rate: number | 'realtime' | undefined;
  heartbeatMs: number | undefined;
  closeWhenDone: boolean;
  beforeSend: ((record: EncodableRecord) => EncodableRecord) | undefined;
  nowNs: () => bigint;
  checkAuth(challenge: string, response: string): boolean;
}
