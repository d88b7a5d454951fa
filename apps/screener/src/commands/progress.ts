import type { Logger } from 'pino';
import type { SourceProgress } from '../sources/finite-source.js';

/** Renders progress: a redrawn bar on a TTY, else a structured log line every `everyMs`. */
export class ProgressReporter {
  private readonly started = Date.now();
  private lastLog = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly logger: Logger,
    private readonly everyMs = 5_000,
  ) {}

  /** Reports one progress sample. */
  update(p: SourceProgress): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = elapsed > 0 ? p.records / elapsed : 0;
    const fraction = p.bytesTotal ? Math.min(1, p.bytesRead / p.bytesTotal) : undefined;
    const eta =
      fraction !== undefined && fraction > 0 ? (elapsed / fraction) * (1 - fraction) : undefined;
    if (this.out.isTTY) {
      const width = 24;
      const bar =
        fraction === undefined
          ? ''
          : `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '.')}] ${(fraction * 100).toFixed(1).padStart(5)}% `;
      const line = `${bar}${compact(p.records)} records  ${compact(p.barsWritten)} bars  ${compact(rate)}/s  ETA ${eta === undefined ? '?' : clock(eta)}`;
      this.out.write(`\r${line.padEnd(100)}`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastLog < this.everyMs) return;
    this.lastLog = now;
    this.logger.info(
      {
        records: p.records,
        barsWritten: p.barsWritten,
        barsBuffered: p.barsBuffered,
        recordsPerSec: Math.round(rate),
        percent: fraction === undefined ? undefined : Math.round(fraction * 1000) / 10,
        etaSec: eta === undefined ? undefined : Math.round(eta),
      },
      'progress',
    );
  }

  /** Ends the bar's line (TTY). */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

/** 1234567 -> "1.23M". */
export function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** Seconds -> "m:ss" or "h:mm:ss". */
export function clock(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
