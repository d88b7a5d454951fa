// Live part of the dashboard: one EventSource on /stream for the charted symbol (price line, open
// candle) and the leaderboard panel (gainers, losers, most active), all without reloading.

/** A bar as `event: bar` carries it. */
export interface LiveBar {
  symbol: string;
  timestamp: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  is_legacy: boolean;
  final: boolean;
}

interface LivePrice {
  symbol: string;
  price: number;
  pct_from_yesterday: number | null;
  timestamp: string;
  volume: number;
  vwap: number | null;
  prev_close: number | null;
}

interface LeaderboardRow {
  rank: number;
  symbol: string;
  price: number;
  pct_from_yesterday: number | null;
  volume: number;
  trade_count: number;
  state?: string | null;
  htf_score?: number | null;
  ltf_score?: number | null;
}

interface LeaderboardBody {
  as_of: string;
  rows: LeaderboardRow[];
}

type Board = 'up' | 'down' | 'volume';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const priceLine = $<HTMLParagraphElement>('live-price');
const boardTable = $<HTMLTableElement>('leaderboard-table');
const boardNote = $<HTMLSpanElement>('leaderboard-as-of');
const tabs = [...document.querySelectorAll<HTMLButtonElement>('#leaderboard [data-board]')];

const fmt = (n: number, digits = 2) =>
  n.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pctText = (p: number | null) => (p === null ? '—' : `${p >= 0 ? '+' : ''}${fmt(p)}%`);
const pctClass = (p: number | null) => (p === null ? '' : p >= 0 ? 'pass' : 'fail');

function showPrice(p: LivePrice): void {
  priceLine.hidden = false;
  priceLine.dataset.price = String(p.price);
  priceLine.dataset.pct = p.pct_from_yesterday === null ? '' : String(p.pct_from_yesterday);
  priceLine.replaceChildren();
  const part = (text: string, className = '') => {
    const span = document.createElement('span');
    span.textContent = text;
    if (className) span.className = className;
    priceLine.append(span);
  };
  part(p.symbol, 'symbol');
  part(fmt(p.price, p.price < 1 ? 4 : 2), 'price');
  part(pctText(p.pct_from_yesterday), `pct ${pctClass(p.pct_from_yesterday)}`);
  part(
    `prev close ${p.prev_close === null ? '—' : fmt(p.prev_close)} · volume ${p.volume.toLocaleString()}` +
      `${p.vwap === null ? '' : ` · VWAP ${fmt(p.vwap)}`} · ${new Date(p.timestamp).toLocaleTimeString()}`,
    'muted',
  );
}

function showBoard(body: LeaderboardBody, onPick: (symbol: string) => void): void {
  const tbody = boardTable.tBodies[0]!;
  tbody.replaceChildren();
  for (const r of body.rows) {
    const row = tbody.insertRow();
    row.dataset.symbol = r.symbol;
    row.tabIndex = 0;
    row.title = `Chart ${r.symbol}`;
    const cells: [string, string?][] = [
      [String(r.rank)],
      [r.symbol],
      [fmt(r.price)],
      [pctText(r.pct_from_yesterday), pctClass(r.pct_from_yesterday)],
      [r.volume.toLocaleString(), 'volume'],
      [r.trade_count.toLocaleString()],
      [r.state ?? '—'],
      [r.htf_score === null || r.htf_score === undefined ? '—' : fmt(r.htf_score, 1)],
      [r.ltf_score === null || r.ltf_score === undefined ? '—' : fmt(r.ltf_score, 1)],
    ];
    for (const [text, className] of cells) {
      const td = row.insertCell();
      td.textContent = text;
      if (className) td.className = className;
    }
    row.addEventListener('click', () => onPick(r.symbol));
    row.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') onPick(r.symbol);
    });
  }
  boardTable.dataset.rows = String(body.rows.length);
  boardNote.textContent = body.rows.length
    ? `as of ${new Date(body.as_of).toLocaleTimeString()}`
    : 'no live data yet';
}

/**
 * Follows `symbol` and the chosen leaderboard over /stream (EventSource reconnects by itself and
 * sends Last-Event-ID, so closed bars missed meanwhile arrive). `onBar` gets the charted symbol's
 * bars; `onPick` a symbol clicked in the leaderboard.
 */
export class LiveView {
  private source: EventSource | undefined;
  private symbol = '';
  private board: Board = 'up';
  private volumeFetch: Promise<void> | undefined;

  constructor(
    private readonly onBar: (bar: LiveBar) => void,
    private readonly onPick: (symbol: string) => void,
  ) {
    for (const tab of tabs) {
      tab.addEventListener('click', () => {
        this.board = tab.dataset.board as Board;
        this.connect();
      });
    }
  }

  /** (Re)connects for `symbol`. */
  follow(symbol: string): void {
    this.symbol = symbol.trim().toUpperCase();
    this.connect();
  }

  private connect(): void {
    this.source?.close();
    priceLine.hidden = true;
    for (const tab of tabs)
      tab.setAttribute('aria-pressed', String(tab.dataset.board === this.board));
    if (!/^[A-Z0-9][A-Z0-9._/-]{0,31}$/.test(this.symbol)) return;
    // Most active has no stream of its own: the gainers' events say when to fetch it again.
    const q = new URLSearchParams({
      symbols: this.symbol,
      leaderboard: this.board === 'down' ? 'down' : 'up',
    });
    const source = new EventSource(`/stream?${q}`);
    this.source = source;
    document.body.dataset.stream = 'connecting';
    source.onopen = () => {
      document.body.dataset.stream = 'open';
    };
    source.onerror = () => {
      document.body.dataset.stream = 'reconnecting';
    };
    source.addEventListener('price', (e) => showPrice(JSON.parse((e as MessageEvent).data)));
    source.addEventListener('bar', (e) => {
      const bar = JSON.parse((e as MessageEvent).data) as LiveBar;
      if (bar.symbol === this.symbol) this.onBar(bar);
    });
    source.addEventListener('leaderboard', (e) => {
      if (this.board === 'volume') void this.fetchMostActive();
      else showBoard(JSON.parse((e as MessageEvent).data), this.onPick);
    });
    if (this.board === 'volume') void this.fetchMostActive();
  }

  private fetchMostActive(): Promise<void> {
    this.volumeFetch ??= fetch('/leaderboard?sort=volume&direction=up&limit=20')
      .then(async (res) => {
        if (res.ok && this.board === 'volume') showBoard(await res.json(), this.onPick);
      })
      .catch(() => {})
      .finally(() => {
        this.volumeFetch = undefined;
      });
    return this.volumeFetch;
  }
}
