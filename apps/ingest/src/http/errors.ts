import { EnvError, errorBody, HttpError } from '@timed/schema/errors';
import { KvRateLimitError } from '../kv/kv-store.js';
import { errorText, logEvent } from '../log.js';

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
};

/** A JSON response. */
export function json(body: unknown, status = 200, headers?: HeadersInit): Response {
  const h = new Headers(JSON_HEADERS);
  if (headers) for (const [k, v] of new Headers(headers)) h.set(k, v);
  return new Response(JSON.stringify(body), { status, headers: h });
}

/** The `{ error: { code, message, details? } }` response for an HttpError. */
export function errorResponse(error: HttpError): Response {
  return json(
    errorBody(error.code, error.message, error.details),
    error.status,
    error.status === 405 ? allowHeader(error.details) : undefined,
  );
}

/**
 * The answer to a request that threw: an HttpError as itself (a refusal logged as info, a 5xx as
 * an error), a bad environment as 500 naming the variables, KV's rate limit as 503, anything else
 * as a 500 that says nothing of it (the log has it).
 */
export function errorResponseFor(error: unknown, request: Request, url: URL): Response {
  if (error instanceof HttpError) {
    if (error.status >= 500) logError(error, request, url);
    else {
      logEvent('info', 'request_refused', {
        method: request.method,
        path: url.pathname,
        status: error.status,
        code: error.code,
      });
    }
    return errorResponse(error);
  }
  logError(error, request, url);
  if (error instanceof EnvError) {
    return errorResponse(
      new HttpError(500, error.code, error.message, { variables: error.variables }),
    );
  }
  if (error instanceof KvRateLimitError) {
    return errorResponse(
      new HttpError(503, error.code, 'KV is rate-limiting this key; try again in a second', {
        key: error.key,
      }),
    );
  }
  return errorResponse(new HttpError(500, 'INTERNAL', 'internal error'));
}

/** Logs a failed request by method and path: never the query string, which holds the key. */
function logError(error: unknown, request: Request, url: URL): void {
  logEvent('error', 'request_failed', {
    method: request.method,
    path: url.pathname,
    error: errorText(error),
    code: (error as { code?: unknown } | null)?.code,
  });
}

function allowHeader(details: unknown): HeadersInit | undefined {
  const allow = (details as { allow?: string[] } | undefined)?.allow;
  return allow ? { allow: allow.join(', ') } : undefined;
}
