import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedNotice {
  path: string;
  contentType: string | undefined;
  body: unknown;
  answeredStatus: number;
  atMs: number;
}

/**
 * A local stand-in for Discord's webhook endpoint on 127.0.0.1: records what it receives and
 * answers 204 like Discord (or a chosen error status after POST /control {"failNext": n}, or
 * nothing at all, holding the connection open, after {"hangNext": n}).
 * GET /received lists the requests, DELETE /received forgets them and lets held ones go.
 */
export async function startDiscordReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const received: ReceivedNotice[] = [];
  let failNext = 0;
  let failStatus = 500;
  let hangNext = 0;
  const held = new Set<() => void>();
  const releaseHeld = () => {
    for (const release of held) release();
    held.clear();
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const reply = (status: number, body?: unknown) => {
        // No keep-alive: a pooled connection the server closes while idle (Node's 5 s
        // keepAliveTimeout) makes workerd's next request on it fail with "Network connection lost".
        const headers: Record<string, string> = { connection: 'close' };
        if (body !== undefined) headers['content-type'] = 'application/json';
        res.writeHead(status, headers);
        res.end(body === undefined ? undefined : JSON.stringify(body));
      };
      if (path === '/received' && req.method === 'GET') return reply(200, received);
      if (path === '/received' && req.method === 'DELETE') {
        received.length = 0;
        failNext = 0;
        hangNext = 0;
        releaseHeld();
        return reply(204);
      }
      if (path === '/control' && req.method === 'POST') {
        const c = JSON.parse(text || '{}') as {
          failNext?: number;
          status?: number;
          hangNext?: number;
        };
        failNext = c.failNext ?? 0;
        failStatus = c.status ?? 500;
        hangNext = c.hangNext ?? 0;
        return reply(204);
      }
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      if (hangNext > 0) {
        hangNext--;
        // Recorded with status 0: never answered (the sender must give up on its own).
        received.push({
          path,
          contentType: req.headers['content-type'],
          body,
          answeredStatus: 0,
          atMs: Date.now(),
        });
        const release = () => res.destroy();
        held.add(release);
        res.on('close', () => held.delete(release));
        return;
      }
      const status = failNext > 0 ? failStatus : 204;
      if (failNext > 0) failNext--;
      received.push({
        path,
        contentType: req.headers['content-type'],
        body,
        answeredStatus: status,
        atMs: Date.now(),
      });
      return reply(status, status === 204 ? undefined : { message: 'receiver told to fail' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        releaseHeld();
        server.close(() => resolve());
      }),
  };
}
