// Response examples for the OpenAPI document: real answers of the API (requests in the README).

const bar = {
  timestamp: '2025-10-24T13:30:00.000Z',
  open: 259.02,
  high: 259.49,
  low: 258.91,
  close: 259.3,
  volume: 184230,
  trade_count: 2311,
  is_legacy: false,
  data_source: 'trades',
  vwap: 259.214783,
};

/** `GET /bars/AAPL?start=2025-10-24T13:30:00Z&end=2025-10-24T13:30:00Z` */
export const barsExamples = {
  examples: [{ symbol: 'AAPL', bars: [bar], next_cursor: null }],
};

/** `GET /bars?symbols=AAPL,MSFT&start=2025-10-24T13:30:00Z&end=2025-10-24T13:30:00Z` */
export const multiBarsExamples = {
  examples: [
    {
      bars: {
        AAPL: [bar],
        MSFT: [
          {
            ...bar,
            open: 520.5,
            high: 520.91,
            low: 520.1,
            close: 520.64,
            volume: 90120,
            trade_count: 1204,
            vwap: 520.48213,
          },
        ],
      },
      next_cursor: null,
    },
  ],
};
