-- What happened to every user of every risk list in scoring.risk_list. The realized label is the rule
-- of dbt_like_sql/labels/churn_labels.sql: churned when no paid order falls in (d, d + $horizon_days];
-- it is only known once d + $horizon_days lies inside the data (measurable), and NULL before that.
-- days_since_last_order at d (paid orders on or before d) is the recency baseline's score.
WITH scored AS (  -- the risk list's day may be stored as a timestamp (it comes from a DataFrame)
    SELECT user_id, CAST(as_of_date AS DATE) AS as_of_date, churn_probability, tier, model_version
    FROM scoring.risk_list
)
SELECT
    r.as_of_date,
    r.user_id,
    r.churn_probability,
    r.tier,
    r.model_version,
    CAST(r.as_of_date + CAST($horizon_days AS INTEGER) AS DATE) AS horizon_end,
    r.as_of_date + CAST($horizon_days AS INTEGER) <= w.last_date AS measurable,
    CASE
        WHEN r.as_of_date + CAST($horizon_days AS INTEGER) > w.last_date THEN NULL
        WHEN COUNT(o.order_id) FILTER (WHERE o.order_date > r.as_of_date) = 0 THEN 1
        ELSE 0
    END AS churned,
    COUNT(o.order_id) FILTER (WHERE o.order_date > r.as_of_date) AS paid_orders_in_horizon,
    r.as_of_date - MAX(o.order_date) FILTER (WHERE o.order_date <= r.as_of_date) AS days_since_last_order
FROM scored AS r
CROSS JOIN intermediate.data_window AS w
LEFT JOIN staging.orders AS o
    ON o.user_id = r.user_id
    AND o.is_paid
    AND o.order_date <= r.as_of_date + CAST($horizon_days AS INTEGER)
GROUP BY r.as_of_date, r.user_id, r.churn_probability, r.tier, r.model_version, w.last_date
ORDER BY r.as_of_date, r.user_id
