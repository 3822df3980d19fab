-- Behaviour features from staging.events, one row per row of intermediate.active_users, using only events on
-- or before the as-of date (the whole as-of day counts; a session is cut at the end of that day).
-- A window of w days is the w days ending on the as-of date. For w in 7, 30, 90: logins_{w}d,
-- sessions_{w}d (distinct sessions with an event in the window), page_views_{w}d, clicks_{w}d, searches_{w}d,
-- add_to_cart_{w}d. A session is the event's session_id, or the user's calendar day when it has none.
-- avg_session_minutes_30d: mean minutes from first to last event of the sessions active in the last 30 days;
-- sessions_trend_7_30 = sessions_7d / (sessions_30d * 7/30) and page_views_trend_7_30 likewise
-- (1 = steady, below 1 = falling, NULL when nothing in 30 days); days_since_last_event;
-- searches_without_purchase_30d: searches in the last 30 days made in a session without any add_to_cart
-- and on a day without a paid order of the user; events_total: all events so far.
-- Visit habits (a visit day = a day with an event): sessions_14d, sessions_total, visit_days_total,
-- days_since_first_event; sessions_per_day = sessions_total / (days_since_first_event + 1), the user's usual
-- visit rate; visit_recency_over_typical_gap = days_since_last_event / ((days_since_first_event + 1) /
-- visit_days_total): how many usual gaps between visits the current silence lasts.
-- After the user's latest complaint in the last 30 days (staging.reviews): sessions_after_complaint,
-- searches_after_complaint, add_to_cart_after_complaint count sessions and events on later days (NULL
-- without such a complaint): a customer who gave up shops around without buying.
-- Without events: counts 0, means, trends, rates and days_since_* NULL.
WITH paid_dates AS (
    SELECT DISTINCT user_id, order_date
    FROM staging.orders
    WHERE is_paid
),

keyed_events AS (
    SELECT
        user_id,
        COALESCE(session_id, user_id || ':' || CAST(event_date AS VARCHAR)) AS session_key,
        event_date,
        ts,
        event_type
    FROM staging.events
),

session_dates AS (
    -- one row per user, session and day: the grain that keeps sessions point-in-time
    SELECT
        e.user_id,
        e.session_key,
        e.event_date,
        MIN(e.ts) AS first_ts,
        MAX(e.ts) AS last_ts,
        COUNT(*) AS events,
        COUNT(CASE WHEN e.event_type = 'login' THEN 1 END) AS logins,
        COUNT(CASE WHEN e.event_type = 'page_view' THEN 1 END) AS page_views,
        COUNT(CASE WHEN e.event_type = 'click' THEN 1 END) AS clicks,
        COUNT(CASE WHEN e.event_type = 'search' THEN 1 END) AS searches,
        COUNT(CASE WHEN e.event_type = 'add_to_cart' THEN 1 END) AS add_to_cart,
        MAX(CASE WHEN p.order_date IS NULL THEN 0 ELSE 1 END) AS paid_order_that_day
    FROM keyed_events AS e
    LEFT JOIN paid_dates AS p
        ON p.user_id = e.user_id
        AND p.order_date = e.event_date
    GROUP BY e.user_id, e.session_key, e.event_date
),

seen AS (
    -- each active user's session-days up to the as-of date, with their age in days
    SELECT
        a.user_id,
        a.as_of_date,
        s.session_key,
        s.event_date,
        date_diff('day', s.event_date, a.as_of_date) AS age_days,
        s.first_ts,
        s.last_ts,
        s.events,
        s.logins,
        s.page_views,
        s.clicks,
        s.searches,
        s.add_to_cart,
        s.paid_order_that_day
    FROM intermediate.active_users AS a
    JOIN session_dates AS s
        ON s.user_id = a.user_id
        AND s.event_date <= a.as_of_date
),

