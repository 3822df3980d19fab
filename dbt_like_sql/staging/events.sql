-- Behaviour events, deduplicated across landing files on the natural key.
-- $until_date (YYYY-MM-DD, empty = no limit): files of later days and rows stamped after it stay unseen.
SELECT
    user_id,
    ts,
    CAST(ts AS DATE) AS event_date,
    event_type,
    session_id,
    item_id,
    lower(trim(category)) AS category,
    query,
    device
FROM (
    SELECT
        e.*,
        row_number() OVER (
            PARTITION BY user_id, ts, event_type, session_id, item_id
            ORDER BY _partition_date, _source_file, _source_line
        ) AS delivery_rank
    FROM raw.events AS e
    WHERE e._partition_date <= COALESCE(TRY_CAST($until_date AS DATE), DATE '9999-12-31')
        AND CAST(e.ts AS DATE) <= COALESCE(TRY_CAST($until_date AS DATE), DATE '9999-12-31')
) AS ranked
WHERE delivery_rank = 1
