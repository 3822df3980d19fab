-- Profile features, one row per row of intermediate.active_users, from staging.users and staging.orders
-- (staging.events as a last resort). tenure_days: days from sign-up to the as-of date, or, for a user
-- with no sign-up on or before the as-of date (no users source), from the first order (any status),
-- or else the first event; tenure_source says which ('signup', 'first_order', 'first_event', 'unknown').
-- region, channel, membership: the user's attributes ('unknown', 'unknown', 'none' when absent or when
-- the user record is dated after the as-of date, i.e. not yet known then). has_profile: 1 when they came
-- from the users source.
WITH first_orders AS (
    SELECT user_id, MIN(order_date) AS first_order_date
    FROM staging.orders
    GROUP BY user_id
),

first_events AS (
    SELECT user_id, MIN(event_date) AS first_event_date
    FROM staging.events
    GROUP BY user_id
),

profile AS (
    SELECT
        a.user_id,
        a.as_of_date,
        CASE WHEN u.signup_date <= a.as_of_date THEN u.signup_date END AS signup_date,
        CASE WHEN o.first_order_date <= a.as_of_date THEN o.first_order_date END AS first_order_date,
        CASE WHEN e.first_event_date <= a.as_of_date THEN e.first_event_date END AS first_event_date,
        CASE WHEN u.signup_date <= a.as_of_date THEN u.region END AS region,
        CASE WHEN u.signup_date <= a.as_of_date THEN u.channel END AS channel,
        CASE WHEN u.signup_date <= a.as_of_date THEN u.membership END AS membership
    FROM intermediate.active_users AS a
    LEFT JOIN staging.users AS u
        ON u.user_id = a.user_id
    LEFT JOIN first_orders AS o
        ON o.user_id = a.user_id
    LEFT JOIN first_events AS e
        ON e.user_id = a.user_id
)

SELECT
    user_id,
    as_of_date,
    date_diff('day', COALESCE(signup_date, first_order_date, first_event_date), as_of_date) AS tenure_days,
    CASE
        WHEN signup_date IS NOT NULL THEN 'signup'
        WHEN first_order_date IS NOT NULL THEN 'first_order'
        WHEN first_event_date IS NOT NULL THEN 'first_event'
        ELSE 'unknown'
    END AS tenure_source,
    COALESCE(region, 'unknown') AS region,
    COALESCE(channel, 'unknown') AS channel,
    COALESCE(membership, 'none') AS membership,
    CASE WHEN signup_date IS NOT NULL THEN 1 ELSE 0 END AS has_profile
FROM profile
