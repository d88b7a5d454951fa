// `@timed/dbn/gateway`: a local Databento Live gateway and the trades it can stream, for tests,
// benchmarks and the local stack (`pnpm start`); nothing a production reader needs.

export type { GatewaySessionLog } from './gateway-config.js';
export {
  type LocalGateway,
  type LocalGatewayOptions,
  startLocalGateway,
} from './local-gateway.js';
export {
  fileSource,
  type GatewayFeed,
  type GatewayRequest,
  type GatewaySource,
  type ReceivedSubscription,
  tradesSource,
} from './sources.js';
export {
  type GeneratedInstrument,
  generateTradesSession,
  type TradesSession,
  type TradesSessionOptions,
} from './trades-generator.js';
