export {
  type AggregatorStats,
  BarAggregator,
  type BarAggregatorOptions,
  type BarSource,
  ClosedBars,
} from './bar-aggregator.js';
export { BarWriter, type BarWriterOptions, type BarWriterStats } from './bar-writer.js';
export { EXIT, main, USAGE } from './cli.js';
export { type DaemonConfig, type DaemonDeps, type DaemonResult, runDaemon } from './daemon.js';
export { type OpenDatabase, openDatabase, repoRoot } from './database.js';
export {
  describeEnv,
  type Env,
  EnvSchema,
  liveGateway,
  loadEnv,
  parseSymbols,
  type SymbolSelection,
} from './env.js';
export {
  ConfigError,
  LockHeldError,
  type LockHolder,
  ScreenerError,
  type ScreenerErrorCode,
} from './errors.js';
export {
  type FiniteSourceOptions,
  feedFiniteSource,
  feedRecordStream,
  type SourceProgress,
  type SourceSummary,
} from './finite-source.js';
export { MinuteSplitter, unitsToDecimal } from './fixed-point.js';
export {
  type InstanceCounters,
  type InstanceInfo,
  InstanceRegistry,
  lastWrittenMinute,
} from './instance-registry.js';
export { lockName, WriterLock, type WriterLockOptions } from './writer-lock.js';
