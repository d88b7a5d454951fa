import { createDb, type Db } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from './app.js';

let db: Db;
let app: FastifyInstance;

beforeAll(async () => {
  db = createDb(await createTestDatabase(inject('adminUrl')));
  app = await buildApp({ db, rateLimit: false });
});
afterAll(async () => {
  await app?.close();
  await db?.destroy();
});

type ErrorJson = { error: { code: string; message: string } };

/** The API's one error shape: `{ error: { code, message, details? } }` and nothing else. */
function expectShape(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as ErrorJson & Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.code).toBe('string');
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(Object.keys(body.error).every((k) => ['code', 'message', 'details'].includes(k))).toBe(
    true,
  );
  return body.error;
}

describe('every error the API sends has the one shape', () => {
  it('400: a bad parameter', async () => {
    const res = await app.inject({ method: 'GET', url: '/bars/AAPL?limit=0' });
    expect(res.statusCode).toBe(400);
    expect(expectShape(res).code).toBe('INVALID_PARAMETER');
  });

  it('404: an unknown route', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(expectShape(res).code).toBe('NOT_FOUND');
  });

  it('405: a method the API does not serve on a known path', async () => {
    for (const method of ['POST', 'DELETE', 'PUT'] as const) {
      const res = await app.inject({ method, url: '/bars/AAPL' });
      expect(res.statusCode, method).toBe(405);
      const error = expectShape(res);
      expect(error.code).toBe('METHOD_NOT_ALLOWED');
      expect(error.message).toMatch(new RegExp(`${method} /bars/AAPL`));
      expect(res.headers.allow).toMatch(/GET/);
    }
  });

  it('413: a body larger than the limit', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/bars/AAPL',
      headers: { 'content-type': 'application/json' },
      payload: `"${'x'.repeat(2_000_000)}"`,
    });
    expect(res.statusCode).toBe(413);
    expect(expectShape(res).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('414: a symbol longer than the router takes (FST_ERR_MAX_PARAM_LENGTH)', async () => {
    const res = await app.inject({ method: 'GET', url: `/bars/${'A'.repeat(300)}` });
    expect(res.statusCode).toBe(414);
    const error = expectShape(res);
    expect(error.code).toBe('URI_TOO_LONG');
    expect(error.message).toMatch(/symbol|path parameter/);
  });

  it('400 and 431: HTTP the parser refuses, answered on the socket', async () => {
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(url);
    const raw = async (request: string) => {
      const { connect } = await import('node:net');
      return new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(request));
        let text = '';
        socket.on('data', (d) => {
          text += d;
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
    };
    const bad = await raw('GET /bars/AAPL HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n');
    expect(bad).toMatch(/^HTTP\/1\.1 400 /);
    const body = JSON.parse(bad.slice(bad.indexOf('\r\n\r\n') + 4)) as ErrorJson;
    expect(body.error.code).toBe('BAD_REQUEST');
    const huge = await raw(
      `GET /bars/AAPL HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(huge).toMatch(/"code":"HEADERS_TOO_LARGE"/);
  });

  it('400: a malformed URL', async () => {
    const res = await app.inject({ method: 'GET', url: '/bars/%E0%A4%A' });
    expect(res.statusCode).toBe(400);
    expectShape(res);
  });

  it('429: past the rate limit, with Retry-After', async () => {
    const limited = await buildApp({ db, rateLimit: { max: 1, timeWindowMs: 60_000 } });
    try {
      await limited.inject({ method: 'GET', url: '/bars/ZZZZ' });
      const res = await limited.inject({ method: 'GET', url: '/bars/ZZZZ' });
      expect(res.statusCode).toBe(429);
      expect(expectShape(res).code).toBe('RATE_LIMITED');
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await limited.close();
    }
  });

  it('500: an unexpected failure leaks nothing (no message, stack or SQL), and is logged', async () => {
    const logged: unknown[] = [];
    const broken = createDb('postgres://127.0.0.1:1/none');
    const app500 = await buildApp({ db: broken });
    // A route that throws something the API does not expect, as a bug would.
    app500.get('/boom', async () => {
      throw new Error('secret: password=hunter2 at SELECT * FROM price_bars');
    });
    app500.addHook('onError', async (_request, _reply, err) => {
      logged.push(err);
    });
    try {
      const res = await app500.inject({ method: 'GET', url: '/boom' });
      expect(res.statusCode).toBe(500);
      const error = expectShape(res);
      expect(error).toEqual({ code: 'INTERNAL', message: 'internal error' });
      expect(res.body).not.toMatch(/secret|hunter2|SELECT|price_bars|at /);
      expect(logged).toHaveLength(1);
    } finally {
      await app500.close();
      await broken.destroy();
    }
  });
});
