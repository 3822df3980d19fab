-- Reviews in staging.reviews with text but no row in ml.review_negativity yet (same key as that table:
-- user, timestamp, kind): what arrived since the review-text model last scored every review.
SELECT r.user_id, r.ts, r.review_date, r.kind, r.text
FROM staging.reviews AS r
WHERE r.text IS NOT NULL
    AND length(trim(r.text)) > 0
    AND NOT EXISTS (
        SELECT 1
        FROM ml.review_negativity AS n
        WHERE n.user_id = r.user_id
            AND n.ts = r.ts
            AND n.kind IS NOT DISTINCT FROM r.kind
    )
ORDER BY r.ts, r.user_id
