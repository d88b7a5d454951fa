import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  checkEnv,
  EnvFlag,
  HttpUrl,
  LogLevel,
  PostgresUrl,
  parseEnv,
  processEnv,
  wholeNumber,
} from './env.js';
import { EnvError } from './errors.js';

const Schema = z.object({
  DATABASE_URL: PostgresUrl.optional(),
  PORT: wholeNumber(0, 65_535).default(3000),
  TRUST_PROXY: EnvFlag.default(false),
  LOG_LEVEL: LogLevel.default('info'),
  WORKER_URL: HttpUrl.optional(),
  SECRET: z.string().min(8, { message: 'must be at least 8 characters' }).optional(),
});

function envError(fn: () => unknown): EnvError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EnvError) return e;
    throw e;
  }
  throw new Error('expected an EnvError');
}

describe('parseEnv', () => {
  it('applies defaults when variables are unset or blank', () => {
    expect(parseEnv(Schema, { PORT: '', TRUST_PROXY: '  ', LOG_LEVEL: '' })).toEqual({
      PORT: 3000,
      TRUST_PROXY: false,
      LOG_LEVEL: 'info',
    });
  });

  it('trims and converts values, ignoring variables the schema does not name', () => {
    expect(
      parseEnv(Schema, {
        DATABASE_URL: ' postgres://u:p@h:5432/db ',
        PORT: '8080',
        TRUST_PROXY: '1',
        LOG_LEVEL: 'debug',
        WORKER_URL: 'https://w.example.com',
        HOME: '/root',
      }),
    ).toEqual({
      DATABASE_URL: 'postgres://u:p@h:5432/db',
      PORT: 8080,
      TRUST_PROXY: true,
      LOG_LEVEL: 'debug',
      WORKER_URL: 'https://w.example.com',
    });
  });

  it('lists every bad variable at once, never echoing a value', () => {
    const e = envError(() =>
      parseEnv(Schema, {
        DATABASE_URL: 'mysql://x',
        PORT: '70000',
        TRUST_PROXY: 'yes',
        LOG_LEVEL: 'loud',
        WORKER_URL: 'ftp://x',
        SECRET: 'hunter2',
      }),
    );
    expect(e.variables).toEqual([
      'DATABASE_URL',
      'PORT',
      'TRUST_PROXY',
      'LOG_LEVEL',
      'WORKER_URL',
      'SECRET',
    ]);
    expect(e.message).toContain('PORT: must be a whole number from 0 to 65535');
    expect(e.message).toContain('TRUST_PROXY: must be true, false, 1 or 0');
    expect(e.message).toContain('WORKER_URL: must be an http(s) URL');
    expect(e.message).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
    expect(e.message).not.toContain('hunter2');
  });

  it('rejects fractions and text as whole numbers', () => {
    for (const PORT of ['1.5', 'abc', '-1']) {
      expect(envError(() => parseEnv(Schema, { PORT })).issues).toEqual([
        { variable: 'PORT', message: 'must be a whole number from 0 to 65535' },
      ]);
    }
    expect(checkEnv(z.object({ N: wholeNumber(1) }), { N: '0' })).toEqual({
      ok: false,
      issues: [{ variable: 'N', message: 'must be a whole number of at least 1' }],
    });
  });

  it('reports required variables that are unset together with invalid ones', () => {
    const e = envError(() =>
      parseEnv(
        Schema,
        { DATABASE_URL: ' ', PORT: 'x' },
        { required: { DATABASE_URL: 'a postgres:// URL' } },
      ),
    );
    expect(e.issues).toEqual([
      { variable: 'PORT', message: 'must be a whole number from 0 to 65535' },
      { variable: 'DATABASE_URL', message: 'is required (a postgres:// URL)' },
    ]);
    expect(
      parseEnv(Schema, { DATABASE_URL: 'postgresql://h/db' }, { required: { DATABASE_URL: 'x' } })
        .DATABASE_URL,
    ).toBe('postgresql://h/db');
  });
});

describe('processEnv', () => {
  it('is the live process environment, not a copy', () => {
    const name = `TIMED_ENV_TEST_${process.pid}`;
    expect(processEnv()[name]).toBeUndefined();
    process.env[name] = 'set';
    try {
      expect(processEnv()[name]).toBe('set');
      expect(processEnv()).toBe(process.env);
    } finally {
      delete process.env[name];
    }
  });
});
