import { EnvError } from '@timed/schema/errors';
import { describe, expect, it } from 'vitest';
import { corsOrigins, loadEnv } from './env.js';

describe('loadEnv', () => {
  it('applies the documented defaults to an empty environment', () => {
    const env = loadEnv({});
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      CORS_ORIGIN: '*',
      RATE_LIMIT_MAX: 600,
      RATE_LIMIT_WINDOW_MS: 60_000,
      TRUST_PROXY: false,
      RETRY_AFTER_SECONDS: 5,
    });
  });

  it('reads values and treats empty ones as unset', () => {
    const env = loadEnv({
      DATABASE_URL: 'postgres://u:p@db:5432/timed',
      PORT: '8080',
      HOST: '0.0.0.0',
      RATE_LIMIT_MAX: '0',
      TRUST_PROXY: 'true',
      CORS_ORIGIN: '',
    });
    expect(env).toMatchObject({
      DATABASE_URL: 'postgres://u:p@db:5432/timed',
      PORT: 8080,
      HOST: '0.0.0.0',
      RATE_LIMIT_MAX: 0,
      TRUST_PROXY: true,
      CORS_ORIGIN: '*',
    });
  });

  it('names every bad variable', () => {
    let err: unknown;
    try {
      loadEnv({ PORT: '70000', DATABASE_URL: 'localhost:5432', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvError);
    expect((err as EnvError).issues.map((i) => i.variable).sort()).toEqual([
      'DATABASE_URL',
      'LOG_LEVEL',
      'PORT',
    ]);
  });
});

describe('corsOrigins', () => {
  it('maps *, lists and false', () => {
    expect(corsOrigins('*')).toBe(true);
    expect(corsOrigins('false')).toBe(false);
    expect(corsOrigins('https://a.example, https://b.example')).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });
});
