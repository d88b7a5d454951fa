import { SystemCode, type SystemMsg } from '@timed/dbn';

/**
 * Code of a decoded SystemMsg: its code when set (v2+), else read from its text as the reference
 * implementation does for v1 records. (Raw records: @timed/dbn's systemCodeAt.)
 */
export function systemCodeOf(r: SystemMsg): number {
  if (r.code !== undefined && r.code !== SystemCode.UNSET) return r.code;
  if (r.msg === 'Heartbeat') return SystemCode.HEARTBEAT;
  if (r.msg.startsWith('End of interval ')) return SystemCode.END_OF_INTERVAL;
  return SystemCode.UNSET;
}

/** True for the codes that move the stream clock: heartbeats and end-of-interval messages. */
export function movesClock(code: number): boolean {
  return code === SystemCode.HEARTBEAT || code === SystemCode.END_OF_INTERVAL;
}
