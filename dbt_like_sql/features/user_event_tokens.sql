-- Each active user's history up to the as-of date as a space-separated token string, oldest first,
-- for the behaviour BERT: event types; orders as status, amount bucket (log2) and category; deliveries
-- (late or on time, at the time they arrived); reviews by rating, complaints and questions. A gap token
-- before each item buckets the time since the previous item, and a final `now_*` token the time since
-- the last item. Only the latest $sequence_max_items items are kept.
-- A shop without events (orders only) gets an empty table: the BERT models that read the tokens are
-- skipped there, and building orders-only sequences for every (user, as-of) row was a third of the
-- orders-only build; marts.user_features then holds 'now_empty' and sequence_items 0 for everyone.
WITH has_events AS (
    SELECT EXISTS (SELECT 1 FROM staging.events) AS yes
),
shop_users AS (  -- intermediate.active_users, or no row at all when there are no events
    SELECT a.user_id, a.as_of_date
    FROM intermediate.active_users AS a
    WHERE (SELECT yes FROM has_events)
),
items AS (
    SELECT user_id, epoch(ts) / 86400.0 AS t, event_type AS token
    FROM staging.events
    UNION ALL
    SELECT
        user_id,
        epoch(ts) / 86400.0 AS t,
        'order_' || status
            || ' amt_' || CAST(FLOOR(LN(GREATEST(amount, 0) + 1) / LN(2)) AS INTEGER)
            || ' cat_' || replace(category, ' ', '_') AS token
    FROM staging.orders
    UNION ALL
    SELECT
        user_id,
        epoch(ts) / 86400.0 + delivery_days AS t,
        CASE WHEN delivery_days > $late_delivery_days THEN 'delivered_late' ELSE 'delivered' END AS token
    FROM staging.orders
    WHERE status <> 'cancelled' AND delivery_days IS NOT NULL
    UNION ALL
    SELECT
        user_id,
        epoch(ts) / 86400.0 AS t,
        CASE WHEN kind = 'review' THEN 'review_r' || COALESCE(CAST(rating AS VARCHAR), 'x') ELSE kind END AS token
    FROM staging.reviews
),
visible AS (
    SELECT
        a.user_id,
        a.as_of_date,
        i.t,
        i.token,
        row_number() OVER (PARTITION BY a.user_id, a.as_of_date ORDER BY i.t DESC, i.token DESC) AS recency_rank
    FROM shop_users AS a
    JOIN items AS i
        ON i.user_id = a.user_id
        AND i.t < epoch(CAST(a.as_of_date AS TIMESTAMP)) / 86400.0 + 1
),
kept AS (
    SELECT
        user_id,
        as_of_date,
        t,
        token,
        t - lag(t) OVER (PARTITION BY user_id, as_of_date ORDER BY t, token) AS gap_days
    FROM visible
    WHERE recency_rank <= $sequence_max_items
),
bucketed AS (
    SELECT
        user_id,
        as_of_date,
        t,
        CASE
            WHEN gap_days IS NULL OR gap_days < 1.0 / 24 THEN ''
            WHEN gap_days < 1 THEN 'gap_h '
            WHEN gap_days < 3 THEN 'gap_d1 '
            WHEN gap_days < 7 THEN 'gap_d3 '
            WHEN gap_days < 14 THEN 'gap_w1 '
            WHEN gap_days < 30 THEN 'gap_w2 '
            WHEN gap_days < 60 THEN 'gap_m1 '
            ELSE 'gap_m2 '
        END || token AS piece
    FROM kept
)
SELECT
    a.user_id,
    a.as_of_date,
    COALESCE(s.tokens || ' ', '') || CASE
        WHEN s.last_t IS NULL THEN 'now_empty'
        WHEN epoch(CAST(a.as_of_date AS TIMESTAMP)) / 86400.0 + 1 - s.last_t < 1 THEN 'now_d0'
        WHEN epoch(CAST(a.as_of_date AS TIMESTAMP)) / 86400.0 + 1 - s.last_t < 3 THEN 'now_d1'
        WHEN epoch(CAST(a.as_of_date AS TIMESTAMP)) / 86400.0 + 1 - s.last_t < 7 THEN 'now_d3'
        WHEN epoch(CAST(a.as_of_date AS TIMESTAMP)) / 86400.0 + 1 - s.last_t < 14 THEN 'now_w1'
        WHEN epoch(CAST(a.as_of_date AS TIMESTAMP)) / 86400.0 + 1 - s.last_t < 30 THEN 'now_w2'
        WHEN epoch(CAST(a.as_of_date AS TIMESTAMP)) / 86400.0 + 1 - s.last_t < 60 THEN 'now_m1'
        ELSE 'now_m2'
    END AS event_tokens,
    COALESCE(s.n_items, 0) AS sequence_items
FROM shop_users AS a
LEFT JOIN (
    SELECT
        user_id,
        as_of_date,
        string_agg(piece, ' ' ORDER BY t) AS tokens,
        MAX(t) AS last_t,
        COUNT(*) AS n_items
    FROM bucketed
    GROUP BY user_id, as_of_date
) AS s
    ON s.user_id = a.user_id AND s.as_of_date = a.as_of_date
