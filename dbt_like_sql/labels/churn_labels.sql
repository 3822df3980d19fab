-- The churn label: an active user at as-of date d has churned when no paid order falls in
-- (d, d + $horizon_days]. Only as-of dates whose whole horizon lies inside the data get a label.
SELECT
    a.user_id,
    a.as_of_date,
    CASE WHEN COUNT(o.order_id) = 0 THEN 1 ELSE 0 END AS churned,
    COUNT(o.order_id) AS paid_orders_in_horizon
FROM intermediate.active_users AS a
CROSS JOIN intermediate.data_window AS w
LEFT JOIN staging.orders AS o
    ON o.user_id = a.user_id
    AND o.is_paid
    AND o.order_date > a.as_of_date
    AND o.order_date <= a.as_of_date + CAST($horizon_days AS INTEGER)
WHERE a.as_of_date + CAST($horizon_days AS INTEGER) <= w.last_date
GROUP BY a.user_id, a.as_of_date
