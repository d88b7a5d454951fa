-- Volume-weighted average price per bar: sum(price x size) / sum(size) over the bar's trades,
-- written by the screener's trades path. NULL for legacy MBP-1 bars (no sizes) and for every bar
-- written before this column existed (no backfill: their trades are not kept).
ALTER TABLE price_bars ADD COLUMN IF NOT EXISTS vwap NUMERIC;
COMMENT ON COLUMN price_bars.vwap IS 'sum(price*size)/sum(size) of the bar''s trades; NULL = unknown (legacy or written before 0005)';
