import { describeIssues, MAX_WEBHOOK_BYTES, WebhookPayload } from '@timed/schema';
import { HttpError } from '@timed/schema/errors';
import { requireApiKey } from '../http/auth.js';
import { parseJsonBody, readBodyText } from '../http/body.js';
import { json } from '../http/errors.js';
import { noteIngest } from '../ingest/ingest-notes.js';
import { storePayload } from '../ingest/store-payload.js';
import { logEvent } from '../log.js';
import type { Router } from '../router.js';

/** `POST /timed/ingest?key=KEY`: one TradingView alert. */
export function registerIngest(router: Router): void {
  router.on('POST', '/timed/ingest', async (c) => {
    await requireApiKey(c.url, c.env.apiKey);
    const body = parseJsonBody(await readBodyText(c.request, MAX_WEBHOOK_BYTES));
    const parsed = WebhookPayload.safeParse(body);
    if (!parsed.success) {
      throw new HttpError(400, 'INVALID_PAYLOAD', describeIssues(parsed.error), {
        fields: [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))],
      });
    }
    const payload = parsed.data;
    const version = payload.script_version;
    const decision = await c.gate.decide(version, payload.ticker);
    const receivedAt = Date.now();

    if (decision.kind === 'stale') {
      logEvent('info', 'stale_refused', {
        ticker: payload.ticker,
        version,
        stored: decision.stored,
        expected: c.env.expectedVersion,
      });
      noteIngest(
        { kind: 'stale', ticker: payload.ticker, version, atMs: receivedAt },
        c.coordinator,
        c.gate,
        (p) => c.exec.waitUntil(p),
      );
      throw new HttpError(
        409,
        'STALE_VERSION',
        `stale version: payload script_version ${version} is older than the stored data version ${decision.stored}`,
        { storedVersion: decision.stored, payloadVersion: version },
      );
    }

    const outcome = await storePayload(c.kv, {
      payload,
      version,
      fresh: decision.fresh,
      receivedAt,
      trailLength: c.env.trailLength,
      keepFrom: decision.keepFrom,
    });
    logEvent('info', 'ingest', {
      ticker: payload.ticker,
      version,
      stored: decision.stored,
      expected: c.env.expectedVersion,
      action: decision.action,
      admitted: decision.admitted,
      duplicate: outcome.duplicate,
      late: outcome.late,
      ...(decision.migration ? { migration: decision.migration } : {}),
    });
    // Index membership and last-ingest time are kept by the coordinator, off the response path.
    noteIngest(
      { kind: 'stored', ticker: payload.ticker, version, atMs: receivedAt },
      c.coordinator,
      c.gate,
      (p) => c.exec.waitUntil(p),
    );
    return json(
      {
        ok: true,
        ticker: payload.ticker,
        version,
        action: decision.action,
        duplicate: outcome.duplicate,
        late: outcome.late,
        transition: outcome.transition,
        ...(decision.migration ? { migration: decision.migration } : {}),
      },
      200,
      { 'x-timed-kv-ops': `reads=${c.kv.reads}, writes=${c.kv.writes}, lists=${c.kv.lists}` },
    );
  });
}
