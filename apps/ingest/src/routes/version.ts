import { describeIssues, SemverString } from '@timed/schema';
import { HttpError } from '@timed/schema/errors';
import { z } from 'zod';
import { requireApiKey } from '../http/auth.js';
import { parseJsonBody, readBodyText } from '../http/body.js';
import { json } from '../http/errors.js';
import type { Router } from '../router.js';

/** Largest `POST /timed/version` body: three small fields. */
const MAX_VERSION_BODY_BYTES = 4_096;

const VersionBody = z.strictObject(
  {
    version: SemverString,
    purge: z.boolean({ message: 'must be true or false' }).optional(),
    rollback: z.boolean({ message: 'must be true or false' }).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}: only "version", "purge" and "rollback" are accepted`
        : issue.code === 'invalid_type'
          ? 'must be a JSON object { "version", "purge"?, "rollback"? }'
          : undefined,
  },
);

/** `GET /timed/version` (stored vs expected) and `POST /timed/version?key=` (skip, roll back). */
export function registerVersion(router: Router): void {
  router.on('GET', '/timed/version', async (c) => {
    const s = await c.coordinator.status();
    return json({
      ok: true,
      storedVersion: s.stored,
      expectedVersion: c.env.expectedVersion,
      match: s.stored === c.env.expectedVersion,
      // Payloads of a version that is neither S nor E (stored without migrating) and 409s.
      mismatch: s.mismatch,
      staleRejected: s.staleRejected,
    });
  });

  router.on('POST', '/timed/version', async (c) => {
    await requireApiKey(c.url, c.env.apiKey);
    const body = parseJsonBody(await readBodyText(c.request, MAX_VERSION_BODY_BYTES));
    const parsed = VersionBody.safeParse(body);
    if (!parsed.success) {
      throw new HttpError(400, 'INVALID_PAYLOAD', describeIssues(parsed.error), {
        fields: [...new Set(parsed.error.issues.map(issuePath))],
      });
    }
    const r = await c.coordinator.changeVersion(parsed.data);
    if (!r.ok) throw new HttpError(r.status, r.code, r.message, r.details);
    // This isolate's cache must not keep the old S (a rollback moves it back).
    c.gate.remember(r.state, Date.now());
    return json({
      ok: true,
      action: r.action,
      from: r.from,
      storedVersion: r.state.stored,
      expectedVersion: c.env.expectedVersion,
      match: r.state.stored === c.env.expectedVersion,
      purge: r.purge,
      ...(r.archiveKey ? { archiveKey: r.archiveKey } : {}),
    });
  });
}

/** The field an issue is about; unknown keys are named themselves. */
function issuePath(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return issue.keys.join(',');
  return issue.path.join('.') || '(body)';
}
