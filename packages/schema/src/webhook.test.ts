import { describe, expect, it } from 'vitest';
import { describeIssues, WebhookPayload } from './index.js';

const valid = {
  script_version: '2.1.0',
  ticker: 'aapl',
  ts: '2024-01-01T00:00:00Z',
  price: 187.5,
  htf_score: 42.5,
  ltf_score: -12,
  state: 'Q1',
  momentum: { elite: true, score: 88 },
  custom_field: 'kept',
};

describe('WebhookPayload', () => {
  it('normalises ticker and timestamp and keeps unknown fields', () => {
    const p = WebhookPayload.parse(valid);
    expect(p.ticker).toBe('AAPL');
    expect(p.ts).toBe(1_704_067_200_000);
    expect(p.custom_field).toBe('kept');
    expect(p.momentum).toEqual({ elite: true, score: 88 });
  });

  it('accepts epoch milliseconds, epoch seconds and numeric strings', () => {
    expect(WebhookPayload.parse({ ...valid, ts: 1_704_067_200_000 }).ts).toBe(1_704_067_200_000);
    expect(WebhookPayload.parse({ ...valid, ts: 1_704_067_200 }).ts).toBe(1_704_067_200_000);
    expect(WebhookPayload.parse({ ...valid, ts: '1704067200000' }).ts).toBe(1_704_067_200_000);
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['missing script_version', { script_version: undefined }, 'script_version'],
    ['non-semver script_version', { script_version: '2.1' }, 'script_version'],
    ['missing ticker', { ticker: undefined }, 'ticker'],
    ['ticker with spaces', { ticker: 'AA PL' }, 'ticker'],
    ['ticker too long', { ticker: 'A'.repeat(40) }, 'ticker'],
    ['garbage timestamp', { ts: 'yesterday' }, 'ts'],
    ['timestamp from 1970', { ts: 5 }, 'ts'],
    ['negative price', { price: -1 }, 'price'],
    ['score out of range', { htf_score: 1e9 }, 'htf_score'],
    ['momentum without elite', { momentum: { score: 3 } }, 'momentum.elite'],
    ['empty state', { state: '' }, 'state'],
  ];
  for (const [label, patch, field] of bad) {
    it(`rejects ${label}, naming ${field}`, () => {
      const r = WebhookPayload.safeParse({ ...valid, ...patch });
      expect(r.success).toBe(false);
      expect(describeIssues(r.error!)).toMatch(
        new RegExp(`^${field.replace('.', '\\.')}: |; ${field.replace('.', '\\.')}: `),
      );
    });
  }
});
