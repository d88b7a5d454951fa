import type { ServerResponse } from 'node:http';
import { sseEvent } from './live-format.js';

/**
 * One Server-Sent Events client. Events are queued and written by the hub's flush, once per
 * cycle in a single write (one writev per stream per cycle, not one per event). Writes never
 * wait: a client that does not read lets the response's buffer grow, and once it passes
 * `maxBufferBytes` the client is dropped (its socket destroyed) so it cannot hold memory or slow
 * anyone else.
 */
export class SseStream {
  /** All final bars of this stream's symbols opening at or before this instant were sent. */
  closedMark: number;
  closed = false;
  /** Event texts in send order, written by the next flush(). */
  private queue: string[] = [];

  constructor(
    private readonly res: ServerResponse,
    readonly symbols: ReadonlySet<string>,
    readonly leaderboard: 'up' | 'down' | undefined,
    closedMark: number,
    private readonly maxBufferBytes: number,
    private readonly onClose: (stream: SseStream, dropped: boolean) => void,
    /** Told when the queue was empty and is not any more (the hub schedules a flush). */
    private readonly onQueued: (stream: SseStream) => void,
  ) {
    this.closedMark = closedMark;
    res.on('close', () => this.finish(false));
  }

  /** Queues one event (`data` is one line of JSON); its id carries the closed mark as of now. */
  event(type: string, id: string | number, data: string): void {
    this.push(sseEvent(this.closedMark, id, type, data));
  }

  /** Queues a comment line (heartbeats). */
  comment(text: string): void {
    this.push(`: ${text}\n\n`);
  }

  /** Writes the queue, then `tail` (the cycle's state events), in one write. */
  flush(tail = ''): void {
    if (this.closed) return;
    let chunk = tail;
    if (this.queue.length) {
      this.queue.push(tail);
      chunk = this.queue.join('');
      this.queue = [];
    }
    if (chunk === '') return;
    this.res.write(chunk);
    if (this.res.writableLength > this.maxBufferBytes) {
      this.res.destroy();
      this.finish(true);
    }
  }

  /** Ends the response (shutdown), after what is queued. */
  end(): void {
    if (this.closed) return;
    this.flush();
    if (this.closed) return;
    this.res.end();
    this.finish(false);
  }

  private push(text: string): void {
    if (this.closed) return;
    this.queue.push(text);
    if (this.queue.length === 1) this.onQueued(this);
  }

  private finish(dropped: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.onClose(this, dropped);
  }
}
