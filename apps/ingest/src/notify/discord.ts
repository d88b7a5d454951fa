import { TimedError } from '@timed/schema/errors';
import { logEvent } from '../log.js';

/** A Discord webhook message (the subset we send). */
export interface DiscordMessage {
  username: string;
  content: string;
  embeds: {
    title: string;
    color: number;
    fields: { name: string; value: string; inline?: boolean }[];
    timestamp: string;
  }[];
}

/** Facts of a finished migration, for the notice. */
export interface MigrationNotice {
  from: string;
  to: string;
  archiveKey: string;
  tickerCount: number;
  deletedKeys: number;
  startedAt: number;
  completedAt: number;
}

/** Facts of a finished manual purge, for the notice. */
export interface PurgeNotice {
  version: string | null;
  tickerCount: number;
  deletedKeys: number;
  completedAt: number;
}

/** Builds the message posted when a migration has archived and purged the old version's data. */
export function migrationMessage(n: MigrationNotice): DiscordMessage {
  const seconds = ((n.completedAt - n.startedAt) / 1000).toFixed(1);
  return {
    username: 'timed ingest',
    content: `Data migration ${n.from} → ${n.to} complete: ${n.tickerCount} tickers archived, ${n.deletedKeys} keys purged.`,
    embeds: [
      {
        title: `Data version ${n.from} → ${n.to}`,
        color: 0x2e86de,
        fields: [
          { name: 'From', value: n.from, inline: true },
          { name: 'To', value: n.to, inline: true },
          { name: 'Tickers archived', value: String(n.tickerCount), inline: true },
          { name: 'Keys purged', value: String(n.deletedKeys), inline: true },
          { name: 'Took', value: `${seconds} s`, inline: true },
          { name: 'Archive', value: `\`${n.archiveKey}\`` },
        ],
        timestamp: new Date(n.completedAt).toISOString(),
      },
    ],
  };
}

/** Builds the message posted when a manual purge has finished. */
export function purgeMessage(n: PurgeNotice): DiscordMessage {
  return {
    username: 'timed ingest',
    content: `Manual purge complete: ${n.tickerCount} tickers, ${n.deletedKeys} keys deleted (data version ${n.version ?? 'unset'}).`,
    embeds: [
      {
        title: 'Manual purge',
        color: 0xe67e22,
        fields: [
          { name: 'Data version', value: n.version ?? 'unset', inline: true },
          { name: 'Tickers', value: String(n.tickerCount), inline: true },
          { name: 'Keys deleted', value: String(n.deletedKeys), inline: true },
        ],
        timestamp: new Date(n.completedAt).toISOString(),
      },
    ],
  };
}

/** Why a notice was not delivered. */
export class DiscordNoticeError extends TimedError<'DISCORD_NOTICE_FAILED'> {
  override readonly name = 'DiscordNoticeError';
  constructor(
    message: string,
    override readonly context: { status?: number } = {},
    options?: { cause?: unknown },
  ) {
    super('DISCORD_NOTICE_FAILED', message, context, options);
  }

  /** Discord's HTTP status, when it answered. */
  get status(): number | undefined {
    return this.context.status;
  }
}

/** How long a notice may take before it counts as failed. */
export const DISCORD_TIMEOUT_MS = 5_000;

/**
 * Posts a message to a Discord webhook. Never throws: a failure (error status, network error,
 * timeout) is logged with `context` (what the notice was about) and returned, because a notice
 * must never fail the work it reports on. The webhook URL holds a token: it is never logged.
 */
export async function sendDiscordNotice(
  url: string | undefined,
  message: DiscordMessage,
  context: Record<string, unknown> = {},
  options: { fetcher?: typeof fetch; timeoutMs?: number } = {},
): Promise<{ sent: boolean; error?: DiscordNoticeError }> {
  if (!url) return { sent: false };
  const timeoutMs = options.timeoutMs ?? DISCORD_TIMEOUT_MS;
  try {
    const res = await (options.fetcher ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Drain the body so the connection is released.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok)
      throw new DiscordNoticeError(`Discord answered ${res.status}`, { status: res.status });
    return { sent: true };
  } catch (cause) {
    const error =
      cause instanceof DiscordNoticeError
        ? cause
        : new DiscordNoticeError('Discord webhook request failed', {}, { cause });
    const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
    logEvent('error', 'discord_notice_failed', {
      ...context,
      code: error.code,
      status: error.status ?? null,
      timedOut,
      ...(timedOut ? { timeoutMs } : {}),
      cause: (cause instanceof Error ? cause.message : String(cause)).replaceAll(url, '<webhook>'),
    });
    return { sent: false, error };
  }
}
