import type { ServerResponse } from 'node:http';

/**
 * One Server-Sent Events client. Writes never wait: a client that does not read lets the
 * response's buffer grow, and once it passes `maxBufferBytes` the client is dropped (its socket
 * destroyed) so it cannot hold memory or slow anyone else.
 */
export class SseStream {
  /** All final bars of this stream's symbols opening at or before this instant were sent. */
  closedMark: number;
  closed = false;
  private readonly onClose: (stream: SseStream, dropped: boolean) => void;

  constructor(
    private readonly res: ServerResponse,
    readonly symbols: ReadonlySet<string>,
    readonly leaderboard: 'up' | 'down' | undefined,
    closedMark: number,
    private readonly maxBufferBytes: number,
    onClose: (stream: SseStream, dropped: boolean) => void,
  ) {
    this.closedMark = closedMark;
    this.onClose = onClose;
    res.on('close', () => this.finish(false));
  }

  /** Sends one event (`data` is one line of JSON). */
  event(type: string, id: string | number, data: string): void {
    this.write(`id: ${this.closedMark}:${id}\nevent: ${type}\ndata: ${data}\n\n`);
  }

  /** Sends a comment line (heartbeats). */
  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  /** Raw text (the stream's preamble). */
  write(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
    if (this.res.writableLength > this.maxBufferBytes) {
      this.res.destroy();
      this.finish(true);
    }
  }

  /** Ends the response (shutdown). */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.finish(false);
  }

  private finish(dropped: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this, dropped);
  }
}
