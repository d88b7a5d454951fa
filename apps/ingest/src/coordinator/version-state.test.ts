import { describe, expect, it } from 'vitest';
import { freshCoordinatorState, type PersistedState } from './coordinator-state.js';
import { gateStateOf, setVersion } from './version-state.js';

function state(version: string | null): PersistedState {
  return {
    ...freshCoordinatorState(),
    version,
    mismatch: { version: '2.0.0', ticker: 'AAPL', count: 3, lastSeenMs: 1 },
  };
}

describe('setVersion', () => {
  it('moves S forward, marks the KV mirror due and clears the mismatch', () => {
    const s = state('2.1.0');
    setVersion(s, '2.2.0');
    expect(s.version).toBe('2.2.0');
    expect(s.flush.versionGen).toBe(1);
    expect(s.mismatch).toBeNull();
  });

  it('setting the same S changes nothing', () => {
    const s = state('2.1.0');
    setVersion(s, '2.1.0');
    expect(s.flush.versionGen).toBe(0);
    expect(s.mismatch).not.toBeNull();
  });

  it('refuses to move S back, leaving the state as it was', () => {
    const s = state('2.2.0');
    expect(() => setVersion(s, '2.1.0')).toThrow(
      'refusing to move the data version back from 2.2.0 to 2.1.0',
    );
    expect(s.version).toBe('2.2.0');
    expect(s.flush.versionGen).toBe(0);
  });
});

describe('gateStateOf', () => {
  it('is S, E, whether a purge runs and what a skip kept', () => {
    const s = state('2.1.0');
    s.keepFrom = '2.0.0';
    expect(gateStateOf(s, '2.2.0')).toEqual({
      stored: '2.1.0',
      expected: '2.2.0',
      purging: false,
      keepFrom: '2.0.0',
    });
  });
});
