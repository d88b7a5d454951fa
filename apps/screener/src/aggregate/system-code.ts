import { SystemCode } from '@timed/dbn';

/** Code of the SystemMsg of `size` bytes at `o` in `bytes` (v2+: its code byte; else its text). */
export function systemCodeAt(bytes: Uint8Array, o: number, size: number): number {
  if (size >= 320) {
    const code = bytes[o + 319]!;
    if (code !== SystemCode.UNSET) return code;
  }
  // v1 records (or code unset): the reference implementation compares the text.
  const start = o + 16;
  let end = start;
  while (end < start + 32 && bytes[end] !== 0) end++;
  return systemCodeOfText(String.fromCharCode(...bytes.subarray(start, end)));
}

/** Code of a SystemMsg's text (v1 records carry no code). */
export function systemCodeOfText(text: string): number {
  if (text === 'Heartbeat') return SystemCode.HEARTBEAT;
  if (text.startsWith('End of interval ')) return SystemCode.END_OF_INTERVAL;
  return SystemCode.UNSET;
}

/** True for the codes that move the stream clock. */
export function movesClock(code: number): boolean {
  return code === SystemCode.HEARTBEAT || code === SystemCode.END_OF_INTERVAL;
}
