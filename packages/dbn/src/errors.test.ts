import { describe, expect, it } from 'vitest';
import { DbnError, HistoricalError, LiveError } from './errors.js';

// The shared surface of every error in the repo: code, message, context, cause.
describe('errors', () => {
  it('DbnError: the byte offset is its context', () => {
    const cause = new Error('zstd');
    const e = new DbnError('ZSTD_ERROR', 'bad frame', 12, { cause });
    expect([e.code, e.message, e.context, e.cause]).toEqual([
      'ZSTD_ERROR',
      'bad frame (at byte 12)',
      { offset: 12 },
      cause,
    ]);
  });

  it('LiveError: the gateway text and code and whether it retries', () => {
    expect(new LiveError('AUTH_FAILED', 'auth', { gatewayText: 'bad key' }).context).toEqual({
      gatewayText: 'bad key',
      retryable: false,
    });
    expect(
      new LiveError('GATEWAY_ERROR', 'x', { gatewayCode: 3, retryable: true }).context,
    ).toEqual({ gatewayCode: 3, retryable: true });
  });

  it('HistoricalError: status, case and request id, not the body', () => {
    const e = new HistoricalError('HTTP_422', 'bad', {
      status: 422,
      case: 'symbology_invalid_request',
      requestId: 'r1',
      body: '{"detail":"…"}',
    });
    expect(e.context).toEqual({ status: 422, case: 'symbology_invalid_request', requestId: 'r1' });
  });
});
