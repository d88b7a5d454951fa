// `@timed/dbn/testing`: helpers for tests and benchmarks (the shared fixtures, the test PRNG,
// the benchmarks' reference consumer); not part of the library.
export {
  dbnDir,
  type ExpectedFile,
  expectedFiles,
  fixture,
  needFixtures,
  sharedData,
} from './fixtures.js';
export { mulberry32, Rng } from './prng.js';
export { sumTradeFields } from './trade-fields.js';
