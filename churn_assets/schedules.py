"""Schedules: score yesterday every morning, retrain every week.

Cron strings and the timezone come from the environment when the code location loads:
CHURN_SCORE_CRON (default "0 6 * * *"), CHURN_RETRAIN_CRON (default "0 3 * * 0", Sunday 03:00) and
CHURN_TIMEZONE (default "UTC", any IANA name such as "Europe/Berlin").
"""

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string

from churn_assets.jobs import daily_score_job, retrain_job
from churn_assets.partitions import daily_partitions

SCORE_CRON_ENV, RETRAIN_CRON_ENV, TIMEZONE_ENV = "CHURN_SCORE_CRON", "CHURN_RETRAIN_CRON", "CHURN_TIMEZONE"
DEFAULT_SCORE_CRON, DEFAULT_RETRAIN_CRON, DEFAULT_TIMEZONE = "0 6 * * *", "0 3 * * 0", "UTC"


def cron_from_env(env: str, default: str) -> str:
    value = os.environ.get(env) or default
    if not is_valid_cron_string(value):
        raise ValueError(f"{env}={value!r} is not a valid cron string (e.g. {default!r})")
    return value


def timezone_from_env() -> str:
    value = os.environ.get(TIMEZONE_ENV) or DEFAULT_TIMEZONE
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{TIMEZONE_ENV}={value!r} is not an IANA timezone (e.g. 'UTC', 'Europe/Berlin')") from exc
    return value


def previous_day(scheduled: datetime) -> str:
    """The day before the tick's date (the tick time is in the schedule's timezone): the last complete day."""
    return (scheduled.date() - timedelta(days=1)).isoformat()


def make_daily_scoring_schedule(cron: str, tz: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="daily_scoring_schedule",
        job=daily_score_job,
        cron_schedule=cron,
        execution_timezone=tz,
        description="Every morning: refresh staging, score every active user for yesterday's partition with the "
        f"champion, measure yesterday's drift. Cron {cron!r} ({SCORE_CRON_ENV}), timezone {tz} ({TIMEZONE_ENV}).",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def _daily_scoring(context: dg.ScheduleEvaluationContext):
        day = previous_day(context.scheduled_execution_time)
        if not daily_partitions.has_partition_key(day):
            return dg.SkipReason(f"{day} is not a daily partition (they start at {daily_partitions.start.date()})")
        return dg.RunRequest(run_key=day, partition_key=day, tags={"churn/trigger": "daily_scoring_schedule"})

    return _daily_scoring


def make_weekly_retrain_schedule(cron: str, tz: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="weekly_retrain_schedule",
        job=retrain_job,
        cron_schedule=cron,
        execution_timezone=tz,
        description="Every week: rebuild the training set with the newest data, retrain every model, move the "
        f"champion alias when earned. Cron {cron!r} ({RETRAIN_CRON_ENV}), timezone {tz} ({TIMEZONE_ENV}).",
        tags={"churn/trigger": "weekly_retrain_schedule"},
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )


daily_scoring_schedule = make_daily_scoring_schedule(
    cron_from_env(SCORE_CRON_ENV, DEFAULT_SCORE_CRON), timezone_from_env()
)
weekly_retrain_schedule = make_weekly_retrain_schedule(
    cron_from_env(RETRAIN_CRON_ENV, DEFAULT_RETRAIN_CRON), timezone_from_env()
)
