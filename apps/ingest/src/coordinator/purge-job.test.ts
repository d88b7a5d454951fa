import { describe, expect, it } from 'vitest';
import { shouldDelete } from './purge-job.js';

const key = (name: string, v?: string) => ({ name, meta: v ? { v } : null });
const none = () => false;

describe('shouldDelete', () => {
  it('a migration to 2.2.0 deletes older and untagged values, keeps 2.2.0 and newer', () => {
    const job = { keepVersion: '2.2.0' };
    expect(shouldDelete(key('timed:latest:A', '2.1.0'), job, none)).toBe(true);
    expect(shouldDelete(key('timed:trail:A'), job, none)).toBe(true);
    expect(shouldDelete(key('timed:momentum:A', '2.2.0'), job, none)).toBe(false);
    expect(shouldDelete(key('timed:prevstate:A', '2.3.0'), job, none)).toBe(false);
  });

  it('a rollback to 2.1.0 deletes only values tagged newer than 2.1.0', () => {
    const job = { keepVersion: null, dropAbove: '2.1.0' };
    expect(shouldDelete(key('timed:latest:A', '2.2.0'), job, none)).toBe(true);
    expect(shouldDelete(key('timed:trail:A', '2.1.1'), job, none)).toBe(true);
    expect(shouldDelete(key('timed:latest:B', '2.1.0'), job, none)).toBe(false);
    expect(shouldDelete(key('timed:latest:C', '2.0.0'), job, none)).toBe(false);
    expect(shouldDelete(key('timed:latest:D'), job, none)).toBe(false);
    expect(shouldDelete(key('timed:latest:E', '2.2.0'), job, (t) => t === 'E')).toBe(false);
  });

  it('never deletes a ticker written since the purge began, nor non-ticker keys', () => {
    const job = { keepVersion: null };
    expect(shouldDelete(key('timed:latest:A', '2.1.0'), job, (t) => t === 'A')).toBe(false);
    expect(shouldDelete(key('timed:latest:B', '2.2.0'), job, (t) => t === 'A')).toBe(true);
    expect(shouldDelete(key('timed:archive:2.1.0:1', '2.1.0'), job, none)).toBe(false);
    expect(shouldDelete(key('timed:data_version', '2.1.0'), job, none)).toBe(false);
  });
});