event_counts AS (
    SELECT
        user_id,
        as_of_date,
        SUM(CASE WHEN age_days < 7 THEN logins ELSE 0 END) AS logins_7d,
        SUM(CASE WHEN age_days < 30 THEN logins ELSE 0 END) AS logins_30d,
        SUM(CASE WHEN age_days < 90 THEN logins ELSE 0 END) AS logins_90d,
        SUM(CASE WHEN age_days < 7 THEN page_views ELSE 0 END) AS page_views_7d,
        SUM(CASE WHEN age_days < 30 THEN page_views ELSE 0 END) AS page_views_30d,
        SUM(CASE WHEN age_days < 90 THEN page_views ELSE 0 END) AS page_views_90d,
        SUM(CASE WHEN age_days < 7 THEN clicks ELSE 0 END) AS clicks_7d,
        SUM(CASE WHEN age_days < 30 THEN clicks ELSE 0 END) AS clicks_30d,
        SUM(CASE WHEN age_days < 90 THEN clicks ELSE 0 END) AS clicks_90d,
        SUM(CASE WHEN age_days < 7 THEN searches ELSE 0 END) AS searches_7d,
        SUM(CASE WHEN age_days < 30 THEN searches ELSE 0 END) AS searches_30d,
        SUM(CASE WHEN age_days < 90 THEN searches ELSE 0 END) AS searches_90d,
        SUM(CASE WHEN age_days < 7 THEN add_to_cart ELSE 0 END) AS add_to_cart_7d,
        SUM(CASE WHEN age_days < 30 THEN add_to_cart ELSE 0 END) AS add_to_cart_30d,
        SUM(CASE WHEN age_days < 90 THEN add_to_cart ELSE 0 END) AS add_to_cart_90d,
        SUM(events) AS events_total,
        MIN(age_days) AS days_since_last_event,
        MAX(age_days) AS days_since_first_event,
        COUNT(DISTINCT event_date) AS visit_days_total
    FROM seen
    GROUP BY user_id, as_of_date
),

sessions AS (
    -- sessions as they looked at the end of the as-of day
    SELECT
        user_id,
        as_of_date,
        session_key,
        MIN(age_days) AS age_days,
        date_diff('second', MIN(first_ts), MAX(last_ts)) AS seconds,
        SUM(add_to_cart) AS add_to_cart,
        SUM(CASE WHEN age_days < 30 AND paid_order_that_day = 0 THEN searches ELSE 0 END) AS unpaid_searches_30d
    FROM seen
    GROUP BY user_id, as_of_date, session_key
),

session_stats AS (
    SELECT
        user_id,
        as_of_date,
        SUM(CASE WHEN age_days < 7 THEN 1 ELSE 0 END) AS sessions_7d,
        SUM(CASE WHEN age_days < 14 THEN 1 ELSE 0 END) AS sessions_14d,
        COUNT(*) AS sessions_total,
        SUM(CASE WHEN age_days < 30 THEN 1 ELSE 0 END) AS sessions_30d,
        SUM(CASE WHEN age_days < 90 THEN 1 ELSE 0 END) AS sessions_90d,
        AVG(CASE WHEN age_days < 30 THEN seconds END) / 60.0 AS avg_session_minutes_30d,  -- exact integer sum
        SUM(CASE WHEN add_to_cart = 0 THEN unpaid_searches_30d ELSE 0 END) AS searches_without_purchase_30d
    FROM sessions
    GROUP BY user_id, as_of_date
),

last_complaints AS (
    SELECT a.user_id, a.as_of_date, MAX(r.review_date) AS complaint_date
    FROM intermediate.active_users AS a
    JOIN staging.reviews AS r
        ON r.user_id = a.user_id
        AND r.kind = 'complaint'
        AND r.review_date <= a.as_of_date
        AND r.review_date > a.as_of_date - 30
    GROUP BY a.user_id, a.as_of_date
),

after_complaint AS (
    -- whole days after the complaint day: the order of complaint and visits within a day is not kept
    SELECT
        c.user_id,
        c.as_of_date,
        COUNT(DISTINCT s.session_key) AS sessions_after_complaint,
        COALESCE(SUM(s.searches), 0) AS searches_after_complaint,
        COALESCE(SUM(s.add_to_cart), 0) AS add_to_cart_after_complaint
    FROM last_complaints AS c
    LEFT JOIN seen AS s
        ON s.user_id = c.user_id
        AND s.as_of_date = c.as_of_date
        AND s.event_date > c.complaint_date
    GROUP BY c.user_id, c.as_of_date
),

