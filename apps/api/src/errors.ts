import type { Duplex } from 'node:stream';
import { errorBody, HttpError } from '@timed/schema/errors';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/** Machine codes of API errors. */
export type ApiErrorCode =
  | 'INVALID_PARAMETER'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'URI_TOO_LONG'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'HEADERS_TOO_LARGE'
  | 'DATABASE_UNAVAILABLE'
  | 'BAD_REQUEST'
  | 'INTERNAL';

// The one error body of both HTTP services (shared with the ingest Worker).
export { errorBody };

/** A 400 naming the offending query or path parameter. */
export function invalidParameter(
  parameter: string,
  message: string,
  cause?: unknown,
): HttpError<ApiErrorCode> {
  return new HttpError<ApiErrorCode>(
    400,
    'INVALID_PARAMETER',
    `${parameter}: ${message}`,
    { parameter },
    { cause },
  );
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up / shutting down)
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08006',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection error|Client was closed/i;

/** True when `err` (or a cause of it) says Postgres cannot be reached right now. */
export function isDbUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; depth++) {
    const x = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof x.code === 'string' && UNAVAILABLE_CODES.has(x.code)) return true;
    if (typeof x.message === 'string' && UNAVAILABLE_MESSAGES.test(x.message)) return true;
    // AggregateError (e.g. ECONNREFUSED on both ::1 and 127.0.0.1).
    if (Array.isArray(x.errors) && x.errors.some((inner) => isDbUnavailable(inner))) return true;
    e = x.cause;
  }
  return false;
}

/** The API's code for a client error Fastify or a plugin raised with this status. */
function codeOfStatus(status: number): ApiErrorCode {
  switch (status) {
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 414:
      return 'URI_TOO_LONG';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'RATE_LIMITED';
    default:
      return 'BAD_REQUEST';
  }
}

/**
 * Fastify's `frameworkErrors`: failures found while routing, before any handler or error handler
 * (a path parameter longer than the router takes, a URL that does not decode), in the one shape.
 */
export function frameworkErrors(
  err: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply
      .code(414)
      .send(
        errorBody(
          'URI_TOO_LONG',
          `a path parameter is longer than ${MAX_PARAM_LENGTH} characters (a symbol has at most 32)`,
        ),
      );
    return;
  }
  if (err.code === 'FST_ERR_BAD_URL') {
    reply.code(400).send(errorBody('BAD_REQUEST', 'the URL is not valid (bad percent-encoding)'));
    return;
  }
  reply.code(500).send(errorBody('INTERNAL', 'internal error'));
}

/** Longest path parameter the router matches (Fastify's maxParamLength). */
export const MAX_PARAM_LENGTH = 100;

/**
 * Node's HTTP parser errors (before Fastify sees a request: a malformed request line, headers too
 * large): answered on the socket in the one shape, then closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify(
    errorBody(
      tooLarge ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST',
      tooLarge ? 'the request headers are too large' : 'the request is not valid HTTP',
    ),
  );
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Connection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * 405 for a method the API does not serve on a path it does serve (Fastify would say 404): every GET
 * route registered from now on gets a sibling for the other methods. Call before the routes are
 * registered; `finish` registers the siblings once they all are.
 */
export function methodNotAllowed(app: FastifyInstance): { finish: () => void } {
  const urls = new Set<string>();
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    // Wildcards (static files, docs assets) stay 404 for other methods.
    if (methods.includes('GET') && !route.url.includes('*')) urls.add(route.url);
  });
  return {
    finish: () => {
      for (const url of urls) {
        app.route({
          method: ['POST', 'PUT', 'PATCH', 'DELETE'],
          url,
          schema: { hide: true },
          handler: (request, reply) => {
            reply
              .code(405)
              .header('allow', 'GET, HEAD')
              .send(
                errorBody(
                  'METHOD_NOT_ALLOWED',
                  `${request.method} ${request.url.split('?')[0]} is not allowed; this path answers GET and HEAD`,
                ),
              );
          },
        });
      }
    },
  };
}

function parameterOf(instancePath: string, context: string | undefined): string {
  const name = instancePath.split('/').filter(Boolean)[0];
  return name ?? context ?? 'request';
}

/**
 * Answers every failure with the one error shape: validation -> 400 naming the parameter, unknown
 * route -> 404, unreachable Postgres -> 503 + Retry-After, anything unexpected -> a logged 500
 * that leaks nothing.
 */
export function installErrorHandling(
  app: FastifyInstance,
  options: { retryAfterSeconds: number },
): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({
        parameter: parameterOf(v.instancePath, err.validationContext),
        message: v.message ?? 'is invalid',
      }));
      const first = issues[0]!;
      return reply.code(400).send(
        errorBody('INVALID_PARAMETER', `${first.parameter}: ${first.message}`, {
          parameter: first.parameter,
          issues,
        }),
      );
    }
    if (err instanceof HttpError) {
      return reply.code(err.status).send(errorBody(err.code, err.message, err.details));
    }
    if (isDbUnavailable(err)) {
      request.log.warn({ err }, 'database unavailable');
      return reply
        .code(503)
        .header('retry-after', String(options.retryAfterSeconds))
        .send(
          errorBody(
            'DATABASE_UNAVAILABLE',
            `the database cannot be reached; retry in ${options.retryAfterSeconds} s`,
          ),
        );
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(errorBody(codeOfStatus(err.statusCode), err.message));
    }
    request.log.error({ err }, 'unexpected error');
    return reply.code(500).send(errorBody('INTERNAL', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(
      errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, {
        method: request.method,
      }),
    );
  });
}
