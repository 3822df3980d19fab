-- Orders, typed and deduplicated across landing files: one row per order_id (first delivery wins).
-- Category names are normalised; is_paid marks orders that count as a purchase. Money and delivery days are
-- DECIMAL: sums of them are exact, so features do not depend on the order DuckDB's threads add rows in.
-- $until_date (YYYY-MM-DD, empty = no limit): files of later days and rows stamped after it stay unseen.
SELECT
    user_id,
    order_id,
    ts,
    CAST(ts AS DATE) AS order_date,
    CAST(amount AS DECIMAL(18, 4)) AS amount,
    status,
    status = 'paid' AS is_paid,
    quantity,
    COALESCE(lower(trim(category)), 'unknown') AS category,
    CAST(discount AS DECIMAL(18, 4)) AS discount,
    CAST(delivery_days AS DECIMAL(18, 4)) AS delivery_days
FROM (
    SELECT
        o.*,
        row_number() OVER (PARTITION BY order_id ORDER BY _partition_date, _source_file, _source_line) AS delivery_rank
    FROM raw.orders AS o
    WHERE o._partition_date <= COALESCE(TRY_CAST($until_date AS DATE), DATE '9999-12-31')
        AND CAST(o.ts AS DATE) <= COALESCE(TRY_CAST($until_date AS DATE), DATE '9999-12-31')
) AS ranked
WHERE delivery_rank = 1
