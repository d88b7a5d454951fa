import type { HttpError } from '@timed/schema/errors';
import { describe, expect, it } from 'vitest';
import { keysMatch, requireApiKey } from './auth.js';

describe('keysMatch', () => {
  it('accepts only the exact key, whatever the lengths', async () => {
    expect(await keysMatch('s3cret-key-123', 's3cret-key-123')).toBe(true);
    expect(await keysMatch('s3cret-key-12', 's3cret-key-123')).toBe(false);
    expect(await keysMatch('s3cret-key-1234', 's3cret-key-123')).toBe(false);
    expect(await keysMatch('S3CRET-KEY-123', 's3cret-key-123')).toBe(false);
    expect(await keysMatch('', 's3cret-key-123')).toBe(false);
  });
});

describe('requireApiKey', () => {
  const status = async (url: string, key: string | undefined) => {
    try {
      await requireApiKey(new URL(url), key);
      return 200;
    } catch (e) {
      return (e as HttpError).status;
    }
  };

  it('answers 401 without or with a wrong key, 503 when none is configured', async () => {
    expect(await status('https://x/timed/purge', 'k-k-k-k-k')).toBe(401);
    expect(await status('https://x/timed/purge?key=', 'k-k-k-k-k')).toBe(401);
    expect(await status('https://x/timed/purge?key=nope', 'k-k-k-k-k')).toBe(401);
    expect(await status('https://x/timed/purge?key=k-k-k-k-k', 'k-k-k-k-k')).toBe(200);
    expect(await status('https://x/timed/purge?key=k', undefined)).toBe(503);
  });
});
