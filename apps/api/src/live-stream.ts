import type { ServerResponse } from 'node:http';
import { sseEvent } from './live-format.js';

/** Encodes the current state events of `symbol` for a stream whose closed mark is `mark`. */
export type StateEncoder = (symbol: string, mark: number) => string;

/**
 * One Server-Sent Events client. Events are written by the hub's flush, once per cycle in a single
 * write (one writev per stream per cycle, not one per event): first the queued ones (closed bars,
 * the resume, leaderboards, heartbeats) in order, then the current state of each followed symbol
 * that changed. While the socket has not taken the previous writes (write() said wait), nothing
 * more is written: state changes are only remembered, so a slow reader gets each symbol's latest
 * state once it drains instead of a growing backlog of stale ones. What it is owed meanwhile
 * (queued events, and the state events it would have been sent) counts against `maxBufferBytes`
 * with the socket's unsent bytes; past it, the client is dropped (its socket destroyed) so it
 * cannot hold memory or slow anyone else.
 */
export class SseStream {
  /** All final bars of this stream's symbols opening at or before this instant were sent. */
  closedMark: number;
  closed = false;
  /** Event texts in send order, written by the next flush(). */
  private queue: string[] = [];
  /** Followed symbols whose state changed since it was last written. */
  private readonly stale = new Set<string>();
  /** True from a write the socket could not take at once until it drains. */
  private blocked = false;
  /** Bytes of events owed while blocked. */
  private owed = 0;

  constructor(
    private readonly res: ServerResponse,
    readonly symbols: ReadonlySet<string>,
    readonly leaderboard: 'up' | 'down' | undefined,
    closedMark: number,
    private readonly maxBufferBytes: number,
    private readonly onClose: (stream: SseStream, dropped: boolean) => void,
    /** Told when the stream has something to write (the hub schedules a flush). */
    private readonly onDue: (stream: SseStream) => void,
  ) {
    this.closedMark = closedMark;
    res.on('close', () => this.finish(false));
    res.on('drain', () => {
      this.blocked = false;
      this.owed = 0;
      if (this.queue.length || this.stale.size) this.onDue(this);
    });
  }

  /** True while the socket has unsent data past its high-water mark. */
  get waiting(): boolean {
    return this.blocked;
  }

  /** Queues one event (`data` is one line of JSON); its id carries the closed mark as of now. */
  event(type: string, id: string | number, data: string): void {
    this.push(sseEvent(this.closedMark, id, type, data));
  }

  /** Queues a comment line (heartbeats). */
  comment(text: string): void {
    this.push(`: ${text}\n\n`);
  }

  /**
   * A followed symbol's state changed. `bytes`: the size of its events, counted as owed while the
   * stream is blocked (the hub measures only then).
   */
  stateChanged(symbol: string, bytes: number): void {
    if (this.closed) return;
    this.stale.add(symbol);
    if (this.blocked) this.owe(bytes);
  }

  /** Writes the queue, then each changed symbol's current state, in one write (not while blocked). */
  flush(encode: StateEncoder): void {
    if (this.closed || this.blocked) return;
    const parts = this.queue;
    this.queue = [];
    for (const sym of this.stale) parts.push(encode(sym, this.closedMark));
    this.stale.clear();
    const chunk = parts.join('');
    if (chunk === '') return;
    if (!this.res.write(chunk)) this.blocked = true;
    if (this.res.writableLength > this.maxBufferBytes) this.drop();
  }

  /** Ends the response (shutdown); what is not yet written is left to the client's resume. */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.finish(false);
  }

  private push(text: string): void {
    if (this.closed) return;
    this.queue.push(text);
    if (this.blocked) this.owe(text.length);
    else if (this.queue.length === 1) this.onDue(this);
  }

  private owe(bytes: number): void {
    this.owed += bytes;
    if (this.res.writableLength + this.owed > this.maxBufferBytes) this.drop();
  }

  private drop(): void {
    this.res.destroy();
    this.finish(true);
  }

  private finish(dropped: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.stale.clear();
    this.onClose(this, dropped);
  }
}
