-- Customers: one row per user_id (the first delivery wins), with sign-up date and attributes.
-- $until_date (YYYY-MM-DD, empty = no limit): files of later days and rows stamped after it stay unseen.
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
    WHERE u._partition_date <= COALESCE(TRY_CAST($until_date AS DATE), DATE '9999-12-31')
        AND CAST(u.signup_ts AS DATE) <= COALESCE(TRY_CAST($until_date AS DATE), DATE '9999-12-31')
) AS ranked
WHERE delivery_rank = 1
