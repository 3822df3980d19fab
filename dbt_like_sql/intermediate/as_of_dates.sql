-- The as-of dates features and labels are computed for: every $as_of_step_days days counted back
-- from the last data day (so the newest day is always one), starting $min_history_days after the first day.
SELECT CAST(w.last_date - CAST(step.k * $as_of_step_days AS INTEGER) AS DATE) AS as_of_date
FROM intermediate.data_window AS w
CROSS JOIN range(0, 10000) AS step(k)
WHERE w.last_date - CAST(step.k * $as_of_step_days AS INTEGER) >= w.first_date + CAST($min_history_days AS INTEGER)
