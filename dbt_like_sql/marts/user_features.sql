-- The wide feature table the models train and score on: one row per (user_id, as_of_date) of
-- intermediate.active_users with the columns of features.user_activity, user_orders, user_reviews and
-- user_profile, the review-text signals (features.user_text_signals) and the behaviour token sequence
-- (features.user_event_tokens, read by the BERT models only). Each feature table has one row per active user
-- and fills its own defaults, so its columns are taken as they are (listed once, in its file); only the token
-- table can be empty (a shop without events): then 'now_empty' and sequence_items 0.
-- User tags (0/1): tag_high_frequency = orders_90d >= $high_frequency_orders; tag_loyal = tenure_days >=
-- $loyal_tenure_days and orders_total >= $loyal_min_orders; tag_low_frequency = orders_90d <= 1;
-- tag_new = tenure_days < $new_user_days; tag_dormant = no paid order in the last $dormant_days days
-- (days_since_last_order > $dormant_days, or no paid order at all).
WITH per_user AS (
    SELECT *
    FROM intermediate.active_users
    LEFT JOIN features.user_activity USING (user_id, as_of_date)
    LEFT JOIN features.user_orders USING (user_id, as_of_date)
    LEFT JOIN features.user_reviews USING (user_id, as_of_date)
    LEFT JOIN features.user_profile USING (user_id, as_of_date)
),

tagged AS (
    SELECT
        *,
        CASE WHEN orders_90d >= CAST($high_frequency_orders AS INTEGER) THEN 1 ELSE 0 END AS tag_high_frequency,
        CASE
            WHEN tenure_days >= CAST($loyal_tenure_days AS INTEGER)
                AND orders_total >= CAST($loyal_min_orders AS INTEGER)
            THEN 1 ELSE 0
        END AS tag_loyal,
        CASE WHEN orders_90d <= 1 THEN 1 ELSE 0 END AS tag_low_frequency,
        CASE WHEN tenure_days < CAST($new_user_days AS INTEGER) THEN 1 ELSE 0 END AS tag_new,
        CASE
            WHEN days_since_last_order IS NULL OR days_since_last_order > CAST($dormant_days AS INTEGER)
            THEN 1 ELSE 0
        END AS tag_dormant
    FROM per_user
)

SELECT * REPLACE (
    COALESCE(event_tokens, 'now_empty') AS event_tokens,
    COALESCE(sequence_items, 0) AS sequence_items
)
FROM tagged
LEFT JOIN features.user_text_signals USING (user_id, as_of_date)
LEFT JOIN features.user_event_tokens USING (user_id, as_of_date)
