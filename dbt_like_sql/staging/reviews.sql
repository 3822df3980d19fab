-- Reviews, complaints and questions, deduplicated; is_negative marks a bad experience (rating of 2 or less).
-- $until_date (YYYY-MM-DD, empty = no limit): files of later days and rows stamped after it stay unseen.
SELECT
    user_id,
    ts,
    CAST(ts AS DATE) AS review_date,
    rating,
    text,
    order_id,
    kind,
    COALESCE(rating <= 2, FALSE) AS is_negative
FROM (
    SELECT
        r.*,
        row_number() OVER (
            PARTITION BY user_id, ts, kind, order_id, text
            ORDER BY _partition_date, _source_file, _source_line
        ) AS delivery_rank
    FROM raw.reviews AS r
    WHERE r._partition_date <= COALESCE(TRY_CAST($until_date AS DATE), DATE '9999-12-31')
        AND CAST(r.ts AS DATE) <= COALESCE(TRY_CAST($until_date AS DATE), DATE '9999-12-31')
) AS ranked
WHERE delivery_rank = 1
