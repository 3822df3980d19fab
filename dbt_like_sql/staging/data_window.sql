-- The span of days the shop's data covers (one row): first and last day with an order or event.
SELECT
    MIN(day) AS first_date,
    MAX(day) AS last_date
FROM (
    SELECT order_date AS day FROM staging.orders
    UNION ALL
    SELECT event_date AS day FROM staging.events
) AS days
