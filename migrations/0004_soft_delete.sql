-- Option A of the seed's cleanup (soft delete): legacy bars marked with deleted_at are hidden from
-- the API and queries, purged after a grace period, or restored by clearing the mark.
ALTER TABLE price_bars ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMP;
CREATE INDEX IF NOT EXISTS idx_price_bars_deleted_at ON price_bars (deleted_at) WHERE deleted_at IS NOT NULL;
COMMENT ON COLUMN price_bars.deleted_at IS 'set = soft-deleted (hidden); purged after the grace period';
