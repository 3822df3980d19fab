-- The span of days the shop's data covers (one row): first and last day with an order or event.
-- With $until_date set (a run "as of" that day) the last day is that day: the days up to it are known,
-- even those without any order, and nothing after it is.
SELECT
    MIN(day) AS first_date,
    COALESCE(TRY_CAST($until_date AS DATE), MAX(day)) AS last_date
FROM (
    SELECT order_date AS day FROM staging.orders
    UNION ALL
    SELECT event_date AS day FROM staging.events
) AS days
