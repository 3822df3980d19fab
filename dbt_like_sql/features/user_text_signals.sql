-- Per-user signals from the review-text model: mean and max probability of a bad experience that the
-- text model reads in the user's reviews and complaints over 30 and 90 days up to the as-of date
-- (ml.review_negativity holds one score per review). NULL when the user wrote nothing in the window.
SELECT
    a.user_id,
    a.as_of_date,
    -- means over DECIMAL: exact sums, the same whatever order DuckDB's threads add rows in
    AVG(CASE WHEN n.review_date > a.as_of_date - 30 THEN CAST(n.p_negative AS DECIMAL(18, 12)) END) AS text_neg_mean_30d,
    MAX(CASE WHEN n.review_date > a.as_of_date - 30 THEN n.p_negative END) AS text_neg_max_30d,
    AVG(CAST(n.p_negative AS DECIMAL(18, 12))) AS text_neg_mean_90d,
    MAX(n.p_negative) AS text_neg_max_90d
FROM intermediate.active_users AS a
LEFT JOIN ml.review_negativity AS n
    ON n.user_id = a.user_id
    AND n.review_date <= a.as_of_date
    AND n.review_date > a.as_of_date - 90
GROUP BY a.user_id, a.as_of_date
