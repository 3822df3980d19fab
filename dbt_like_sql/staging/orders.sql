-- Orders, typed and deduplicated across landing files: one row per order_id (first delivery wins).
-- Category names are normalised; is_paid marks orders that count as a purchase.
SELECT
    user_id,
    order_id,
    ts,
    CAST(ts AS DATE) AS order_date,
    amount,
    status,
    status = 'paid' AS is_paid,
    quantity,
    COALESCE(lower(trim(category)), 'unknown') AS category,
    discount,
    delivery_days
FROM (
    SELECT
        o.*,
        row_number() OVER (PARTITION BY order_id ORDER BY _partition_date, _source_file, _source_line) AS delivery_rank
    FROM raw.orders AS o
) AS ranked
WHERE delivery_rank = 1
