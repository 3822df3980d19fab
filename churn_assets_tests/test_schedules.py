"""The daily scoring and weekly retraining schedules, evaluated with Dagster's test contexts."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from churn_assets.defs import schedules
from churn_assets_tests.sensor_helpers import repository


@pytest.fixture
def repo():
    return repository()


def schedule(name: str) -> dg.ScheduleDefinition:
    return repository().get_schedule_def(name)


def schedule_tick(schedule: dg.ScheduleDefinition, repo, when: datetime):
    return schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=when, repository_def=repo))


def test_daily_schedule_scores_the_previous_day_with_the_daily_job(repo):
    data = schedule_tick(schedule("daily_scoring_schedule"), repo, datetime(2026, 3, 15, 6, 0, tzinfo=UTC))
    [request] = data.run_requests
    assert request.partition_key == "2026-03-14"
    assert request.tags["dagster/partition"] == "2026-03-14"
    assert request.run_key == "2026-03-14"
    sched = schedule("daily_scoring_schedule")
    assert (sched.job_name, sched.cron_schedule, sched.execution_timezone) == ("daily_score_job", "0 6 * * *", "UTC")
    # the job refreshes staging before scoring, so the day's new rows are seen; it is partitioned by day
    job = repo.get_job("daily_score_job")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    daily = {"staging/orders", "staging/events", "scoring/risk_list", "monitoring/drift", "monitoring/realized_churn"}
    assert daily <= keys
    # new reviews are scored with the saved text model; the model itself is refit only by retrain_job
    assert "ml/new_review_scores" in keys and "ml/review_negativity" not in keys
    assert job.partitions_def is not None and job.partitions_def.has_partition_key("2026-03-14")


def test_daily_schedule_uses_the_configured_time_and_timezone(monkeypatch, repo):
    monkeypatch.setenv("CHURN_SCORE_CRON", "30 5 * * *")
    monkeypatch.setenv("CHURN_TIMEZONE", "Pacific/Auckland")
    sched = schedules.make_daily_scoring_schedule(
        schedules.cron_from_env(schedules.SCORE_CRON_ENV, schedules.DEFAULT_SCORE_CRON),
        schedules.timezone_from_env(),
        repo.get_job("daily_score_job").partitions_def,
    )
    assert (sched.cron_schedule, sched.execution_timezone) == ("30 5 * * *", "Pacific/Auckland")
    # 05:30 on 15 March in Auckland is still 14 March in UTC: "yesterday" is Auckland's yesterday
    tick = datetime(2026, 3, 15, 5, 30, tzinfo=ZoneInfo("Pacific/Auckland"))
    [request] = schedule_tick(sched, repo, tick).run_requests
    assert request.partition_key == "2026-03-14"
    # the first partition has no previous day to score
    first = datetime(2026, 1, 1, 5, 30, tzinfo=ZoneInfo("Pacific/Auckland"))
    data = schedule_tick(sched, repo, first)
    assert not data.run_requests and "not a daily partition" in data.skip_message


def test_bad_cron_or_timezone_names_the_variable(monkeypatch):
    monkeypatch.setenv("CHURN_SCORE_CRON", "every morning")
    with pytest.raises(ValueError, match="CHURN_SCORE_CRON"):
        schedules.cron_from_env(schedules.SCORE_CRON_ENV, schedules.DEFAULT_SCORE_CRON)
    monkeypatch.setenv("CHURN_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="CHURN_TIMEZONE"):
        schedules.timezone_from_env()


def test_weekly_schedule_runs_the_retraining_job(repo):
    sched = schedule("weekly_retrain_schedule")
    assert sched.job_name == "retrain_job"
    assert sched.cron_schedule == "0 3 * * 0"
    [request] = schedule_tick(sched, repo, datetime(2026, 3, 15, 3, 0, tzinfo=UTC)).run_requests
    assert request.tags["churn/trigger"] == "weekly_retrain_schedule"
    # retraining refreshes the training set first, then trains
    job = repo.get_job("retrain_job")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"staging/orders", "marts/training_set", "ml/trained_models", "ml/champion", "reports/evaluation"} <= keys
