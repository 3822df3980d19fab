-- Orders, typed and deduplicated across landing files: one row per order_id (first delivery wins).
-- Category names are normalised; is_paid marks orders that count as a purchase. Money and delivery days are
-- DECIMAL: sums of them are exact, so features do not depend on the order DuckDB's threads add rows in.
-- deduplicated.orders: raw.orders up to $until_date, first delivery of each natural key (generated from the contract).
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
FROM deduplicated.orders
