-- Customers: one row per user_id (the first delivery wins), with sign-up date and attributes.
-- deduplicated.users: raw.users up to $until_date, first delivery of each natural key (generated from the contract).
SELECT
    user_id,
    signup_ts,
    CAST(signup_ts AS DATE) AS signup_date,
    COALESCE(region, 'unknown') AS region,
    COALESCE(channel, 'unknown') AS channel,
    COALESCE(membership, 'none') AS membership
FROM deduplicated.users
