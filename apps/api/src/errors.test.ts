import { describe, expect, it } from 'vitest';
import { isDbUnavailable } from './errors.js';

describe('isDbUnavailable', () => {
  it('recognises refused connections, shutdowns and pool timeouts, also as causes', () => {
    expect(isDbUnavailable(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    expect(isDbUnavailable(Object.assign(new Error('terminating'), { code: '57P01' }))).toBe(true);
    expect(isDbUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDbUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isDbUnavailable(
        new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'both'),
      ),
    ).toBe(true);
    expect(
      isDbUnavailable(
        new Error('wrapped', { cause: Object.assign(new Error(), { code: '08006' }) }),
      ),
    ).toBe(true);
  });

  it('does not mistake query errors for an outage', () => {
    expect(isDbUnavailable(Object.assign(new Error('syntax'), { code: '42601' }))).toBe(false);
    expect(isDbUnavailable(Object.assign(new Error('no table'), { code: '42P01' }))).toBe(false);
    expect(isDbUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDbUnavailable(undefined)).toBe(false);
  });
});
