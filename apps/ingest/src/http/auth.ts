import { HttpError } from '@timed/schema/errors';

const encoder = new TextEncoder();
const digests = new Map<string, Promise<ArrayBuffer>>();

function digestOf(secret: string): Promise<ArrayBuffer> {
  let d = digests.get(secret);
  if (!d) {
    d = crypto.subtle.digest('SHA-256', encoder.encode(secret));
    digests.clear(); // one configured key per isolate; do not grow with rotations
    digests.set(secret, d);
  }
  return d;
}

/**
 * True when `given` equals `expected`, compared in constant time: both sides are hashed to equal
 * lengths first so neither the content nor the length of the key leaks through timing.
 */
export async function keysMatch(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(given)),
    digestOf(expected),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** Checks `?key=` against the configured secret: 401 when missing or wrong, 503 when unset. */
export async function requireApiKey(url: URL, apiKey: string | undefined): Promise<void> {
  if (!apiKey) {
    throw new HttpError(503, 'NOT_CONFIGURED', 'TIMED_API_KEY is not configured on this Worker');
  }
  const given = url.searchParams.get('key');
  if (given === null || given === '') {
    throw new HttpError(401, 'UNAUTHORIZED', 'missing key: add ?key=YOUR_API_KEY');
  }
  if (!(await keysMatch(given, apiKey))) {
    throw new HttpError(401, 'UNAUTHORIZED', 'wrong key');
  }
}
