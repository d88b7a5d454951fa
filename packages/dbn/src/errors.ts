// @timed/dbn depends on none of our packages, so these do not extend @timed/schema's TimedError;
// they offer the same surface instead: `code`, `message`, `context` (for logs) and `cause`.

/** Machine codes of DbnError. */
export type DbnErrorCode =
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'BAD_METADATA'
  | 'TRUNCATED_METADATA'
  | 'BAD_RECORD_LENGTH'
  | 'RECORD_TOO_SHORT'
  | 'TRUNCATED_RECORD'
  | 'ZSTD_ERROR'
  | 'ENCODE_ERROR';

/** A decoding/encoding failure; `offset` is the byte offset in the (decompressed) stream. */
export class DbnError extends Error {
  override readonly name = 'DbnError';
  readonly code: DbnErrorCode;
  readonly offset: number;

  constructor(code: DbnErrorCode, message: string, offset: number, options?: { cause?: unknown }) {
    super(`${message} (at byte ${offset})`, options);
    this.code = code;
    this.offset = offset;
  }

  get context(): { offset: number } {
    return { offset: this.offset };
  }
}

/** Machine codes of LiveError. */
export type LiveErrorCode =
  | 'AUTH_FAILED'
  | 'CONNECT_FAILED'
  | 'PROTOCOL_ERROR'
  | 'GATEWAY_ERROR'
  | 'HEARTBEAT_TIMEOUT'
  | 'CONNECTION_CLOSED'
  | 'DECODE_ERROR'
  | 'RECONNECT_EXHAUSTED'
  | 'INVALID_ARGUMENT';

/** A Live client failure; `gatewayText` carries the gateway's own message when there is one. */
export class LiveError extends Error {
  override readonly name = 'LiveError';
  readonly code: LiveErrorCode;
  readonly gatewayText: string | undefined;
  /** ErrorMsg code when the error came from an ErrorMsg record. */
  readonly gatewayCode: number | undefined;
  /** Whether the client would retry after this error. */
  readonly retryable: boolean;

  constructor(
    code: LiveErrorCode,
    message: string,
    details: {
      gatewayText?: string;
      gatewayCode?: number;
      retryable?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
    this.code = code;
    this.gatewayText = details.gatewayText;
    this.gatewayCode = details.gatewayCode;
    this.retryable = details.retryable ?? false;
  }

  get context(): { gatewayText?: string; gatewayCode?: number; retryable: boolean } {
    return {
      ...(this.gatewayText === undefined ? {} : { gatewayText: this.gatewayText }),
      ...(this.gatewayCode === undefined ? {} : { gatewayCode: this.gatewayCode }),
      retryable: this.retryable,
    };
  }
}

/** Machine codes of HistoricalError: `HTTP_<status>`, or a failure before or after the answer. */
export type HistoricalErrorCode = `HTTP_${number}` | 'NETWORK_ERROR' | 'DECODE_ERROR';

/** A Historical API failure (HTTP status and the server's `detail`). */
export class HistoricalError extends Error {
  override readonly name = 'HistoricalError';
  readonly code: HistoricalErrorCode;
  readonly status: number | undefined;
  /** `detail.case` from the body when present (e.g. `data_start_before_available_start`). */
  readonly case: string | undefined;
  readonly requestId: string | undefined;
  readonly body: string | undefined;

  constructor(
    code: HistoricalErrorCode,
    message: string,
    details: {
      status?: number;
      case?: string;
      requestId?: string;
      body?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.case = details.case;
    this.requestId = details.requestId;
    this.body = details.body;
  }

  /** What a log line may carry (not the body, which can be large). */
  get context(): { status?: number; case?: string; requestId?: string } {
    return { status: this.status, case: this.case, requestId: this.requestId };
  }
}
