import { mulberry32 as prng } from '@timed/dbn/prng';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, alert, freshStart, ingest, KvRecorder, settle, status } from './helpers.js';

interface Case {
  kind: string;
  body: string;
  key?: string | null;
  contentType?: string;
  status: number;
  /** A field the 400 message must name. */
  field?: string;
}

const BAD_FIELDS: [string, unknown[]][] = [
  ['script_version', ['2.1', 'v2.1.0', '2.1.0.0', '', 2.1, null, '02.1.0', 'latest', '2.1.x', []]],
  ['ticker', ['', ' ', 'AA PL', 'ÄPFEL', 'A'.repeat(40), 123, null, '$$$', '-AAPL', {}]],
  ['ts', ['yesterday', -1, 0, 1e20, '1999-01-01T00:00:00Z', true, null, {}, '', 'NaN']],
  ['price', [-1, 0, 'abc', null, [], '1e3']],
  ['score', [5000, -5000, 'high', {}]],
  ['htf_score', ['x', true, 1001]],
  ['ltf_score', [null, '1', -1001]],
  ['state', ['', 'x'.repeat(40), 5, []]],
  ['momentum', [5, 'elite', null, { elite: 'yes' }, { elite: true, rank: -1 }, { score: 1 }]],
  ['exchange', ['x'.repeat(50), 1]],
  ['interval', [123, 'x'.repeat(20)]],
];

function makeCases(count: number): Case[] {
  const rand = prng(20240101);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const valid = () => alert(`F${Math.floor(rand() * 1000)}`, '2.2.0');
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    switch (i % 10) {
      case 0: {
        const len = 1 + Math.floor(rand() * 200);
        let s = '';
        for (let j = 0; j < len; j++) s += String.fromCharCode(Math.floor(rand() * 0xffff));
        cases.push({ kind: 'random text', body: `{${s}`, status: 400 });
        break;
      }
      case 1: {
        const text = JSON.stringify(valid());
        cases.push({
          kind: 'truncated',
          body: text.slice(0, Math.floor(rand() * (text.length - 1))),
          status: 400,
        });
        break;
      }
      case 2:
        cases.push({
          kind: 'not an object',
          body: pick(['42', '"x"', 'null', 'true', '[]', JSON.stringify([valid()]), '   ', '']),
          status: 400,
        });
        break;
      case 3: {
        const v = valid() as Record<string, unknown>;
        const field = pick(['script_version', 'ticker', 'ts']);
        delete v[field];
        cases.push({ kind: 'missing field', body: JSON.stringify(v), status: 400, field });
        break;
      }
      case 4:
      case 5:
      case 6: {
        const [field, values] = pick(BAD_FIELDS);
        const v = { ...valid(), [field]: pick(values) };
        cases.push({ kind: `bad ${field}`, body: JSON.stringify(v), status: 400, field });
        break;
      }
      case 7: {
        const pad = 64 * 1024 + Math.floor(rand() * 4096);
        cases.push({
          kind: 'too large',
          body: JSON.stringify({ ...valid(), pad: 'x'.repeat(pad) }),
          status: 413,
        });
        break;
      }
      case 8:
        cases.push({
          kind: 'wrong key',
          body: JSON.stringify(valid()),
          key: pick([`${API_KEY}x`, API_KEY.slice(0, -1), 'x', API_KEY.toUpperCase()]),
          status: 401,
        });
        break;
      default:
        cases.push({
          kind: 'no key',
          body: JSON.stringify(valid()),
          key: pick([null, '']),
          contentType: 'text/plain',
          status: 401,
        });
    }
  }
  return cases;
}

describe('1,000 fuzzed malformed requests', () => {
  const cases = makeCases(1_000);
  const results: {
    c: Case;
    status: number;
    body: { error?: { code: string; message: string } };
  }[] = [];
  let recorder: KvRecorder;

  beforeAll(async () => {
    await freshStart();
    recorder = new KvRecorder().install();
    for (let i = 0; i < cases.length; i += 25) {
      const batch = cases.slice(i, i + 25);
      const responses = await Promise.all(
        batch.map((c) =>
          ingest(c.body, {
            ...(c.key !== undefined ? { key: c.key } : {}),
            ...(c.contentType ? { contentType: c.contentType } : {}),
          }),
        ),
      );
      for (const [j, res] of responses.entries()) {
        results.push({ c: batch[j]!, status: res.status, body: (await res.json()) as never });
      }
    }
    await settle();
  });

  it('answers every one with the expected 4xx and the error shape', () => {
    expect(results).toHaveLength(1_000);
    for (const r of results) {
      expect(r.status, `${r.c.kind}: ${r.c.body.slice(0, 120)}`).toBe(r.c.status);
      expect(r.body.error?.code, r.c.kind).toMatch(/^[A-Z_]+$/);
    }
  });

  it('names the offending field (or says the body is not JSON)', () => {
    for (const r of results) {
      if (r.c.field) expect(r.body.error?.message, r.c.kind).toContain(r.c.field);
      if (r.c.kind === 'random text' || r.c.kind === 'truncated') {
        expect(r.body.error?.message).toContain('body is not JSON');
      }
    }
  });

  it('stores nothing: zero KV writes and no data version', async () => {
    expect(recorder.writes()).toEqual([]);
    expect((await status()).stored).toBeNull();
  });
});
