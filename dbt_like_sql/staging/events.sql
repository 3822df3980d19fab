-- Behaviour events, deduplicated across landing files on the natural key.
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
) AS ranked
WHERE delivery_rank = 1
