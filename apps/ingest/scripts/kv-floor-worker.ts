// The benchmark's KV floor (scripts/bench.mjs): a Worker that does only the KV work of an ingest,
// so the bench can tell what Miniflare's local KV costs apart from what the ingest code costs.
// Not deployed: wrangler.toml's `main` is src/index.ts; the bench starts this file on its own.
import type { WebhookPayload } from '@timed/schema';
import type { RawEnv } from '../src/env.js';
import { storePayload } from '../src/ingest/store-payload.js';
import { KvStore } from '../src/kv/kv-store.js';

// wrangler.toml binds the coordinator class, so the script must export it (it is never called).
export { VersionCoordinator } from '../src/coordinator/version-coordinator.js';

let requests = 0;

export default {
  async fetch(request, env): Promise<Response> {
    const url = new URL(request.url);
    const ticker = url.searchParams.get('ticker') ?? 'FLOOR';
    const kv = new KvStore(env.TIMED_KV, `floor#${++requests}`);
    switch (`${request.method} ${url.pathname}`) {
      // The ingest's storage step alone: the same reads and writes (storePayload) for the same
      // alert, without the key check, validation, version gate and coordinator notes. The bench
      // sends only valid alerts, so the body is taken as is.
      case 'POST /floor/store': {
        const payload = (await request.json()) as WebhookPayload;
        const outcome = await storePayload(kv, {
          payload,
          version: payload.script_version,
          fresh: false,
          receivedAt: Date.now(),
          trailLength: 100,
        });
        return Response.json({ ok: true, ...outcome, reads: kv.reads, writes: kv.writes });
      }
      // One bare KV read (a trail, with its metadata).
      case 'GET /floor/get': {
        await env.TIMED_KV.getWithMetadata(`timed:trail:${ticker}`, 'json');
        return Response.json({ ok: true });
      }
      // One bare KV write (the request body as a latest value, with version metadata).
      case 'POST /floor/put': {
        await env.TIMED_KV.put(`timed:latest:${ticker}`, await request.text(), {
          metadata: { v: '2.2.0' },
        });
        return Response.json({ ok: true });
      }
      default:
        return Response.json({ ok: false }, { status: 404 });
    }
  },
} satisfies ExportedHandler<RawEnv>;
