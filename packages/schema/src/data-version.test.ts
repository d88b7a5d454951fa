import { describe, expect, it } from 'vitest';
import { decideVersion, isPatchOnlyChange } from './index.js';

describe('decideVersion (S stored, E expected, P payload)', () => {
  it('first payload ever sets S = P without purging', () => {
    expect(decideVersion({ stored: null, expected: '2.1.0', incoming: '2.1.0' })).toEqual({
      action: 'initialize',
      version: '2.1.0',
    });
    expect(decideVersion({ stored: undefined, expected: '2.2.0', incoming: '2.1.0' })).toEqual({
      action: 'initialize',
      version: '2.1.0',
    });
  });

  it('P = S ingests', () => {
    expect(decideVersion({ stored: '2.1.0', expected: '2.1.0', incoming: '2.1.0' })).toEqual({
      action: 'ingest',
      version: '2.1.0',
    });
  });

  it("the seed's flow: S 2.1.0, E 2.2.0, first 2.2.0 payload migrates", () => {
    expect(decideVersion({ stored: '2.1.0', expected: '2.2.0', incoming: '2.2.0' })).toEqual({
      action: 'migrate',
      from: '2.1.0',
      to: '2.2.0',
    });
    expect(decideVersion({ stored: '2.1.0', expected: '3.0.0', incoming: '3.0.0' })).toMatchObject({
      action: 'migrate',
    });
  });

  it('a patch-only change bumps S without purging unless configured', () => {
    expect(decideVersion({ stored: '2.1.0', expected: '2.1.1', incoming: '2.1.1' })).toEqual({
      action: 'bump',
      from: '2.1.0',
      to: '2.1.1',
    });
    expect(
      decideVersion({ stored: '2.1.0', expected: '2.1.1', incoming: '2.1.1', purgeOnPatch: true }),
    ).toMatchObject({ action: 'migrate' });
  });

  it('P older than S is stale, so S never moves backwards', () => {
    expect(decideVersion({ stored: '2.2.0', expected: '2.2.0', incoming: '2.1.0' })).toEqual({
      action: 'stale',
      stored: '2.2.0',
      incoming: '2.1.0',
    });
    // Even when this deployment still expects the older version.
    expect(decideVersion({ stored: '2.2.0', expected: '2.1.0', incoming: '2.1.0' })).toMatchObject({
      action: 'stale',
    });
  });

  it('any other newer P ingests without migrating (mismatch)', () => {
    expect(decideVersion({ stored: '2.1.0', expected: '2.1.0', incoming: '2.3.0' })).toEqual({
      action: 'mismatch',
      stored: '2.1.0',
      expected: '2.1.0',
      incoming: '2.3.0',
    });
  });

  it('isPatchOnlyChange compares MAJOR and MINOR', () => {
    expect(isPatchOnlyChange('2.1.0', '2.1.9')).toBe(true);
    expect(isPatchOnlyChange('2.1.0', '2.2.0')).toBe(false);
    expect(isPatchOnlyChange('x', '2.2.0')).toBe(false);
  });
});
