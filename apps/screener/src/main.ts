import { processEnv } from '@timed/schema/env';
import { main } from './cli/cli.js';

// Entry only wires: the CLI parses, runs and returns an exit code.
const code = await main({
  argv: process.argv.slice(2),
  env: processEnv(),
  stdout: process.stdout,
  stderr: process.stderr,
});
process.exit(code);
