-- Users in scope at each as-of date: a paid order in the last $lookback_days days (inclusive of the
-- as-of date), or, with $activity = 'orders_or_visits', an order or any event in that window.
-- $lookback_days = 0 puts every user with at least one paid order so far in scope.
WITH activity AS (
    SELECT user_id, order_date AS day FROM staging.orders WHERE is_paid
    UNION ALL
    SELECT user_id, event_date AS day FROM staging.events WHERE $activity = 'orders_or_visits'
)
SELECT DISTINCT
    a.user_id,
    d.as_of_date
FROM intermediate.as_of_dates AS d
JOIN activity AS a
    ON a.day <= d.as_of_date
    AND (CAST($lookback_days AS INTEGER) = 0 OR a.day > d.as_of_date - CAST($lookback_days AS INTEGER))