counts AS (
    SELECT
        a.user_id,
        a.as_of_date,
        CAST(COALESCE(c.logins_7d, 0) AS BIGINT) AS logins_7d,
        CAST(COALESCE(c.logins_30d, 0) AS BIGINT) AS logins_30d,
        CAST(COALESCE(c.logins_90d, 0) AS BIGINT) AS logins_90d,
        CAST(COALESCE(s.sessions_7d, 0) AS BIGINT) AS sessions_7d,
        CAST(COALESCE(s.sessions_14d, 0) AS BIGINT) AS sessions_14d,
        CAST(COALESCE(s.sessions_total, 0) AS BIGINT) AS sessions_total,
        CAST(COALESCE(c.visit_days_total, 0) AS BIGINT) AS visit_days_total,
        c.days_since_first_event,
        ac.sessions_after_complaint,
        ac.searches_after_complaint,
        ac.add_to_cart_after_complaint,
        CAST(COALESCE(s.sessions_30d, 0) AS BIGINT) AS sessions_30d,
        CAST(COALESCE(s.sessions_90d, 0) AS BIGINT) AS sessions_90d,
        CAST(COALESCE(c.page_views_7d, 0) AS BIGINT) AS page_views_7d,
        CAST(COALESCE(c.page_views_30d, 0) AS BIGINT) AS page_views_30d,
        CAST(COALESCE(c.page_views_90d, 0) AS BIGINT) AS page_views_90d,
        CAST(COALESCE(c.clicks_7d, 0) AS BIGINT) AS clicks_7d,
        CAST(COALESCE(c.clicks_30d, 0) AS BIGINT) AS clicks_30d,
        CAST(COALESCE(c.clicks_90d, 0) AS BIGINT) AS clicks_90d,
        CAST(COALESCE(c.searches_7d, 0) AS BIGINT) AS searches_7d,
        CAST(COALESCE(c.searches_30d, 0) AS BIGINT) AS searches_30d,
        CAST(COALESCE(c.searches_90d, 0) AS BIGINT) AS searches_90d,
        CAST(COALESCE(c.add_to_cart_7d, 0) AS BIGINT) AS add_to_cart_7d,
        CAST(COALESCE(c.add_to_cart_30d, 0) AS BIGINT) AS add_to_cart_30d,
        CAST(COALESCE(c.add_to_cart_90d, 0) AS BIGINT) AS add_to_cart_90d,
        s.avg_session_minutes_30d,
        c.days_since_last_event,
        CAST(COALESCE(s.searches_without_purchase_30d, 0) AS BIGINT) AS searches_without_purchase_30d,
        CAST(COALESCE(c.events_total, 0) AS BIGINT) AS events_total
    FROM intermediate.active_users AS a
    LEFT JOIN event_counts AS c
        ON c.user_id = a.user_id
        AND c.as_of_date = a.as_of_date
    LEFT JOIN session_stats AS s
        ON s.user_id = a.user_id
        AND s.as_of_date = a.as_of_date
    LEFT JOIN after_complaint AS ac
        ON ac.user_id = a.user_id
        AND ac.as_of_date = a.as_of_date
)

SELECT
    user_id,
    as_of_date,
    logins_7d,
    logins_30d,
    logins_90d,
    sessions_7d,
    sessions_14d,
    sessions_30d,
    sessions_90d,
    sessions_total,
    visit_days_total,
    days_since_first_event,
    CASE
        WHEN visit_days_total > 0 THEN CAST(sessions_total AS DOUBLE) / (days_since_first_event + 1)
    END AS sessions_per_day,
    CASE
        WHEN visit_days_total > 0
        THEN days_since_last_event * CAST(visit_days_total AS DOUBLE) / (days_since_first_event + 1)
    END AS visit_recency_over_typical_gap,
    sessions_after_complaint,
    searches_after_complaint,
    add_to_cart_after_complaint,
    page_views_7d,
    page_views_30d,
    page_views_90d,
    clicks_7d,
    clicks_30d,
    clicks_90d,
    searches_7d,
    searches_30d,
    searches_90d,
    add_to_cart_7d,
    add_to_cart_30d,
    add_to_cart_90d,
    avg_session_minutes_30d,
    CASE
        WHEN sessions_30d > 0 THEN CAST(sessions_7d AS DOUBLE) * 30 / (CAST(sessions_30d AS DOUBLE) * 7)
    END AS sessions_trend_7_30,
    CASE
        WHEN page_views_30d > 0 THEN CAST(page_views_7d AS DOUBLE) * 30 / (CAST(page_views_30d AS DOUBLE) * 7)
    END AS page_views_trend_7_30,
    days_since_last_event,
    searches_without_purchase_30d,
    events_total
FROM counts
