/** How much an event matters to the operator reading the Worker's logs. */
export type LogLevel = 'info' | 'warn' | 'error';

/**
 * Writes one decision or failure as one JSON line (`{ level, event, ...fields }`), the form
 * Cloudflare's log viewers filter on. Callers pass explicit fields: never a request URL or
 * anything else that could carry the API key.
 */
export function logEvent(
  level: LogLevel,
  event: string,
  fields: Record<string, unknown> = {},
): void {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

/** The message of an error (and its cause), for a log line; never a stack. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}
