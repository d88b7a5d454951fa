import { describe, expect, it } from 'vitest';
import { isCurrentModel } from './visibility.js';

describe('isCurrentModel', () => {
  it('serves the current model, its patches and newer versions; hides older models', () => {
    expect(isCurrentModel('2.2.0', '2.2.0')).toBe(true);
    expect(isCurrentModel('2.2.1', '2.2.0')).toBe(true);
    expect(isCurrentModel('2.2.0', '2.2.3')).toBe(true);
    expect(isCurrentModel('2.3.0', '2.2.0')).toBe(true);
    expect(isCurrentModel('2.1.9', '2.2.0')).toBe(false);
    expect(isCurrentModel('1.9.0', '2.2.0')).toBe(false);
  });

  it('serves untagged values and anything before S exists', () => {
    expect(isCurrentModel(undefined, '2.2.0')).toBe(true);
    expect(isCurrentModel('2.1.0', null)).toBe(true);
  });
});
