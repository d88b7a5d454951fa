import type { RawEnv } from '../src/env.js';

declare global {
  namespace Cloudflare {
    interface Env extends RawEnv {}
  }
}
