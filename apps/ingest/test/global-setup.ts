import type { TestProject } from 'vitest/node';
import { startDiscordReceiver } from './discord-receiver.js';

declare module 'vitest' {
  export interface ProvidedContext {
    discordReceiverUrl: string;
  }
}

/** Starts the local Discord receiver the Worker's notices are sent to during tests. */
export default async function setup(project: TestProject) {
  const receiver = await startDiscordReceiver();
  project.provide('discordReceiverUrl', receiver.url);
  return async () => {
    await receiver.close();
  };
}
