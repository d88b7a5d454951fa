// `@timed/dbn/testing`: helpers for tests and benchmarks (the shared fixtures, the benchmarks'
// reference consumer); not part of the library. The test PRNG is `@timed/dbn/prng` (no Node APIs).
export {
  dbnDir,
  type ExpectedFile,
  expectedFiles,
  fixture,
  needFixtures,
  sharedData,
} from './fixtures.js';
export { sumTradeFields } from './trade-fields.js';
