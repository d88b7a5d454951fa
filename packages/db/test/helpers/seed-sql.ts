// The SQL of shared/seeds/001_605944873e6dd386.txt, statement by statement, unchanged except
// psycopg's %s placeholders written as $n. Tests run these against the migrated schema.

export const PHASE1_VERIFY = `SELECT
    COUNT(*) as total_bars,
    COUNT(*) FILTER (WHERE is_legacy = true) as legacy_bars,
    COUNT(*) FILTER (WHERE is_legacy = false) as new_bars,
    data_source
FROM price_bars
GROUP BY data_source;`;

export const SEED_UPSERT = `
    INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count, is_legacy, data_source)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (symbol, timestamp) DO UPDATE SET
        open = EXCLUDED.open,
        high = EXCLUDED.high,
        low = EXCLUDED.low,
        close = EXCLUDED.close,
        volume = EXCLUDED.volume,
        trade_count = EXCLUDED.trade_count,
        is_legacy = EXCLUDED.is_legacy,
        data_source = EXCLUDED.data_source
`;

export const API_QUERY_NO_LEGACY =
  'SELECT * FROM price_bars WHERE symbol = $1 AND (is_legacy = false OR is_legacy IS NULL) AND timestamp >= $2 AND timestamp <= $3 ORDER BY timestamp ASC';

export const PHASE5_TEST1 = `
    SELECT
        symbol,
        timestamp,
        volume,
        data_source,
        is_legacy
    FROM price_bars
    WHERE timestamp > NOW() - INTERVAL '10 minutes'
    AND is_legacy = false
    ORDER BY timestamp DESC
    LIMIT 10;
`;

export const PHASE5_TEST2 = `
    SELECT
        data_source,
        is_legacy,
        COUNT(*) as bar_count,
        SUM(volume) as total_volume,
        MIN(timestamp) as first_bar,
        MAX(timestamp) as last_bar
    FROM price_bars
    GROUP BY data_source, is_legacy
    ORDER BY is_legacy DESC;
`;

export const PHASE6_MONITOR = `
        SELECT
            COUNT(*) as new_bars,
            SUM(volume) as total_volume,
            MAX(timestamp) as latest_bar
        FROM price_bars
        WHERE is_legacy = false
        AND timestamp > NOW() - INTERVAL '1 hour'
    `;

export const CRITERIA_VOLUME = `-- Check volume distribution
SELECT
    symbol,
    COUNT(*) as bars,
    AVG(volume) as avg_volume,
    MAX(volume) as max_volume
FROM price_bars
WHERE is_legacy = false
AND volume > 0
GROUP BY symbol
ORDER BY bars DESC
LIMIT 20;`;

export const CRITERIA_COVERAGE = `-- Compare old vs new bar counts
SELECT
    DATE_TRUNC('hour', timestamp) as hour,
    SUM(CASE WHEN is_legacy = true THEN 1 ELSE 0 END) as legacy_bars,
    SUM(CASE WHEN is_legacy = false THEN 1 ELSE 0 END) as new_bars
FROM price_bars
WHERE timestamp > NOW() - INTERVAL '1 day'
GROUP BY hour
ORDER BY hour;`;

export const OPTION_A = [
  'ALTER TABLE price_bars ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMP;',
  `UPDATE price_bars
SET deleted_at = NOW()
WHERE is_legacy = true;`,
  `DELETE FROM price_bars WHERE deleted_at < NOW() - INTERVAL '7 days';`,
];
export const OPTION_A_RESTORE = 'UPDATE price_bars SET deleted_at = NULL WHERE is_legacy = true;';

export const OPTION_B = [
  `CREATE TABLE price_bars_legacy AS
SELECT * FROM price_bars WHERE is_legacy = true;`,
  'CREATE INDEX idx_price_bars_legacy_symbol_timestamp ON price_bars_legacy(symbol, timestamp);',
  'DELETE FROM price_bars WHERE is_legacy = true;',
];
export const OPTION_B_VERIFY = [
  'SELECT COUNT(*) FROM price_bars_legacy;',
  'SELECT COUNT(*) FROM price_bars WHERE is_legacy = false;',
];
export const OPTION_B_RESTORE = 'INSERT INTO price_bars SELECT * FROM price_bars_legacy;';

export const OPTION_C = [
  'DELETE FROM price_bars WHERE is_legacy = true;',
  'VACUUM FULL price_bars;',
  `SELECT
    data_source,
    COUNT(*) as bars,
    MIN(timestamp) as first,
    MAX(timestamp) as last
FROM price_bars
GROUP BY data_source;`,
];

export const ROLLBACK_DELETE =
  "DELETE FROM price_bars WHERE is_legacy = false AND data_source = 'trades';";
