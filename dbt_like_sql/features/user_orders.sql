-- Order features from staging.orders, one row per row of intermediate.active_users, using only orders dated
-- on or before the as-of date. A window of w days is the w days ending on the as-of date.
-- Frequency (paid orders): orders_7d, orders_30d, orders_90d, orders_total; days_since_last_order,
-- days_since_first_order; mean_gap_days, std_gap_days (population std) of the gaps between consecutive
-- distinct paid order dates; recency_over_typical_gap = days_since_last_order / mean_gap_days (NULL
-- before a second purchase day). Money (paid orders): amount_sum_90d, amount_sum_total, amount_mean,
-- amount_max, amount_min; discount_share = sum(discount) / sum(amount + discount). Purchase behaviour
-- (paid orders with a known category): category_count, category_entropy (Shannon entropy, natural log,
-- of the order shares per category; 0 for one or no category). Over all orders incl. non-paid:
-- orders_all_total, cancel_rate, refund_rate, return_rate. Deliveries (any status): late_deliveries_30d,
-- late_deliveries_90d count orders placed in the window with delivery_days > $late_delivery_days whose
-- lateness was visible by the as-of date (at least $late_delivery_days days old); mean_delivery_days
-- over orders delivered by the as-of date. BG/NBD inputs in days over distinct paid order dates:
-- bgnbd_frequency (repeat purchase days), bgnbd_recency (first to last purchase), bgnbd_T (first
-- purchase to as-of date). A user without paid orders gets counts 0 and NULL days, means and BG/NBD days.
WITH order_rows AS (
    SELECT
        user_id,
        order_id,
        order_date,
        amount,
        COALESCE(discount, 0) AS discount,
        status,
        COALESCE(is_paid, FALSE) AS is_paid,
        category,
        delivery_days
    FROM staging.orders
),

purchase_dates AS (
    -- distinct paid order dates and the gap to the previous one (looks back only: point-in-time safe)
    SELECT
        user_id,
        order_date,
        date_diff('day', LAG(order_date) OVER (PARTITION BY user_id ORDER BY order_date), order_date) AS gap_days
    FROM (SELECT DISTINCT user_id, order_date FROM order_rows WHERE is_paid) AS d
),

order_stats AS (
    SELECT
        a.user_id,
        a.as_of_date,
        COUNT(CASE WHEN o.is_paid AND date_diff('day', o.order_date, a.as_of_date) < 7 THEN 1 END) AS orders_7d,
        COUNT(CASE WHEN o.is_paid AND date_diff('day', o.order_date, a.as_of_date) < 30 THEN 1 END) AS orders_30d,
        COUNT(CASE WHEN o.is_paid AND date_diff('day', o.order_date, a.as_of_date) < 90 THEN 1 END) AS orders_90d,
        COUNT(CASE WHEN o.is_paid THEN 1 END) AS orders_total,
        MAX(CASE WHEN o.is_paid THEN o.order_date END) AS last_order_date,
        MIN(CASE WHEN o.is_paid THEN o.order_date END) AS first_order_date,
        SUM(CASE WHEN o.is_paid AND date_diff('day', o.order_date, a.as_of_date) < 90 THEN o.amount ELSE 0 END)
            AS amount_sum_90d,
        SUM(CASE WHEN o.is_paid THEN o.amount ELSE 0 END) AS amount_sum_total,
        AVG(CASE WHEN o.is_paid THEN o.amount END) AS amount_mean,
        MAX(CASE WHEN o.is_paid THEN o.amount END) AS amount_max,
        MIN(CASE WHEN o.is_paid THEN o.amount END) AS amount_min,
        SUM(CASE WHEN o.is_paid THEN o.discount ELSE 0 END) AS discount_sum,
        SUM(CASE WHEN o.is_paid THEN o.amount + o.discount ELSE 0 END) AS gross_sum,
        COUNT(o.order_id) AS orders_all_total,
        COUNT(CASE WHEN o.status = 'cancelled' THEN 1 END) AS cancelled,
        COUNT(CASE WHEN o.status = 'refunded' THEN 1 END) AS refunded,
        COUNT(CASE WHEN o.status = 'returned' THEN 1 END) AS returned,
        COUNT(
            CASE
                WHEN o.delivery_days > CAST($late_delivery_days AS INTEGER)
                    AND date_diff('day', o.order_date, a.as_of_date) >= CAST($late_delivery_days AS INTEGER)
                    AND date_diff('day', o.order_date, a.as_of_date) < 30
                THEN 1
            END
        ) AS late_deliveries_30d,
        COUNT(
            CASE
                WHEN o.delivery_days > CAST($late_delivery_days AS INTEGER)
                    AND date_diff('day', o.order_date, a.as_of_date) >= CAST($late_delivery_days AS INTEGER)
                    AND date_diff('day', o.order_date, a.as_of_date) < 90
                THEN 1
            END
        ) AS late_deliveries_90d,
        AVG(
            CASE WHEN date_diff('day', o.order_date, a.as_of_date) >= o.delivery_days THEN o.delivery_days END
        ) AS mean_delivery_days
    FROM intermediate.active_users AS a
    JOIN order_rows AS o
        ON o.user_id = a.user_id
        AND o.order_date <= a.as_of_date
    GROUP BY a.user_id, a.as_of_date
),

