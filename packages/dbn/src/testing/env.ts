/**
 * The two variables the test helpers read; nothing else in @timed/dbn reads the environment
 * (the library takes its configuration as arguments). Plain code: @timed/dbn depends on none of
 * our packages, so not @timed/schema's parseEnv.
 */
export interface TestingEnv {
  /** TIMED_SHARED_DATA, blank = unset. */
  sharedData: string | undefined;
  /** CI set to anything but empty, `0` or `false`. */
  ci: boolean;
}

export function readTestingEnv(
  source: Record<string, string | undefined> = process.env,
): TestingEnv {
  const ci = (source.CI ?? '').trim().toLowerCase();
  return {
    sharedData: source.TIMED_SHARED_DATA?.trim() || undefined,
    ci: ci !== '' && ci !== '0' && ci !== 'false',
  };
}
