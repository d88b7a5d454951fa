import { readFile } from 'node:fs/promises';
import type { Options } from 'tsup';
import type { Plugin as VitePlugin } from 'vitest/config';
import wabtInit from 'wabt';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

// `.wat` imports (the trades scan) are compiled here, by the same wabt for the bundle (tsup) and
// for the tests (vitest): the module's bytes are inlined, no binary is committed.

let wabt: ReturnType<typeof wabtInit> | undefined;

/** Compiles the WebAssembly text at `path` to a validated binary module. */
export async function compileWat(path: string): Promise<Uint8Array> {
  wabt ??= wabtInit();
  const text = await readFile(path, 'utf8');
  const module = (await wabt).parseWat(path, text);
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** tsup/esbuild: a `.wat` import is its compiled bytes (esbuild's binary loader: a Uint8Array). */
export function watEsbuildPlugin(): EsbuildPlugin {
  return {
    name: 'wat',
    setup(build) {
      build.onLoad({ filter: /\.wat$/ }, async (args) => ({
        contents: await compileWat(args.path),
        loader: 'binary',
      }));
    },
  };
}

/** vitest/vite: the same, as a module whose default export is the bytes. */
export function watVitePlugin(): VitePlugin {
  return {
    name: 'wat',
    enforce: 'pre',
    async load(id) {
      const path = id.split('?')[0]!;
      if (!path.endsWith('.wat')) return null;
      this.addWatchFile(path);
      const base64 = Buffer.from(await compileWat(path)).toString('base64');
      return `export default Uint8Array.from(atob(${JSON.stringify(base64)}), (c) => c.charCodeAt(0));`;
    },
  };
}
