-- Customers: one row per user_id (the first delivery wins), with sign-up date and attributes.
SELECT
    user_id,
    signup_ts,
    CAST(signup_ts AS DATE) AS signup_date,
    COALESCE(region, 'unknown') AS region,
    COALESCE(channel, 'unknown') AS channel,
    COALESCE(membership, 'none') AS membership
FROM (
    SELECT
        u.*,
        row_number() OVER (PARTITION BY user_id ORDER BY _partition_date, _source_file, _source_line) AS delivery_rank
    FROM raw.users AS u
) AS ranked
WHERE delivery_rank = 1
