/**
 * The one error vocabulary of every app (the Worker included, so nothing here touches Node):
 * a machine `code` in UPPER_SNAKE, a message for people, `context` for logs, and a `cause`.
 */
export class TimedError<C extends string = string> extends Error {
  override readonly name: string = 'TimedError';
  constructor(
    readonly code: C,
    message: string,
    readonly context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/**
 * An error an HTTP service answers with `status` and its one body,
 * `{ "error": { "code", "message", "details"? } }` (see `errorBody`).
 */
export class HttpError<C extends string = string> extends TimedError<C> {
  override readonly name: string = 'HttpError';
  constructor(
    readonly status: number,
    code: C,
    message: string,
    /** Machine-readable extras sent to the client (never secrets, never internals). */
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(code, message, { status }, options);
  }

  /** Fastify reads `statusCode` from a thrown error. */
  get statusCode(): number {
    return this.status;
  }
}

/** The one error body of both HTTP services; `details` only when there are some. */
export function errorBody(
  code: string,
  message: string,
  details?: unknown,
): { error: { code: string; message: string; details?: unknown } } {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** One bad environment variable (or binding): its name and what is wrong, never its value. */
export interface EnvIssue {
  variable: string;
  message: string;
}

/** The environment is unusable: lists every bad variable at once. The process cannot start. */
export class EnvError extends TimedError<'INVALID_ENV'> {
  override readonly name = 'EnvError';
  constructor(readonly issues: EnvIssue[]) {
    super(
      'INVALID_ENV',
      `invalid environment: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`,
      { variables: [...new Set(issues.map((i) => i.variable))] },
    );
  }

  /** The offending variables' names, each once. */
  get variables(): string[] {
    return [...new Set(this.issues.map((i) => i.variable))];
  }
}
