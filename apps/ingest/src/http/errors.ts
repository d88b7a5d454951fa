/** An error that maps to an HTTP response with the service's one error shape. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

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
  const body = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
  return json(body, error.status, error.status === 405 ? allowHeader(error.details) : undefined);
}

function allowHeader(details: unknown): HeadersInit | undefined {
  const allow = (details as { allow?: string[] } | undefined)?.allow;
  return allow ? { allow: allow.join(', ') } : undefined;
}
