import { type IncomingMessage, request } from 'node:http';

/** One Server-Sent Event as a client sees it. */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

/** A minimal EventSource over node:http: collects events and comments, reports the status. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status: number | undefined;
  body = '';
  ended = false;
  private buffer = '';
  private req: ReturnType<typeof request> | undefined;
  private res: IncomingMessage | undefined;

  constructor(
    readonly url: string,
    readonly headers: Record<string, string> = {},
  ) {}

  /** Connects; resolves once the response headers arrived. */
  open(): Promise<this> {
    return new Promise((resolve, reject) => {
      const req = request(this.url, { headers: { accept: 'text/event-stream', ...this.headers } });
      this.req = req;
      req.on('error', (err) => (this.status === undefined ? reject(err) : undefined));
      req.on('response', (res) => {
        this.status = res.statusCode;
        this.res = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (this.status !== 200) this.body += chunk;
          else this.feed(chunk);
        });
        res.on('end', () => {
          this.ended = true;
        });
        res.on('close', () => {
          this.ended = true;
        });
        resolve(this);
      });
      req.end();
    });
  }

  /** The id of the last event received (what a browser sends back as Last-Event-ID). */
  lastId(): string | undefined {
    return this.events.at(-1)?.id;
  }

  of(type: string): SseEvent[] {
    return this.events.filter((e) => e.event === type);
  }

  /** Stops reading (the server's writes back up once the socket buffers are full). */
  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req?.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) this.events.push({ id, event, data: JSON.parse(data.join('\n')) });
    }
  }
}

/** Waits until `check` holds, polling (no fixed sleeps); fails naming `what`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
