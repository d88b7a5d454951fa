import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dbnDir, expectedFiles, needFixtures, packageDir } from './testing/fixtures.js';

const cli = join(packageDir, 'dist', 'cli.js');

function run(
  args: string[],
  stdin?: Uint8Array,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'pipe' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    child.stdin.end(stdin);
  });
}

describe.skipIf(!needFixtures('timed-dbn on fixtures'))('timed-dbn --json', () => {
  for (const f of expectedFiles()) {
    it(`prints ${f.file} as expected.json says`, async () => {
      const { code, out, err } = await run([join(dbnDir, f.file), '--json']);
      expect(err).toBe('');
      expect(code).toBe(0);
      const lines = out
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const [md, ...records] = lines;
      for (const [k, v] of Object.entries(f.metadata)) expect(md![k]).toEqual(v);
      expect(records).toHaveLength(f.record_count);
      records.forEach((rec, i) => {
        const want = f.records[i]!;
        const fields =
          rec.kind === 'RawRecord' ? ['rtype', 'instrument_id', 'ts_event'] : Object.keys(want);
        for (const k of fields) if (!k.startsWith('_')) expect([k, rec[k]]).toEqual([k, want[k]]);
      });
      if (f.file.includes('trades')) expect(records[0]!.symbol).toBe('ESH1');
    });
  }

  it('reads stdin with - and honours --limit', async () => {
    const bytes = readFileSync(join(dbnDir, 'test_data.live.dbn.zst'));
    const { code, out } = await run(['-', '--json', '--limit', '3'], bytes);
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[1]!)).toMatchObject({ kind: 'SymbolMappingMsg', symbol: 'ESZ4' });
  });

  it('prints a readable line per record without --json', async () => {
    const { code, out } = await run([join(dbnDir, 'test_data.trades.dbn')]);
    expect(code).toBe(0);
    expect(out).toContain(
      'TradeMsg 2020-12-28T13:00:00.098821953Z ESH1 price=3720.250000000 size=5',
    );
  });

  it('exits non-zero with one clear line on corrupt input', async () => {
    const bytes = readFileSync(join(dbnDir, 'test_data.trades.dbn')).subarray(0, 380);
    const { code, out, err } = await run(['-'], bytes);
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toEqual([
      'timed-dbn: error: TRUNCATED_RECORD: input ended inside a record (27 of 48 bytes) (at byte 353)',
    ]);
    expect(out).toContain('"metadata"');
  });
});

describe('timed-dbn usage', () => {
  it('exits 2 on bad arguments and 1 on a missing file', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['x', '--limit', 'z'])).code).toBe(2);
    const missing = await run(['/nonexistent.dbn']);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('timed-dbn: error: no such file: /nonexistent.dbn\n');
  });
});
