-- Live state published by the screener (issue 15): the latest figures per symbol for the current US
-- session day, and the open minute's provisional bar. Notifications (LISTEN/NOTIFY, channel
-- timed_live) carry the same rows as they change; this table is what an API replica reads when it
-- starts or its LISTEN connection comes back, so a lost notification costs nothing.
-- Prices are double precision: these are display figures (the exact bars are in price_bars).
CREATE TABLE IF NOT EXISTS live_state (
    symbol          VARCHAR(32)      PRIMARY KEY,
    -- The publisher's monotonic version (microseconds of wall clock): a row is replaced only by a
    -- newer one, so a late snapshot write never undoes a newer notification.
    version         BIGINT           NOT NULL,
    -- US session day (America/New_York, starting 04:00) the day figures belong to.
    session_day     DATE             NOT NULL,
    price           DOUBLE PRECISION NOT NULL,
    bid             DOUBLE PRECISION NOT NULL,
    ask             DOUBLE PRECISION NOT NULL,
    last_size       BIGINT           NOT NULL DEFAULT 0,
    -- ts_recv of the last trade (or quote, mbp-1).
    last_ts         TIMESTAMPTZ      NOT NULL,
    day_open        DOUBLE PRECISION NOT NULL,
    day_high        DOUBLE PRECISION NOT NULL,
    day_low         DOUBLE PRECISION NOT NULL,
    volume          BIGINT           NOT NULL DEFAULT 0,
    trade_count     INTEGER          NOT NULL DEFAULT 0,
    vwap            DOUBLE PRECISION,
    prev_close      DOUBLE PRECISION,
    -- The open minute's bar as it stands (provisional; the closed bar is written to price_bars).
    bar_timestamp   TIMESTAMPTZ,
    bar_open        DOUBLE PRECISION,
    bar_high        DOUBLE PRECISION,
    bar_low         DOUBLE PRECISION,
    bar_close       DOUBLE PRECISION,
    bar_volume      BIGINT,
    bar_trade_count INTEGER,
    bar_vwap        DOUBLE PRECISION,
    updated_at      TIMESTAMPTZ      NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_live_state_session_day ON live_state (session_day);

-- Per feed, the open time of the latest minute whose bars are all in price_bars: bars at or before
-- it are final. A replica that missed notifications reads closed bars after its own mark up to it.
CREATE TABLE IF NOT EXISTS live_feed (
    feed           TEXT        PRIMARY KEY,
    closed_through TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
