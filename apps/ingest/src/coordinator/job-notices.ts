import { migrationMessage, purgeMessage, sendDiscordNotice } from '../notify/discord.js';
import type { PurgeJob } from './purge-job.js';

/** Posts the Discord notices of a finished job: one per migration it carried, one if manual. */
export async function sendJobNotices(
  url: string | undefined,
  job: PurgeJob,
  version: string | null,
  completedAt: number,
): Promise<void> {
  for (const m of job.migrations) {
    await sendDiscordNotice(
      url,
      migrationMessage({
        from: m.from,
        to: m.to,
        archiveKey: m.archiveKey,
        tickerCount: m.archive.tickerCount,
        deletedKeys: job.deletedKeys,
        startedAt: m.startedAt,
        completedAt,
      }),
      { notice: 'migration', from: m.from, to: m.to, archiveKey: m.archiveKey },
    );
  }
  if (job.reason === 'manual') {
    await sendDiscordNotice(
      url,
      purgeMessage({
        version,
        tickerCount: job.tickerCount,
        deletedKeys: job.deletedKeys,
        completedAt,
      }),
      { notice: 'purge', version },
    );
  }
}
