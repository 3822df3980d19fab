"""The blocking model check: the champion must reach a ROC-AUC floor on the test window before it scores.

It re-scores `churn_model@champion` itself (not the number logged at training), so a model that reached the
alias any other way is checked too. It runs after ml/champion in train_job and at the start of every
score_job run; being blocking, a failure skips scoring/risk_list in that run. A scoring run without the
check (e.g. the risk list materialized alone) refuses a champion version whose latest check failed
(`refuse_failed_champion`).

Re-scoring takes minutes for a BERT or hybrid champion, and the AUC depends only on the champion version
and the test window. So the check fingerprints the test window in DuckDB (rows, first/last day, a sum of
row hashes over every column, the column names and types) and, when the newest evaluation on this Dagster
instance scored the same version on the same fingerprint, reuses its AUC without loading the model; the
verdict is recomputed against this run's floor. An evaluation without an AUC (a champion that could not
score) is never reused.
"""

import hashlib
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import numpy as np
from pydantic import Field

from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse, MlflowTracking
from churn_assets.warehouse.mlflow_store import load_model_version

CHAMPION = dg.AssetKey(["ml", "champion"])
CHAMPION_CHECK = dg.AssetCheckKey(CHAMPION, "champion_auc_above_floor")


class ChampionCheckConfig(dg.Config):
    min_test_roc_auc: float = Field(
        default=0.6, description="the champion's ROC-AUC on the test window must reach this"
    )


def champion_test_auc(model, test) -> float:
    from sklearn.metrics import roc_auc_score

    y = test["churned"].to_numpy()
    if len(np.unique(y)) < 2:
        raise ValueError(f"the test window has {len(y)} rows of one class only: no ROC-AUC")
    return float(roc_auc_score(y, model.predict_proba(test)[:, 1]))


TEST_WINDOW = "SELECT * FROM marts.training_set WHERE split = 'test'"


def fingerprint_test_window(con) -> dict[str, Any]:
    """Rows, first and last day and a fingerprint of the test window's content: equal fingerprints, equal AUC.

    The sum of row hashes (as HUGEINT: no overflow, duplicates do not cancel) ignores row order; the column
    names and types go into the fingerprint too."""
    rows, first, last, hash_sum = con.execute(
        f"SELECT count(*), min(as_of_date), max(as_of_date), sum(hash(w)::HUGEINT) FROM ({TEST_WINDOW}) w"
    ).fetchone()
    columns = con.execute(
        "SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = 'training_set'"
    ).fetchone()[0]
    content = f"{rows}|{first}|{last}|{hash_sum}|{columns}"
    return {
        "test_rows": int(rows),
        "test_first_day": str(first),
        "test_last_day": str(last),
        "test_window_fingerprint": hashlib.sha256(content.encode()).hexdigest()[:16],
    }


@dataclass(frozen=True)
class ChampionCheckRecord:
    """The newest evaluation of the champion check: its verdict, the version it checked and its figures."""

    passed: bool
    version: str
    run_id: str
    figures: dict[str, Any] = field(default_factory=dict)

    def reusable_auc(self, version: Any, window: dict[str, Any]) -> float | None:
        """Its AUC when it scored this very model version on this very test window; else None."""
        f = self.figures
        same = (
            f.get("champion_version") == str(version.version)
            and f.get("champion_run_id") == (version.run_id or "")
            and f.get("test_window_fingerprint") == window["test_window_fingerprint"]
        )
        auc = f.get("test_roc_auc")
        return float(auc) if same and isinstance(auc, (int, float)) else None


@dg.asset_check(
    asset=CHAMPION,
    name=CHAMPION_CHECK.name,
    blocking=True,
    pool=DUCKDB_POOL,
    description="The model behind churn_model@champion, re-scored on the test window of marts.training_set, reaches "
    "min_test_roc_auc (default 0.6). Blocking: a failing champion does not score. The AUC is reused from the "
    "newest evaluation when it scored the same champion version on the same test window (same fingerprint).",
)
def champion_auc_above_floor(
    context: dg.AssetCheckExecutionContext, config: ChampionCheckConfig, duckdb: DuckDBWarehouse, mlflow: MlflowTracking
) -> dg.AssetCheckResult:
    version = mlflow.champion_version()
    if version is None:
        return dg.AssetCheckResult(passed=False, description=f"no model has the alias {mlflow.champion_uri()}")
    previous = latest_champion_check(context.instance)
    with duckdb.connect(read_only=True) as con:
        window = fingerprint_test_window(con)
        auc = previous.reusable_auc(version, window) if previous else None
        # the window is read only when it is scored, in the same connection as its fingerprint
        test = con.execute(TEST_WINDOW).df() if auc is None else None
    # a reused AUC names the run that scored it, however many runs reused it since
    scored_in_run = previous.figures.get("scored_in_run", previous.run_id) if auc is not None else context.run.run_id
    metadata = {
        "champion_version": str(version.version),
        "champion_model": version.tags.get("model", ""),
        "champion_run_id": version.run_id or "",
        **window,
        "min_test_roc_auc": config.min_test_roc_auc,
        "reused": auc is not None,
        "scored_in_run": scored_in_run,
    }
    if auc is None:
        try:
            auc = champion_test_auc(load_model_version(mlflow, version), test)
        except Exception as exc:  # a champion that cannot score the test window is as broken as a bad one
            return dg.AssetCheckResult(
                passed=False, metadata=metadata, description=f"the champion cannot be evaluated: {exc}"
            )
    passed = auc >= config.min_test_roc_auc
    how = f"reused from run {scored_in_run}" if metadata["reused"] else "scored in this run"
    return dg.AssetCheckResult(
        passed=passed,
        metadata={**metadata, "test_roc_auc": auc},
        description=f"champion v{version.version}: test ROC-AUC {auc:.4f} "
        f"{'>=' if passed else '<'} floor {config.min_test_roc_auc} ({how})",
    )


def latest_champion_check(instance: dg.DagsterInstance) -> ChampionCheckRecord | None:
    """The newest evaluation of the champion check on this instance, or None if it never ran."""
    # the current run's own evaluation is planned, not done: only finished evaluations count
    history = instance.event_log_storage.get_asset_check_execution_history(CHAMPION_CHECK, limit=50)
    records = [r for r in history if r.status.value in ("SUCCEEDED", "FAILED") and r.event is not None]
    if not records:
        return None
    evaluation = records[0].event.dagster_event.event_specific_data
    figures = {k: v.value for k, v in evaluation.metadata.items()}
    version = figures.get("champion_version")
    checked = str(version) if version is not None else ""
    return ChampionCheckRecord(bool(evaluation.passed), checked, records[0].run_id, figures)


def refuse_failed_champion(instance: dg.DagsterInstance, version: str) -> str:
    """Raise when the newest champion check failed for this champion version; else say what is known."""
    latest = latest_champion_check(instance)
    if latest is None:
        return f"champion v{version} has not been checked on this Dagster instance"
    if latest.version != version:
        return f"champion v{version} has not been checked yet (last check was on v{latest.version})"
    if not latest.passed:
        raise RuntimeError(
            f"champion v{version} failed its check {CHAMPION_CHECK.name} (test ROC-AUC below the floor): it does not "
            "score. Retrain (train_job) or move the alias to a model that passes."
        )
    return f"champion v{version} passed {CHAMPION_CHECK.name}"
