import { describe, expect, it } from 'vitest';
import { compareSemver, parseSemver, SemverString } from './index.js';

describe('parseSemver / compareSemver', () => {
  it('parses MAJOR.MINOR.PATCH and rejects other shapes', () => {
    expect(parseSemver('2.1.0')).toMatchObject({ major: 2, minor: 1, patch: 0 });
    expect(parseSemver('1.0.0-rc.1')).toMatchObject({ prerelease: 'rc.1' });
    for (const bad of ['2.1', 'v2.1.0', '02.1.0', '2.1.0.4', '', 'latest', '2.-1.0']) {
      expect(parseSemver(bad), bad).toBeUndefined();
    }
  });

  it('orders numerically, not as text, and pre-releases before releases', () => {
    expect(compareSemver('2.10.0', '2.9.9')).toBeGreaterThan(0);
    expect(compareSemver('2.1.0', '2.1.0')).toBe(0);
    expect(compareSemver('2.1.0+build.5', '2.1.0')).toBe(0);
    expect(compareSemver('3.0.0-rc.1', '3.0.0')).toBeLessThan(0);
    expect(compareSemver('1.9.9', '2.0.0')).toBeLessThan(0);
  });

  it('throws a message naming the bad text', () => {
    expect(() => compareSemver('nope', '1.0.0')).toThrow(/"nope"/);
  });

  it('SemverString explains the expected shape', () => {
    const r = SemverString.safeParse('2.1');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/MAJOR\.MINOR\.PATCH/);
  });
});
