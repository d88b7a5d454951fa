import { HttpError } from '@timed/schema/errors';
import { describe, expect, it } from 'vitest';
import { parseJsonBody, readBodyText } from './body.js';

function streamOf(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const n = Math.min(4096, bytes - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(120));
    },
  });
}

describe('readBodyText', () => {
  it('refuses a body over the limit even without Content-Length', async () => {
    const req = new Request('https://x/', { method: 'POST', body: streamOf(70_000) });
    expect(req.headers.get('content-length')).toBeNull();
    await expect(readBodyText(req, 65_536)).rejects.toMatchObject({ status: 413 });
  });

  it('reads a body at the limit', async () => {
    const req = new Request('https://x/', { method: 'POST', body: streamOf(65_536) });
    expect((await readBodyText(req, 65_536)).length).toBe(65_536);
  });
});

describe('parseJsonBody', () => {
  it('says the body is not JSON', () => {
    for (const text of ['', '  ', '{"a":', 'ticker=AAPL']) {
      let error: unknown;
      try {
        parseJsonBody(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(HttpError);
      expect((error as HttpError).message).toContain('body is not JSON');
    }
  });

  it('tolerates a byte-order mark and surrounding whitespace', () => {
    expect(parseJsonBody('\uFEFF {"a":1}\n')).toEqual({ a: 1 });
  });
});
