import { EnvError } from '@timed/schema/errors';
import { describe, expect, it } from 'vitest';
import { loadEnv } from './env.js';

describe('loadEnv: live settings', () => {
  it('defaults the stream limits and leaves the Worker unset', () => {
    const env = loadEnv({});
    expect(env.TIMED_WORKER_URL).toBeUndefined();
    expect(env).toMatchObject({ LIVE_MAX_STREAMS: 2_000, LIVE_MAX_SYMBOLS_PER_STREAM: 100 });
  });

  it('reads TIMED_WORKER_URL and the limits', () => {
    const env = loadEnv({
      TIMED_WORKER_URL: 'http://127.0.0.1:8787',
      LIVE_MAX_STREAMS: '50',
      LIVE_MAX_SYMBOLS_PER_STREAM: '20',
    });
    expect(env).toMatchObject({
      TIMED_WORKER_URL: 'http://127.0.0.1:8787',
      LIVE_MAX_STREAMS: 50,
      LIVE_MAX_SYMBOLS_PER_STREAM: 20,
    });
  });

  it('names each bad variable', () => {
    let error: unknown;
    try {
      loadEnv({ TIMED_WORKER_URL: 'worker', LIVE_MAX_STREAMS: '0' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvError);
    expect((error as EnvError).issues.map((i) => i.variable).sort()).toEqual([
      'LIVE_MAX_STREAMS',
      'TIMED_WORKER_URL',
    ]);
    expect((error as EnvError).message).toMatch(/TIMED_WORKER_URL: must be an http\(s\) URL/);
  });
});
