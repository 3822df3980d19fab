-- Reviews, complaints and questions, deduplicated; is_negative marks a bad experience (rating of 2 or less).
-- deduplicated.reviews: raw.reviews up to $until_date, first delivery of each natural key (generated from the contract).
SELECT
    user_id,
    ts,
    CAST(ts AS DATE) AS review_date,
    rating,
    text,
    order_id,
    kind,
    COALESCE(rating <= 2, FALSE) AS is_negative
FROM deduplicated.reviews
