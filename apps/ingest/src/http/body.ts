import { HttpError } from '@timed/schema/errors';

/** Reads a request body as UTF-8 text, refusing (413) anything over `maxBytes`. */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** Parses a body as JSON (TradingView sends it as application/json or text/plain). */
export function parseJsonBody(text: string): unknown {
  // TradingView alert messages sometimes carry a byte-order mark or trailing whitespace.
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '')
    throw new HttpError(400, 'INVALID_JSON', 'body is not JSON: the body is empty');
  try {
    return JSON.parse(trimmed);
  } catch (cause) {
    throw new HttpError(400, 'INVALID_JSON', 'body is not JSON', undefined, { cause });
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `body is larger than ${maxBytes} bytes`, {
    maxBytes,
  });
}
