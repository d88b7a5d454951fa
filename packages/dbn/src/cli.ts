import { createReadStream } from 'node:fs';
import { DbnError } from './errors.js';
import { priceToDecimal } from './fields.js';
import { metadataToJson, recordToJson } from './json.js';
import { decodeStream } from './read.js';
import type { DbnRecord } from './records.js';

const USAGE = 'usage: timed-dbn FILE|- [--json] [--limit N]';

interface Args {
  file: string;
  json: boolean;
  limit: number;
}

function parseArgs(argv: string[]): Args {
  let file: string | undefined;
  let json = false;
  let limit = Number.POSITIVE_INFINITY;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') json = true;
    else if (a === '--limit') {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) throw new UsageError('--limit needs a whole number');
      limit = Number(v);
    } else if (a === '-h' || a === '--help') throw new UsageError('');
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (file === undefined) throw new UsageError('missing FILE');
  return { file, json, limit };
}

class UsageError extends Error {}

function isoNs(ts: bigint): string {
  if (ts === 18446744073709551615n) return 'UNDEF';
  const ms = Number(ts / 1_000_000n);
  const ns = (ts % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${ns}Z`;
}

function text(rec: DbnRecord, symbol: string | undefined): string {
  const head = `${rec.kind} ${isoNs(rec.ts_event)} ${symbol ?? `#${rec.instrument_id}`}`;
  switch (rec.kind) {
    case 'TradeMsg':
      return `${head} price=${priceToDecimal(rec.price)} size=${rec.size} side=${rec.side}`;
    case 'Mbp1Msg': {
      const l = rec.levels[0];
      return `${head} ${rec.action}${rec.side} bid=${priceToDecimal(l.bid_px)}x${l.bid_sz} ask=${priceToDecimal(l.ask_px)}x${l.ask_sz}`;
    }
    case 'OhlcvMsg':
      return `${head} o=${priceToDecimal(rec.open)} h=${priceToDecimal(rec.high)} l=${priceToDecimal(rec.low)} c=${priceToDecimal(rec.close)} v=${rec.volume}`;
    case 'SymbolMappingMsg':
      return `${head} ${rec.stype_in_symbol} -> ${rec.stype_out_symbol}`;
    case 'SystemMsg':
      return `${head} code=${rec.code ?? '-'} ${rec.msg}`;
    case 'ErrorMsg':
      return `${head} code=${rec.code ?? '-'} ${rec.err}`;
    default:
      return `${head} rtype=0x${rec.rtype.toString(16)} size=${rec.length * 4}`;
  }
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    const msg = (err as Error).message;
    process.stderr.write(msg ? `timed-dbn: ${msg}\n${USAGE}\n` : `${USAGE}\n`);
    return msg ? 2 : 0;
  }
  const source =
    args.file === '-' ? process.stdin : createReadStream(args.file, { highWaterMark: 1 << 20 });
  const stream = decodeStream(source);
  const out: string[] = [];
  const flush = async (): Promise<void> => {
    if (out.length === 0) return;
    const chunk = `${out.join('\n')}\n`;
    out.length = 0;
    if (!process.stdout.write(chunk)) {
      await new Promise<void>((res) => process.stdout.once('drain', res));
    }
  };
  let n = 0;
  let printedMeta = false;
  const printMeta = (): void => {
    const md = stream.decoder.metadata;
    if (printedMeta || !md) return;
    printedMeta = true;
    out.push(JSON.stringify(args.json ? metadataToJson(md) : { metadata: metadataToJson(md) }));
  };
  try {
    if (args.limit > 0) {
      for await (const rec of stream) {
        printMeta();
        const symbol = stream.symbols.get(rec.instrument_id, rec.ts_event);
        out.push(args.json ? JSON.stringify(recordToJson(rec, symbol)) : text(rec, symbol));
        if (out.length >= 512) await flush();
        if (++n >= args.limit) break;
      }
    } else {
      // Decode just far enough for the metadata.
      for await (const _ of stream) break;
    }
  } finally {
    // Whatever decoded before an error is still printed, then the error line.
    printMeta();
    await flush();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const msg =
      err instanceof DbnError
        ? `${err.code}: ${err.message}`
        : (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? `no such file: ${(err as NodeJS.ErrnoException).path}`
          : (err as Error).message;
    process.stderr.write(`timed-dbn: error: ${msg}\n`);
    process.exitCode = 1;
  },
);

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