gap_stats AS (
    SELECT
        a.user_id,
        a.as_of_date,
        COUNT(*) AS purchase_days,
        AVG(p.gap_days) AS mean_gap_days,
        -- population standard deviation from exact integer sums (STDDEV_POP's result varies with thread order)
        SQRT(CAST(COUNT(p.gap_days) * SUM(p.gap_days * p.gap_days) - SUM(p.gap_days) * SUM(p.gap_days) AS DOUBLE))
            / NULLIF(COUNT(p.gap_days), 0) AS std_gap_days
    FROM intermediate.active_users AS a
    JOIN purchase_dates AS p
        ON p.user_id = a.user_id
        AND p.order_date <= a.as_of_date
    GROUP BY a.user_id, a.as_of_date
),

category_orders AS (
    SELECT
        a.user_id,
        a.as_of_date,
        o.category,
        COUNT(*) AS n_orders
    FROM intermediate.active_users AS a
    JOIN order_rows AS o
        ON o.user_id = a.user_id
        AND o.order_date <= a.as_of_date
        AND o.is_paid
        AND o.category <> 'unknown'
    GROUP BY a.user_id, a.as_of_date, o.category
),

category_stats AS (
    SELECT
        user_id,
        as_of_date,
        COUNT(*) AS category_count,
        -- each term rounded to DECIMAL first: the sum is then exact, whatever order the threads add in
        CASE WHEN COUNT(*) > 1 THEN -CAST(SUM(CAST(share * LN(share) AS DECIMAL(38, 18))) AS DOUBLE) ELSE 0 END
            AS category_entropy
    FROM (
        SELECT
            user_id,
            as_of_date,
            CAST(n_orders AS DOUBLE) / SUM(n_orders) OVER (PARTITION BY user_id, as_of_date) AS share
        FROM category_orders
    ) AS shares
    GROUP BY user_id, as_of_date
)

SELECT
    a.user_id,
    a.as_of_date,
    COALESCE(s.orders_7d, 0) AS orders_7d,
    COALESCE(s.orders_30d, 0) AS orders_30d,
    COALESCE(s.orders_90d, 0) AS orders_90d,
    COALESCE(s.orders_total, 0) AS orders_total,
    date_diff('day', s.last_order_date, a.as_of_date) AS days_since_last_order,
    date_diff('day', s.first_order_date, a.as_of_date) AS days_since_first_order,
    g.mean_gap_days,
    g.std_gap_days,
    CASE
        WHEN g.mean_gap_days > 0 THEN date_diff('day', s.last_order_date, a.as_of_date) / g.mean_gap_days
    END AS recency_over_typical_gap,
    COALESCE(s.amount_sum_90d, 0) AS amount_sum_90d,
    COALESCE(s.amount_sum_total, 0) AS amount_sum_total,
    s.amount_mean,
    s.amount_max,
    s.amount_min,
    CASE WHEN s.gross_sum > 0 THEN s.discount_sum / s.gross_sum ELSE 0 END AS discount_share,
    COALESCE(c.category_count, 0) AS category_count,
    COALESCE(c.category_entropy, 0) AS category_entropy,
    COALESCE(s.orders_all_total, 0) AS orders_all_total,
    CASE WHEN s.orders_all_total > 0 THEN CAST(s.cancelled AS DOUBLE) / s.orders_all_total ELSE 0 END AS cancel_rate,
    CASE WHEN s.orders_all_total > 0 THEN CAST(s.refunded AS DOUBLE) / s.orders_all_total ELSE 0 END AS refund_rate,
    CASE WHEN s.orders_all_total > 0 THEN CAST(s.returned AS DOUBLE) / s.orders_all_total ELSE 0 END AS return_rate,
    COALESCE(s.late_deliveries_30d, 0) AS late_deliveries_30d,
    COALESCE(s.late_deliveries_90d, 0) AS late_deliveries_90d,
    s.mean_delivery_days,
    COALESCE(g.purchase_days - 1, 0) AS bgnbd_frequency,
    date_diff('day', s.first_order_date, s.last_order_date) AS bgnbd_recency,
    date_diff('day', s.first_order_date, a.as_of_date) AS bgnbd_T
FROM intermediate.active_users AS a
LEFT JOIN order_stats AS s
    ON s.user_id = a.user_id
    AND s.as_of_date = a.as_of_date
LEFT JOIN gap_stats AS g
    ON g.user_id = a.user_id
    AND g.as_of_date = a.as_of_date
LEFT JOIN category_stats AS c
    ON c.user_id = a.user_id
    AND c.as_of_date = a.as_of_date
