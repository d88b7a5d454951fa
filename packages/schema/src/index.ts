export { ApiBar, type BarInput, barProblem, DataSource, type PriceInput } from './bar.js';
export {
  BAR_INTERVALS,
  BarFill,
  BarFormat,
  BarInterval,
  BarSession,
  BarsQuery,
  BarsResponse,
  DEFAULT_BARS_LIMIT,
  ErrorBody,
  MAX_BARS_LIMIT,
  MAX_SYMBOLS,
  MultiBarsQuery,
  MultiBarsResponse,
  parseIsoBound,
  SymbolParam,
  SymbolsParam,
} from './bars-query.js';
export {
  decideVersion,
  isPatchOnlyChange,
  type VersionDecision,
  type VersionDecisionInput,
} from './data-version.js';
export { compareSemver, parseSemver, type SemVer, SemverString } from './semver.js';
export {
  describeIssues,
  MAX_WEBHOOK_BYTES,
  Momentum,
  Ticker,
  WebhookPayload,
  type WebhookPayloadInput,
} from './webhook.js';
