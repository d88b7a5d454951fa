// The trader's dashboard: bars of one symbol as candlesticks with a volume histogram
// (lightweight-charts, bundled locally), its live price and open candle, the leaderboard, and the
// live migration-status panel.
import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  type UTCTimestamp,
} from 'lightweight-charts';
import { type LiveBar, LiveView } from './live.js';

interface Bar {
  timestamp: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trade_count: number;
  is_legacy: boolean;
  data_source: string;
}

interface Criterion {
  id: string;
  description: string;
  value: number | null;
  target: string;
  pass: boolean;
}

const COLORS = {
  up: '#26a69a',
  down: '#ef5350',
  legacy: '#f0b429',
  upVolume: 'rgba(38, 166, 154, 0.45)',
  downVolume: 'rgba(239, 83, 80, 0.45)',
  legacyVolume: 'rgba(240, 180, 41, 0.45)',
};
/** Most bars one view loads (pages of PAGE bars). */
const MAX_BARS = 20_000;
const PAGE = 5_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('controls');
const symbolInput = $<HTMLInputElement>('symbol');
const startInput = $<HTMLInputElement>('start');
const endInput = $<HTMLInputElement>('end');
const intervalInput = $<HTMLSelectElement>('interval');
const legacyInput = $<HTMLInputElement>('legacy');
const errorBox = $<HTMLParagraphElement>('error');
const summary = $<HTMLParagraphElement>('summary');
const chartBox = $<HTMLDivElement>('chart');

const chart = createChart(chartBox, {
  autoSize: true,
  layout: { background: { type: ColorType.Solid, color: '#171a21' }, textColor: '#8a909c' },
  grid: { vertLines: { color: '#1f232b' }, horzLines: { color: '#1f232b' } },
  timeScale: { timeVisible: true, secondsVisible: false },
});
const candles = chart.addSeries(CandlestickSeries, {
  upColor: COLORS.up,
  downColor: COLORS.down,
  wickUpColor: COLORS.up,
  wickDownColor: COLORS.down,
  borderVisible: false,
});
const volume = chart.addSeries(HistogramSeries, {
  priceFormat: { type: 'volume' },
  priceScaleId: '',
  lastValueVisible: false,
  priceLineVisible: false,
});
volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });

class ApiProblem extends Error {}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => null)) as
    | (T & { error?: { code: string; message: string } })
    | null;
  if (!res.ok) {
    throw new ApiProblem(body?.error?.message ?? `${res.status} ${res.statusText} from ${url}`);
  }
  return body as T;
}

async function fetchBars(params: URLSearchParams): Promise<{ bars: Bar[]; truncated: boolean }> {
  const bars: Bar[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams(params);
    q.set('limit', String(PAGE));
    if (cursor) q.set('cursor', cursor);
    const symbol = encodeURIComponent(params.get('symbol') ?? '');
    q.delete('symbol');
    const page: { bars: Bar[]; next_cursor: string | null } = await getJson(`/bars/${symbol}?${q}`);
    bars.push(...page.bars);
    cursor = page.next_cursor;
  } while (cursor && bars.length < MAX_BARS);
  return { bars, truncated: cursor !== null };
}

function draw(bars: Bar[]): void {
  const time = (b: Bar) => Math.floor(Date.parse(b.timestamp) / 1000) as UTCTimestamp;
  candles.setData(
    bars.map((b) =>
      b.is_legacy
        ? {
            time: time(b),
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            color: COLORS.legacy,
            wickColor: COLORS.legacy,
            borderColor: COLORS.legacy,
          }
        : { time: time(b), open: b.open, high: b.high, low: b.low, close: b.close },
    ),
  );
  volume.setData(
    bars.map((b) => ({
      time: time(b),
      value: b.volume,
      color: b.is_legacy
        ? COLORS.legacyVolume
        : b.close >= b.open
          ? COLORS.upVolume
          : COLORS.downVolume,
    })),
  );
  chart.timeScale().fitContent();
  chartBox.dataset.bars = String(bars.length);
  chartBox.dataset.legacyBars = String(bars.filter((b) => b.is_legacy).length);
}

/** Moves the chart's open candle and volume bar (or adds the next minute) as live bars arrive. */
function drawLive(bar: LiveBar): void {
  if (intervalInput.value !== '1m' || document.body.dataset.state !== 'ready') return;
  const time = Math.floor(Date.parse(bar.timestamp) / 1000) as UTCTimestamp;
  try {
    candles.update({ time, open: bar.open, high: bar.high, low: bar.low, close: bar.close });
    volume.update({
      time,
      value: bar.volume,
      color: bar.close >= bar.open ? COLORS.upVolume : COLORS.downVolume,
    });
  } catch {
    // A bar older than the chart's last one (a resumed stream): the loaded range already has it.
    return;
  }
  chartBox.dataset.openTime = bar.timestamp;
  chartBox.dataset.openClose = String(bar.close);
  chartBox.dataset.openVolume = String(bar.volume);
}

