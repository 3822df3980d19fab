"""The blocking model check: the champion must reach a ROC-AUC floor on the test window before it scores.

It re-scores `churn_model@champion` itself (not the number logged at training), so a model that reached the
alias any other way is checked too. It runs after ml/champion in train_job and at the start of every
score_job run; being blocking, a failure skips scoring/risk_list in that run. A scoring run without the
check (e.g. the risk list materialized alone) refuses a champion version whose latest check failed
(`refuse_failed_champion`).
"""

import dagster as dg
import numpy as np
from pydantic import Field

from churn_assets.resources import DUCKDB_POOL, DuckDBWarehouse, MlflowTracking
from churn_assets.tracking import load_champion

CHAMPION = dg.AssetKey(["ml", "champion"])
CHAMPION_CHECK = dg.AssetCheckKey(CHAMPION, "champion_auc_above_floor")


class ChampionCheckConfig(dg.Config):
    min_test_roc_auc: float = Field(default=0.6, description="the champion's ROC-AUC on the test window must reach this")


def champion_test_auc(model, test) -> float:
    from sklearn.metrics import roc_auc_score

    y = test["churned"].to_numpy()
    if len(np.unique(y)) < 2:
        raise ValueError(f"the test window has {len(y)} rows of one class only: no ROC-AUC")
    return float(roc_auc_score(y, model.predict_proba(test)[:, 1]))


@dg.asset_check(
    asset=CHAMPION, name=CHAMPION_CHECK.name, blocking=True, pool=DUCKDB_POOL,
    description="The model behind churn_model@champion, re-scored on the test window of marts.training_set, reaches "
    "min_test_roc_auc (default 0.6). Blocking: a failing champion does not score.",
)
def champion_auc_above_floor(
    context: dg.AssetCheckExecutionContext, config: ChampionCheckConfig, duckdb: DuckDBWarehouse, mlflow: MlflowTracking
) -> dg.AssetCheckResult:
    loaded = load_champion(mlflow)
    if loaded is None:
        return dg.AssetCheckResult(passed=False, description=f"no model has the alias {mlflow.champion_uri()}")
    model, version = loaded
    with duckdb.connect(read_only=True) as con:
        test = con.execute("SELECT * FROM marts.training_set WHERE split = 'test'").df()
    metadata = {
        "champion_version": str(version.version),
        "champion_model": version.tags.get("model", ""),
        "test_rows": len(test),
        "min_test_roc_auc": config.min_test_roc_auc,
    }
    try:
        auc = champion_test_auc(model, test)
    except Exception as exc:  # a champion that cannot score the test window is as broken as a bad one
        return dg.AssetCheckResult(passed=False, metadata=metadata, description=f"the champion cannot be evaluated: {exc}")
    passed = auc >= config.min_test_roc_auc
    return dg.AssetCheckResult(
        passed=passed,
        metadata={**metadata, "test_roc_auc": auc},
        description=f"champion v{version.version}: test ROC-AUC {auc:.4f} "
        f"{'>=' if passed else '<'} floor {config.min_test_roc_auc}",
    )


def latest_champion_check(instance: dg.DagsterInstance) -> tuple[bool, str] | None:
    """(passed, champion version) of the newest evaluation of the champion check, or None if never run."""
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    done = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
    records = instance.event_log_storage.get_asset_check_execution_history(CHAMPION_CHECK, limit=1, status=done)
    if not records or records[0].event is None:
        return None
    evaluation = records[0].event.dagster_event.event_specific_data
    version = evaluation.metadata.get("champion_version")
    return bool(evaluation.passed), str(version.value) if version is not None else ""


def refuse_failed_champion(instance: dg.DagsterInstance, version: str) -> str:
    """Raise when the newest champion check failed for this champion version; else say what is known."""
    latest = latest_champion_check(instance)
    if latest is None:
        return f"champion v{version} has not been checked on this Dagster instance"
    passed, checked_version = latest
    if checked_version != version:
        return f"champion v{version} has not been checked yet (last check was on v{checked_version})"
    if not passed:
        raise RuntimeError(
            f"champion v{version} failed its check {CHAMPION_CHECK.name} (test ROC-AUC below the floor): it does not "
            "score. Retrain (train_job) or move the alias to a model that passes."
        )
    return f"champion v{version} passed {CHAMPION_CHECK.name}"
