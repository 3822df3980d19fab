"""MLflow bookkeeping: one run per trained model, the registered model and its `champion` alias."""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from churn_assets.ml.champion import ChampionDecision
from churn_assets.ml.models.base import ChurnModel
from churn_assets.ml.pyfunc import ChurnPyfunc

if TYPE_CHECKING:  # the resource is Dagster's; the store functions only use its fields
    from churn_assets.defs.resources import MlflowTracking

RUNTIME_PACKAGES = ("mlflow", "pandas", "numpy", "scikit-learn", "lightgbm", "scipy", "joblib")
TORCH_PACKAGES = ("torch", "transformers", "safetensors")


def pip_requirements(model: ChurnModel | None = None) -> list[str]:
    names = list(RUNTIME_PACKAGES)
    inner = getattr(model, "base", model)  # a calibrated wrapper needs what its base needs
    if inner is not None and any(m in type(inner).__module__ for m in ("bert", "hybrid")):
        names += TORCH_PACKAGES
    return [f"{name}=={version(name)}" for name in names]


def _flat_params(params: dict[str, Any]) -> dict[str, str]:
    return {k: str(v)[:500] for k, v in params.items()}


def log_model_run(
    tracking: MlflowTracking,
    model: ChurnModel,
    run_name: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    X_example: pd.DataFrame,
    plots: dict[str, Path] | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Log params, metrics, plots and the model (pyfunc with signature and pinned pip requirements).

    Returns (run_id, model_uri)."""
    # integer columns as doubles: a count can be missing at serving time, and MLflow's schema
    # enforcement rejects floats in an integer column
    example = X_example.head(50).apply(lambda s: s.astype("float64") if pd.api.types.is_integer_dtype(s) else s)
    with tracking.start_run(run_name, tags=tags) as run:
        mlflow.log_params(_flat_params(params))
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})
        for path in (plots or {}).values():
            mlflow.log_artifact(str(path), artifact_path="plots")
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = model.save(Path(tmp) / "churn_model")
            wrapper = ChurnPyfunc()
            wrapper.model = model
            signature = infer_signature(example, wrapper.predict(None, example))
            wrapper.model = None
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=wrapper,
                artifacts={"model_dir": str(model_dir)},
                signature=signature,
                pip_requirements=pip_requirements(model),
            )
    return run.info.run_id, info.model_uri


def load_model_version(tracking: MlflowTracking, mv: Any) -> ChurnModel:
    """The model of one registered version (by number: the alias may move meanwhile)."""
    mlflow.set_tracking_uri(tracking.resolved_uri())
    pyfunc = mlflow.pyfunc.load_model(f"models:/{tracking.registered_model}/{mv.version}")
    return pyfunc.unwrap_python_model().model


def load_champion(tracking: MlflowTracking) -> tuple[ChurnModel, Any] | None:
    """The model behind `<registered_model>@champion` and its version, or None when there is none yet."""
    mv = tracking.champion_version()
    if mv is None:
        return None
    return load_model_version(tracking, mv), mv


def apply_decision(
    tracking: MlflowTracking, decision: ChampionDecision, extra_tags: dict[str, str] | None = None
) -> str | None:
    """Register the challenger and move the alias when the decision says so; log the decision as a run.

    Returns the new champion's version, or None when the champion was kept."""
    tracking.setup()
    new_version = None
    if decision.promote:
        mv = mlflow.register_model(decision.challenger.model_uri, tracking.registered_model)
        client = tracking.client()
        client.set_registered_model_alias(tracking.registered_model, tracking.champion_alias, mv.version)
        client.set_model_version_tag(tracking.registered_model, mv.version, "model", decision.challenger.name)
        client.set_model_version_tag(
            tracking.registered_model, mv.version, "test_roc_auc", f"{decision.challenger.test_auc:.4f}"
        )
        new_version = str(mv.version)
    with tracking.start_run("champion_decision", tags={"kind": "champion_decision", **(extra_tags or {})}):
        mlflow.log_params(
            {"challenger": decision.challenger.name, "promoted": decision.promote, "reason": decision.reason[:500]}
        )
        metrics = {
            "challenger_valid_roc_auc": decision.challenger.valid_auc,
            "challenger_test_roc_auc": decision.challenger.test_auc,
        }
        if decision.champion_test_auc is not None:
            metrics["champion_test_roc_auc"] = decision.champion_test_auc
        mlflow.log_metrics(metrics)
    return new_version