const live = new LiveView(drawLive, (symbol) => {
  symbolInput.value = symbol;
  void load();
  live.follow(symbol);
});

function showError(message: string | null): void {
  errorBox.hidden = message === null;
  errorBox.textContent = message ?? '';
}

function currentParams(): URLSearchParams {
  const p = new URLSearchParams();
  p.set('symbol', symbolInput.value.trim());
  if (startInput.value) p.set('start', startInput.value);
  if (endInput.value) p.set('end', endInput.value);
  p.set('interval', intervalInput.value);
  p.set('include_legacy', legacyInput.checked ? 'true' : 'false');
  return p;
}

async function load(): Promise<void> {
  const params = currentParams();
  history.replaceState(null, '', `?${params}`);
  document.body.dataset.state = 'loading';
  summary.textContent = 'Loading…';
  try {
    const { bars, truncated } = await fetchBars(params);
    draw(bars);
    showError(null);
    const legacy = bars.filter((b) => b.is_legacy).length;
    summary.textContent =
      bars.length === 0
        ? `No bars for ${params.get('symbol')?.toUpperCase()} in this range.`
        : `${bars.length.toLocaleString()} ${params.get('interval')} bars of ${bars.length ? params.get('symbol')?.toUpperCase() : ''}` +
          `${legacy ? `, ${legacy.toLocaleString()} legacy` : ''}` +
          `${truncated ? ` (first ${MAX_BARS.toLocaleString()} only: narrow the range)` : ''}.`;
    document.body.dataset.state = 'ready';
  } catch (err) {
    draw([]);
    summary.textContent = '';
    showError(err instanceof Error ? err.message : String(err));
    document.body.dataset.state = 'error';
  }
}

function cell(row: HTMLTableRowElement, text: string, className?: string): void {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
}

async function loadMigration(): Promise<void> {
  const verdict = $<HTMLSpanElement>('migration-verdict');
  try {
    const status = await getJson<{
      passed: boolean;
      criteria: Criterion[];
      counts: {
        data_source: string | null;
        is_legacy: boolean | null;
        bar_count: number;
        total_volume: number | null;
        first_bar: string | null;
        last_bar: string | null;
      }[];
    }>('/migration/status');
    verdict.textContent = status.passed ? '✔ ready for cleanup' : '✘ not ready';
    verdict.className = status.passed ? 'pass' : 'fail';
    const body = $<HTMLTableElement>('criteria').tBodies[0]!;
    body.replaceChildren();
    for (const c of status.criteria) {
      const row = body.insertRow();
      row.dataset.id = c.id;
      cell(row, c.description);
      cell(row, c.value === null ? '—' : c.value.toLocaleString());
      cell(row, c.target);
      cell(row, c.pass ? '✔ pass' : '✘ fail', c.pass ? 'pass' : 'fail');
    }
    const counts = $<HTMLTableElement>('counts').tBodies[0]!;
    counts.replaceChildren();
    for (const r of status.counts) {
      const row = counts.insertRow();
      cell(row, r.data_source ?? 'null');
      cell(row, String(r.is_legacy));
      cell(row, r.bar_count.toLocaleString());
      cell(row, (r.total_volume ?? 0).toLocaleString());
      cell(row, r.first_bar ?? '—');
      cell(row, r.last_bar ?? '—');
    }
    document.body.dataset.migration = 'ready';
  } catch (err) {
    verdict.textContent = `unavailable: ${err instanceof Error ? err.message : String(err)}`;
    verdict.className = 'fail';
    document.body.dataset.migration = 'error';
  }
}

/** Without a range in the URL, show the last days up to the newest bar the database holds. */
async function defaultRange(): Promise<void> {
  try {
    const health = await getJson<{ newest_bars: { newest_bar: string | null }[] }>('/health');
    const newest = health.newest_bars
      .map((n) => (n.newest_bar ? Date.parse(n.newest_bar) : 0))
      .reduce((a, b) => Math.max(a, b), 0);
    const end = newest || Date.now();
    endInput.value = new Date(end).toISOString().slice(0, 10);
    startInput.value = new Date(end - 4 * 86_400_000).toISOString().slice(0, 10);
  } catch {
    // Health unreachable: leave the range open; the bars request reports the problem.
  }
}

async function init(): Promise<void> {
  const url = new URLSearchParams(location.search);
  symbolInput.value = url.get('symbol') ?? 'AAPL';
  startInput.value = url.get('start') ?? '';
  endInput.value = url.get('end') ?? '';
  intervalInput.value = url.get('interval') ?? '1m';
  legacyInput.checked = ['true', '1'].includes(url.get('include_legacy') ?? '');
  if (!url.has('start') && !url.has('end')) await defaultRange();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
    live.follow(symbolInput.value);
  });
  legacyInput.addEventListener('change', () => void load());
  intervalInput.addEventListener('change', () => void load());
  await Promise.all([load(), loadMigration()]);
  live.follow(symbolInput.value);
}

void init();
