import { describe, expect, it } from 'vitest';
import { EnvError, errorBody, HttpError, TimedError } from './errors.js';

describe('TimedError', () => {
  it('carries code, message, context and cause', () => {
    const cause = new Error('socket closed');
    const e = new TimedError('DATABASE', 'Postgres went away', { host: 'db' }, { cause });
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.message, e.context, e.cause]).toEqual([
      'TimedError',
      'DATABASE',
      'Postgres went away',
      { host: 'db' },
      cause,
    ]);
    expect('cause' in new TimedError('X', 'no cause')).toBe(false);
    expect(new TimedError('X', 'no context').context).toEqual({});
  });

  it('keeps a subclass name', () => {
    class LockError extends TimedError<'LOCK_HELD'> {
      override readonly name = 'LockError';
    }
    expect(new LockError('LOCK_HELD', 'held').name).toBe('LockError');
  });
});

describe('HttpError', () => {
  it('is a TimedError with a status (also as statusCode) and optional details', () => {
    const e = new HttpError(405, 'METHOD_NOT_ALLOWED', 'PUT is not allowed', { allow: ['GET'] });
    expect(e).toBeInstanceOf(TimedError);
    expect([e.name, e.status, e.statusCode, e.code, e.details]).toEqual([
      'HttpError',
      405,
      405,
      'METHOD_NOT_ALLOWED',
      { allow: ['GET'] },
    ]);
  });
});

describe('errorBody', () => {
  it('is the one envelope, details only when given', () => {
    expect(errorBody('NOT_FOUND', 'no route')).toEqual({
      error: { code: 'NOT_FOUND', message: 'no route' },
    });
    expect(errorBody('INVALID_PARAMETER', 'limit: too big', { parameter: 'limit' })).toEqual({
      error: {
        code: 'INVALID_PARAMETER',
        message: 'limit: too big',
        details: { parameter: 'limit' },
      },
    });
  });
});

describe('EnvError', () => {
  it('names every bad variable in its message, issues and context', () => {
    const e = new EnvError([
      { variable: 'PORT', message: 'must be a whole number from 0 to 65535' },
      { variable: 'DATABASE_URL', message: 'must be a postgres:// or postgresql:// URL' },
      { variable: 'PORT', message: 'again' },
    ]);
    expect(e.code).toBe('INVALID_ENV');
    expect(e.message).toBe(
      'invalid environment: PORT: must be a whole number from 0 to 65535; ' +
        'DATABASE_URL: must be a postgres:// or postgresql:// URL; PORT: again',
    );
    expect(e.variables).toEqual(['PORT', 'DATABASE_URL']);
    expect(e.context).toEqual({ variables: ['PORT', 'DATABASE_URL'] });
  });
});
