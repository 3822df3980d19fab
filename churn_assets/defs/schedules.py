"""Schedules: score yesterday every morning, retrain every week.

Cron strings and the timezone come from the environment when the definitions are built (build_schedules):
CHURN_SCORE_CRON (default "0 6 * * *"), CHURN_RETRAIN_CRON (default "0 3 * * 0", Sunday 03:00) and
CHURN_TIMEZONE (default "UTC", any IANA name such as "Europe/Berlin").
"""

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from churn_assets.defs.jobs import daily_score_job, retrain_job

SCORE_CRON_ENV, RETRAIN_CRON_ENV, TIMEZONE_ENV = "CHURN_SCORE_CRON", "CHURN_RETRAIN_CRON", "CHURN_TIMEZONE"
DEFAULT_SCORE_CRON, DEFAULT_RETRAIN_CRON, DEFAULT_TIMEZONE = "0 6 * * *", "0 3 * * 0", "UTC"


def cron_from_env(env: str, default: str) -> str:
    value = os.environ.get(env) or default
    try:  # Dagster's own check of a cron string, through its public API
        dg.ScheduleDefinition(name="cron_probe", cron_schedule=value, job_name="cron_probe")
    except dg.DagsterInvalidDefinitionError:
        raise ValueError(f"{env}={value!r} is not a valid cron string (e.g. {default!r})") from None
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


def make_daily_scoring_schedule(cron: str, tz: str, partitions: dg.PartitionsDefinition) -> dg.ScheduleDefinition:
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
        if not partitions.has_partition_key(day):
            first = partitions.get_first_partition_key()
            return dg.SkipReason(f"{day} is not a daily partition (they start at {first})")
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


def build_schedules(partitions: dg.PartitionsDefinition) -> list[dg.ScheduleDefinition]:
    """Both schedules, with their cron strings and timezone read from the environment now."""
    tz = timezone_from_env()
    return [
        make_daily_scoring_schedule(cron_from_env(SCORE_CRON_ENV, DEFAULT_SCORE_CRON), tz, partitions),
        make_weekly_retrain_schedule(cron_from_env(RETRAIN_CRON_ENV, DEFAULT_RETRAIN_CRON), tz),
    ]
