-- Per-user signals from the review-text model: mean and max probability of a bad experience that the
-- text model reads in the user's reviews and complaints over 30 and 90 days up to the as-of date
-- (ml.review_negativity holds one score per review). NULL when the user wrote nothing in the window.
-- Complaint topics (ml/complaint_topics.py; ml.review_negativity.topic is set on complaints and texts with
-- P(bad) >= 0.5): complaints_<topic>_30d counts them per topic over the 30 days up to the as-of date (0 when
-- none); days_since_complaint_<topic> is the age in days of the latest one within 90 days (NULL: none).
SELECT
    a.user_id,
    a.as_of_date,
    -- means over DECIMAL: exact sums, the same whatever order DuckDB's threads add rows in
    AVG(CASE WHEN n.review_date > a.as_of_date - 30 THEN CAST(n.p_negative AS DECIMAL(18, 12)) END) AS text_neg_mean_30d,
    MAX(CASE WHEN n.review_date > a.as_of_date - 30 THEN n.p_negative END) AS text_neg_max_30d,
    AVG(CAST(n.p_negative AS DECIMAL(18, 12))) AS text_neg_mean_90d,
    MAX(n.p_negative) AS text_neg_max_90d,
    COUNT(CASE WHEN n.topic = 'delivery' AND n.review_date > a.as_of_date - 30 THEN 1 END) AS complaints_delivery_30d,
    COUNT(CASE WHEN n.topic = 'product_quality' AND n.review_date > a.as_of_date - 30 THEN 1 END)
        AS complaints_product_quality_30d,
    COUNT(CASE WHEN n.topic = 'price' AND n.review_date > a.as_of_date - 30 THEN 1 END) AS complaints_price_30d,
    COUNT(CASE WHEN n.topic = 'service' AND n.review_date > a.as_of_date - 30 THEN 1 END) AS complaints_service_30d,
    COUNT(CASE WHEN n.topic = 'refund_return' AND n.review_date > a.as_of_date - 30 THEN 1 END)
        AS complaints_refund_return_30d,
    date_diff('day', MAX(CASE WHEN n.topic = 'delivery' THEN n.review_date END), a.as_of_date)
        AS days_since_complaint_delivery,
    date_diff('day', MAX(CASE WHEN n.topic = 'product_quality' THEN n.review_date END), a.as_of_date)
        AS days_since_complaint_product_quality,
    date_diff('day', MAX(CASE WHEN n.topic = 'price' THEN n.review_date END), a.as_of_date)
        AS days_since_complaint_price,
    date_diff('day', MAX(CASE WHEN n.topic = 'service' THEN n.review_date END), a.as_of_date)
        AS days_since_complaint_service,
    date_diff('day', MAX(CASE WHEN n.topic = 'refund_return' THEN n.review_date END), a.as_of_date)
        AS days_since_complaint_refund_return
FROM intermediate.active_users AS a
LEFT JOIN ml.review_negativity AS n
    ON n.user_id = a.user_id
    AND n.review_date <= a.as_of_date
    AND n.review_date > a.as_of_date - 90
GROUP BY a.user_id, a.as_of_date
