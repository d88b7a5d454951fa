-- One heartbeat row per screener process: who runs, on what, and how it is doing. The API's
-- /health and /migration/status read it (alive = stopped_at IS NULL and last_seen recent).
CREATE TABLE IF NOT EXISTS screener_instances (
    instance_id   TEXT PRIMARY KEY,
    host          TEXT        NOT NULL,
    pid           INTEGER     NOT NULL,
    dataset       TEXT        NOT NULL,
    schema        TEXT        NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen     TIMESTAMPTZ NOT NULL DEFAULT now(),
    trades_seen   BIGINT      NOT NULL DEFAULT 0,
    bars_written  BIGINT      NOT NULL DEFAULT 0,
    errors        BIGINT      NOT NULL DEFAULT 0,
    last_error    TEXT,
    last_error_at TIMESTAMPTZ,
    stopped_at    TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_screener_instances_seen ON screener_instances (dataset, schema, last_seen);
