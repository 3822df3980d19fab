-- Behaviour events, deduplicated across landing files on the natural key (the contract's).
-- deduplicated.events: raw.events up to $until_date, first delivery of each natural key (generated from the contract).
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
FROM deduplicated.events
