-- The wide feature table the models train and score on: one row per (user_id, as_of_date) of
-- features.active_users with the columns of features.user_activity, user_orders, user_reviews and
-- user_profile, the review-text signals (features.user_text_signals) and the behaviour token sequence
-- (features.user_event_tokens, read by the BERT models only). Missing sources are neutral: counts, rates and shares 0; means, min/max, trends,
-- days-since and BG/NBD days NULL (the models impute them); categories 'unknown' (membership 'none').
-- User tags (0/1): tag_high_frequency = orders_90d >= $high_frequency_orders; tag_loyal = tenure_days >=
-- $loyal_tenure_days and orders_total >= $loyal_min_orders; tag_low_frequency = orders_90d <= 1;
-- tag_new = tenure_days < $new_user_days; tag_dormant = no paid order in the last $dormant_days days
-- (days_since_last_order > $dormant_days, or no paid order at all).
SELECT
    a.user_id,
    a.as_of_date,
    -- behaviour (staging.events)
    COALESCE(ua.logins_7d, 0) AS logins_7d,
    COALESCE(ua.logins_30d, 0) AS logins_30d,
    COALESCE(ua.logins_90d, 0) AS logins_90d,
    COALESCE(ua.sessions_7d, 0) AS sessions_7d,
    COALESCE(ua.sessions_14d, 0) AS sessions_14d,
    COALESCE(ua.sessions_30d, 0) AS sessions_30d,
    COALESCE(ua.sessions_90d, 0) AS sessions_90d,
    COALESCE(ua.sessions_total, 0) AS sessions_total,
    COALESCE(ua.visit_days_total, 0) AS visit_days_total,
    ua.days_since_first_event,
    ua.sessions_per_day,
    ua.visit_recency_over_typical_gap,
    ua.sessions_after_complaint,
    ua.searches_after_complaint,
    ua.add_to_cart_after_complaint,
    COALESCE(ua.page_views_7d, 0) AS page_views_7d,
    COALESCE(ua.page_views_30d, 0) AS page_views_30d,
    COALESCE(ua.page_views_90d, 0) AS page_views_90d,
    COALESCE(ua.clicks_7d, 0) AS clicks_7d,
    COALESCE(ua.clicks_30d, 0) AS clicks_30d,
    COALESCE(ua.clicks_90d, 0) AS clicks_90d,
    COALESCE(ua.searches_7d, 0) AS searches_7d,
    COALESCE(ua.searches_30d, 0) AS searches_30d,
    COALESCE(ua.searches_90d, 0) AS searches_90d,
    COALESCE(ua.add_to_cart_7d, 0) AS add_to_cart_7d,
    COALESCE(ua.add_to_cart_30d, 0) AS add_to_cart_30d,
    COALESCE(ua.add_to_cart_90d, 0) AS add_to_cart_90d,
    ua.avg_session_minutes_30d,
    ua.sessions_trend_7_30,
    ua.page_views_trend_7_30,
    ua.days_since_last_event,
    COALESCE(ua.searches_without_purchase_30d, 0) AS searches_without_purchase_30d,
    COALESCE(ua.events_total, 0) AS events_total,
    -- orders (staging.orders)
    COALESCE(uo.orders_7d, 0) AS orders_7d,
    COALESCE(uo.orders_30d, 0) AS orders_30d,
    COALESCE(uo.orders_90d, 0) AS orders_90d,
    COALESCE(uo.orders_total, 0) AS orders_total,
    uo.days_since_last_order,
    uo.days_since_first_order,
    uo.mean_gap_days,
    uo.std_gap_days,
    uo.recency_over_typical_gap,
    COALESCE(uo.amount_sum_90d, 0) AS amount_sum_90d,
    COALESCE(uo.amount_sum_total, 0) AS amount_sum_total,
    uo.amount_mean,
    uo.amount_max,
    uo.amount_min,
    COALESCE(uo.discount_share, 0) AS discount_share,
    COALESCE(uo.category_count, 0) AS category_count,
    COALESCE(uo.category_entropy, 0) AS category_entropy,
    COALESCE(uo.orders_all_total, 0) AS orders_all_total,
    COALESCE(uo.cancel_rate, 0) AS cancel_rate,
    COALESCE(uo.refund_rate, 0) AS refund_rate,
    COALESCE(uo.return_rate, 0) AS return_rate,
    COALESCE(uo.late_deliveries_30d, 0) AS late_deliveries_30d,
    COALESCE(uo.late_deliveries_90d, 0) AS late_deliveries_90d,
    uo.mean_delivery_days,
    COALESCE(uo.bgnbd_frequency, 0) AS bgnbd_frequency,
    uo.bgnbd_recency,
    uo.bgnbd_T,
    -- reviews (staging.reviews)
    COALESCE(ur.reviews_90d, 0) AS reviews_90d,
    ur.rating_mean_90d,
    ur.rating_min_90d,
    COALESCE(ur.negative_share_90d, 0) AS negative_share_90d,
    COALESCE(ur.complaints_30d, 0) AS complaints_30d,
    COALESCE(ur.complaints_90d, 0) AS complaints_90d,
    COALESCE(ur.questions_90d, 0) AS questions_90d,
    ur.days_since_last_complaint,
    COALESCE(ur.reviews_total, 0) AS reviews_total,
    -- profile (staging.users)
    up.tenure_days,
    COALESCE(up.tenure_source, 'unknown') AS tenure_source,
    COALESCE(up.region, 'unknown') AS region,
    COALESCE(up.channel, 'unknown') AS channel,
    COALESCE(up.membership, 'none') AS membership,
    COALESCE(up.has_profile, 0) AS has_profile,
    -- tags
    CASE WHEN COALESCE(uo.orders_90d, 0) >= CAST($high_frequency_orders AS INTEGER) THEN 1 ELSE 0 END
        AS tag_high_frequency,
    CASE
        WHEN up.tenure_days >= CAST($loyal_tenure_days AS INTEGER)
            AND COALESCE(uo.orders_total, 0) >= CAST($loyal_min_orders AS INTEGER)
        THEN 1 ELSE 0
    END AS tag_loyal,
    CASE WHEN COALESCE(uo.orders_90d, 0) <= 1 THEN 1 ELSE 0 END AS tag_low_frequency,
    CASE WHEN up.tenure_days < CAST($new_user_days AS INTEGER) THEN 1 ELSE 0 END AS tag_new,
    CASE
        WHEN uo.days_since_last_order IS NULL OR uo.days_since_last_order > CAST($dormant_days AS INTEGER)
        THEN 1 ELSE 0
    END AS tag_dormant,
    -- review text model (NULL when the user wrote nothing in the window)
    ts.text_neg_mean_30d,
    ts.text_neg_max_30d,
    ts.text_neg_mean_90d,
    ts.text_neg_max_90d,
    -- behaviour sequence for the BERT models
    COALESCE(et.event_tokens, 'now_empty') AS event_tokens,
    COALESCE(et.sequence_items, 0) AS sequence_items
FROM features.active_users AS a
LEFT JOIN features.user_activity AS ua
    ON ua.user_id = a.user_id
    AND ua.as_of_date = a.as_of_date
LEFT JOIN features.user_orders AS uo
    ON uo.user_id = a.user_id
    AND uo.as_of_date = a.as_of_date
LEFT JOIN features.user_reviews AS ur
    ON ur.user_id = a.user_id
    AND ur.as_of_date = a.as_of_date
LEFT JOIN features.user_profile AS up
    ON up.user_id = a.user_id
    AND up.as_of_date = a.as_of_date
LEFT JOIN features.user_text_signals AS ts
    ON ts.user_id = a.user_id
    AND ts.as_of_date = a.as_of_date
LEFT JOIN features.user_event_tokens AS et
    ON et.user_id = a.user_id
    AND et.as_of_date = a.as_of_date
