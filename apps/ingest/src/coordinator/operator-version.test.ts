import { describe, expect, it } from 'vitest';
import { judgeHandSetVersion, planVersionRequest } from './operator-version.js';

describe('judgeHandSetVersion', () => {
  const at = (stored: string | null, kvSeen: string | null = null) => ({ stored, kvSeen });

  it('adopts a newer value set by hand (no metadata, as `wrangler kv key put` writes it)', () => {
    expect(judgeHandSetVersion('2.2.0\n', null, at('2.1.0'))).toEqual({
      kind: 'adopt',
      to: '2.2.0',
    });
    expect(judgeHandSetVersion('2.2.0', null, at(null))).toEqual({ kind: 'adopt', to: '2.2.0' });
  });

  it("ignores the coordinator's own mirror, S itself, and a value handled before", () => {
    expect(judgeHandSetVersion('2.1.0', { v: '2.1.0' }, at('2.2.0')).kind).toBe('ignore');
    expect(judgeHandSetVersion('2.2.0', null, at('2.2.0')).kind).toBe('ignore');
    expect(judgeHandSetVersion('2.2.0', null, at('2.3.0', '2.2.0')).kind).toBe('ignore');
    expect(judgeHandSetVersion(null, null, at('2.2.0')).kind).toBe('ignore');
  });

  it('refuses an older value and one that is not a version, saying why', () => {
    const older = judgeHandSetVersion('2.1.0', null, at('2.2.0'));
    expect(older).toMatchObject({ kind: 'refuse', to: '2.1.0' });
    expect(older.kind === 'refuse' && older.reason).toContain('"rollback": true');
    // Edited in the dashboard with our metadata left on: not ours.
    expect(judgeHandSetVersion('two', { v: '2.2.0' }, at('2.2.0'))).toMatchObject({
      kind: 'refuse',
      reason: 'not a MAJOR.MINOR.PATCH version',
    });
  });
});

describe('planVersionRequest', () => {
  it('skips forward by default and migrates forward with purge: true', () => {
    expect(planVersionRequest({ version: '2.2.0' }, '2.1.0', false)).toEqual({
      kind: 'skip',
      purge: false,
    });
    expect(planVersionRequest({ version: '2.2.0', purge: true }, '2.1.0', false).kind).toBe(
      'migrate',
    );
    expect(planVersionRequest({ version: '2.1.0' }, '2.1.0', false).kind).toBe('unchanged');
    expect(planVersionRequest({ version: '2.0.0' }, null, false).kind).toBe('initialize');
  });

  it('rolls back only with rollback: true, purging unless purge: false, never during a purge', () => {
    expect(planVersionRequest({ version: '2.1.0' }, '2.2.0', false)).toMatchObject({
      kind: 'refuse',
      code: 'ROLLBACK_REQUIRED',
    });
    expect(planVersionRequest({ version: '2.1.0', rollback: true }, '2.2.0', false)).toEqual({
      kind: 'rollback',
      purge: true,
    });
    expect(
      planVersionRequest({ version: '2.1.0', rollback: true, purge: false }, '2.2.0', false),
    ).toEqual({ kind: 'rollback', purge: false });
    expect(planVersionRequest({ version: '2.1.0', rollback: true }, '2.2.0', true)).toMatchObject({
      code: 'PURGE_RUNNING',
    });
    for (const version of ['2.2.0', '2.3.0']) {
      expect(planVersionRequest({ version, rollback: true }, '2.2.0', false)).toMatchObject({
        code: 'NOT_A_ROLLBACK',
      });
    }
  });
});
