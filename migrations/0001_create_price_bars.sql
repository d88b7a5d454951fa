-- price_bars as it was before the MBP-1 -> TRADES switch: one 1-minute bar per symbol and minute.
-- timestamp is the bar OPEN time (UTC, whole minute). Prices are exact numerics in dollars.
CREATE TABLE IF NOT EXISTS price_bars (
    symbol      VARCHAR(32)   NOT NULL,
    timestamp   TIMESTAMPTZ   NOT NULL,
    open        NUMERIC       NOT NULL,
    high        NUMERIC       NOT NULL,
    low         NUMERIC       NOT NULL,
    close       NUMERIC       NOT NULL,
    volume      BIGINT        NOT NULL DEFAULT 0,
    trade_count INTEGER       NOT NULL DEFAULT 0,
    CONSTRAINT price_bars_symbol_timestamp_key UNIQUE (symbol, timestamp)
);
