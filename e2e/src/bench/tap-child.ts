// Child process of the live peak benchmark: a LISTEN connection of its own on the daemon's
// notifications (@timed/db's LiveListener, as the API uses), measuring how old each published
// state's last trade is when its NOTIFY arrives: the daemon's and Postgres' share of the latency
// (the rest is the API's fan-out and the clients). Its own process, so that parsing every
// notification disturbs neither the gateway's pacing nor the clients. IPC: `stats`, `report`.
import { LiveListener } from '@timed/db';

const url = process.env.BENCH_TAP_URL ?? '';
const all = new Map<number, number>();
const recent = new Map<number, number>();
let rows = 0;

const listener = new LiveListener({
  url,
  applicationName: 'timed-live-bench-tap',
  onEvent: (e) => {
    if (e.type !== 'states') return;
    const now = Date.now();
    for (const r of e.rows) {
      const ms = Math.max(0, now - r.lastTs);
      all.set(ms, (all.get(ms) ?? 0) + 1);
      recent.set(ms, (recent.get(ms) ?? 0) + 1);
      rows++;
    }
  },
});
await listener.start();
process.send?.({ type: 'ready' });

process.on('message', async (m: { type: string; reqId?: number }) => {
  if (m.type === 'stats') {
    const window = [...recent];
    recent.clear();
    process.send?.({ reqId: m.reqId, rows, latency: window });
  } else if (m.type === 'report') {
    process.send?.({ reqId: m.reqId, rows, latency: [...all] });
  } else if (m.type === 'exit') {
    await listener.close();
    process.exit(0);
  }
});
