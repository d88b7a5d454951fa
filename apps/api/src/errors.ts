import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/** Machine codes of API errors. */
export type ApiErrorCode =
  | 'INVALID_PARAMETER'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'DATABASE_UNAVAILABLE'
  | 'BAD_REQUEST'
  | 'INTERNAL';

/** An error the API answers with its status and `{ error: { code, message, details? } }`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The one error body of this service. */
export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** A 400 naming the offending query or path parameter. */
export function invalidParameter(parameter: string, message: string, cause?: unknown): ApiError {
  return new ApiError(
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
    if (err instanceof ApiError) {
      return reply.code(err.statusCode).send(errorBody(err.code, err.message, err.details));
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
    if (err.statusCode === 429) {
      return reply.code(429).send(errorBody('RATE_LIMITED', err.message));
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(errorBody('BAD_REQUEST', err.message));
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
