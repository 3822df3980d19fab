-- Review features from staging.reviews, one row per row of intermediate.active_users, using only entries
-- dated on or before the as-of date. A window of w days is the w days ending on the as-of date.
-- reviews_90d: entries of kind 'review'; rating_mean_90d, rating_min_90d: over every entry with a rating
-- (any kind); negative_share_90d: share of those rated 2 or less (0 when none rated); complaints_30d,
-- complaints_90d, questions_90d: entries of those kinds; days_since_last_complaint (NULL: none so far);
-- reviews_total: entries of any kind so far. Without reviews: counts and shares 0, rating stats NULL.
WITH review_rows AS (
    SELECT
        user_id,
        review_date,
        rating,
        COALESCE(kind, 'review') AS kind
    FROM staging.reviews
),

review_stats AS (
    SELECT
        a.user_id,
        a.as_of_date,
        COUNT(CASE WHEN r.kind = 'review' AND date_diff('day', r.review_date, a.as_of_date) < 90 THEN 1 END)
            AS reviews_90d,
        AVG(CASE WHEN date_diff('day', r.review_date, a.as_of_date) < 90 THEN r.rating END)
            AS rating_mean_90d,
        MIN(CASE WHEN date_diff('day', r.review_date, a.as_of_date) < 90 THEN r.rating END) AS rating_min_90d,
        COUNT(CASE WHEN date_diff('day', r.review_date, a.as_of_date) < 90 AND r.rating IS NOT NULL THEN 1 END)
            AS rated_90d,
        COUNT(CASE WHEN date_diff('day', r.review_date, a.as_of_date) < 90 AND r.rating <= 2 THEN 1 END)
            AS negative_90d,
        COUNT(CASE WHEN r.kind = 'complaint' AND date_diff('day', r.review_date, a.as_of_date) < 30 THEN 1 END)
            AS complaints_30d,
        COUNT(CASE WHEN r.kind = 'complaint' AND date_diff('day', r.review_date, a.as_of_date) < 90 THEN 1 END)
            AS complaints_90d,
        COUNT(CASE WHEN r.kind = 'question' AND date_diff('day', r.review_date, a.as_of_date) < 90 THEN 1 END)
            AS questions_90d,
        MAX(CASE WHEN r.kind = 'complaint' THEN r.review_date END) AS last_complaint_date,
        COUNT(*) AS reviews_total
    FROM intermediate.active_users AS a
    JOIN review_rows AS r
        ON r.user_id = a.user_id
        AND r.review_date <= a.as_of_date
    GROUP BY a.user_id, a.as_of_date
)

SELECT
    a.user_id,
    a.as_of_date,
    COALESCE(s.reviews_90d, 0) AS reviews_90d,
    s.rating_mean_90d,
    s.rating_min_90d,
    CASE WHEN s.rated_90d > 0 THEN CAST(s.negative_90d AS DOUBLE) / s.rated_90d ELSE 0 END AS negative_share_90d,
    COALESCE(s.complaints_30d, 0) AS complaints_30d,
    COALESCE(s.complaints_90d, 0) AS complaints_90d,
    COALESCE(s.questions_90d, 0) AS questions_90d,
    date_diff('day', s.last_complaint_date, a.as_of_date) AS days_since_last_complaint,
    COALESCE(s.reviews_total, 0) AS reviews_total
FROM intermediate.active_users AS a
LEFT JOIN review_stats AS s
    ON s.user_id = a.user_id
    AND s.as_of_date = a.as_of_date
