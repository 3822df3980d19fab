"""Training assets: every registered model fitted on the train window, tracked in MLflow; the champion."""

import tempfile
import time
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse, MlflowTracking, PipelineSettings
from churn_assets.ml.champion import Candidate, decide_champion
from churn_assets.ml.dataset import KEYS, split_frames
from churn_assets.ml.metrics import binary_metrics
from churn_assets.ml.models.calibration import CalibratedModel
from churn_assets.ml.models.registry import create_model
from churn_assets.ml.plots import plot_all
from churn_assets.ml.thresholds import best_f1_threshold
from churn_assets.warehouse.mlflow_store import apply_decision, load_champion, log_model_run
from churn_assets.warehouse.tables import replace_table

PREDICTIONS = "ml.predictions"
MODEL_RUNS = "ml.model_runs"


class TrainingConfig(dg.Config):
    models: list[str] = Field(
        default=["recency_rule", "bgnbd", "logistic", "gbt", "behaviour_bert", "hybrid_gbt"],
        description="registered model names to train (hybrid_gbt reuses the behaviour_bert trained before it)",
    )
    calibration: str = Field(
        default="isotonic", description="isotonic | sigmoid | none (fitted on the validation window)"
    )
    seed: int = 7
    gbt_n_estimators: int = 600
    gbt_learning_rate: float = 0.03
    gbt_num_leaves: int = 15
    gbt_min_child_samples: int = 50
    logistic_C: float = 0.5
    bert_hidden_size: int = Field(default=64, description="behaviour BERT width")
    bert_layers: int = Field(default=2, description="behaviour BERT transformer layers")
    bert_heads: int = 2
    bert_max_len: int = Field(default=128, description="latest tokens kept per user")
    bert_epochs: int = Field(default=3, description="fine-tuning epochs (early stopping on validation)")
    bert_pretrain_epochs: int = Field(default=1, description="masked-token pretraining epochs")
    bert_batch_size: int = 64
    bert_max_train_rows: int = Field(default=15_000, description="fine-tuning rows (subsampled)")
    bert_max_pretrain_rows: int = Field(default=15_000, description="pretraining sequences (subsampled)")
    max_train_rows: int = Field(
        default=0,
        description="0 = every row; else the train window is cut to about this many rows (whole users, "
        "chosen by a hash of user_id) before it is read into memory; validation and test stay whole",
    )

    def bert_params(self) -> dict:
        return dict(
            hidden_size=self.bert_hidden_size,
            num_hidden_layers=self.bert_layers,
            num_attention_heads=self.bert_heads,
            intermediate_size=2 * self.bert_hidden_size,
            max_len=self.bert_max_len,
            epochs=self.bert_epochs,
            pretrain_epochs=self.bert_pretrain_epochs,
            batch_size=self.bert_batch_size,
            max_train_rows=self.bert_max_train_rows,
            max_pretrain_rows=self.bert_max_pretrain_rows,
            seed=self.seed,
        )

    def model_params(self, name: str) -> dict:
        if name == "gbt":
            return dict(
                n_estimators=self.gbt_n_estimators,
                learning_rate=self.gbt_learning_rate,
                num_leaves=self.gbt_num_leaves,
                min_child_samples=self.gbt_min_child_samples,
                seed=self.seed,
            )
        if name == "logistic":
            return dict(C=self.logistic_C)
        if name == "behaviour_bert":
            return self.bert_params()
        if name == "hybrid_gbt":
            gbt = self.model_params("gbt")
            return {**gbt, "encoder_params": self.bert_params()}
        return {}


def _extra_params(name: str, settings: PipelineSettings, fitted: dict) -> dict:
    if name == "bgnbd":
        return {"horizon_days": float(settings.horizon_days)}
    if name == "hybrid_gbt" and "behaviour_bert" in fitted:
        return {"encoder": fitted["behaviour_bert"]}  # reuse the behaviour BERT trained in this run
    return {}


def _numeric_training_info(model) -> dict[str, float]:
    """Training time, device and throughput of the torch models, for MLflow."""
    info = getattr(getattr(model, "base", model), "training_info_", None) or {}
    out = {f"train_{k}": float(v) for k, v in info.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if "device" in info:
        out["train_on_cuda"] = float(str(info["device"]).startswith("cuda"))
    return out


def unlabelled_sequences(duckdb: DuckDBWarehouse) -> list[str]:
    with duckdb.connect() as con:
        return [r[0] for r in con.execute("SELECT event_tokens FROM marts.user_features").fetchall()]


# Models that read the behaviour log: on a shop without events their sequences would hold orders only,
# which the tree models already see, so they are left out (with a note) instead of training on nothing new.
NEEDS_EVENTS = ("behaviour_bert", "hybrid_gbt")


def models_for_shop(duckdb: DuckDBWarehouse, requested: list[str]) -> tuple[list[str], dict[str, str]]:
    """The requested models this shop's data can feed, and the skipped ones with the reason."""
    with duckdb.connect() as con:
        has_events = con.execute("SELECT EXISTS (SELECT 1 FROM staging.events)").fetchall()[0][0]
    skipped = {m: "the shop has no events (behaviour log)" for m in requested if m in NEEDS_EVENTS and not has_events}
    models = [m for m in requested if m not in skipped]
    if not models:
        raise ValueError(f"no model left to train: {skipped}")
    return models, skipped


def training_rows(con, max_train_rows: int) -> pd.DataFrame:
    """marts.training_set, with the train window sampled by user in DuckDB when it has more than
    max_train_rows rows (large shops: the sample is drawn before anything is loaded into pandas)."""
    n_train = con.execute("SELECT count(*) FROM marts.training_set WHERE split = 'train'").fetchall()[0][0]
    keep = 1.0 if max_train_rows <= 0 or n_train <= max_train_rows else max_train_rows / n_train
    return con.execute(
        "SELECT * FROM marts.training_set WHERE split <> 'train' OR CAST($keep AS DOUBLE) >= 1.0 "
        "OR hash(user_id) % 1000000 < CAST($keep AS DOUBLE) * 1000000 ORDER BY user_id, as_of_date",
        {"keep": keep},
    ).df()


def data_window(frames: dict, settings: PipelineSettings) -> dict:
    window = {
        "horizon_days": settings.horizon_days,
        "lookback_days": settings.lookback_days,
        "until_date": settings.until_date,
    }
    for split, (X, _) in frames.items():
        window[f"{split}_as_of_first"] = str(X["as_of_date"].min())
        window[f"{split}_as_of_last"] = str(X["as_of_date"].max())
        window[f"{split}_rows"] = len(X)
    return window


def _fit_and_log(
    name, model, frames, config: TrainingConfig, window: dict, mlflow: MlflowTracking, tmp: Path, started: float
):
    """Fit one model (calibrated on validation), log it to MLflow; the fitted model (uncalibrated), its run row and
    its valid/test predictions. train_seconds counts from `started` (pretraining included)."""
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = frames["train"], frames["valid"], frames["test"]
    model.fit(X_tr, y_tr, eval_set=(X_va, y_va))
    fitted = model
    if config.calibration != "none":
        model = CalibratedModel(model, method=config.calibration).calibrate(X_va, y_va)
    p_va, p_te = model.predict_proba(X_va)[:, 1], model.predict_proba(X_te)[:, 1]
    threshold = best_f1_threshold(y_va, p_va)
    metrics = {f"valid_{k}": v for k, v in binary_metrics(y_va, p_va, threshold).items()}
    metrics |= {f"test_{k}": v for k, v in binary_metrics(y_te, p_te, threshold).items()}
    metrics["threshold"] = threshold
    metrics["train_seconds"] = time.monotonic() - started
    metrics |= _numeric_training_info(model)
    plots = plot_all({name: (y_te, p_te)}, tmp / name, prefix=f"{name}_test_")
    run_id, model_uri = log_model_run(
        mlflow,
        model,
        run_name=name,
        params={"model": name, **model.params, **window},
        metrics=metrics,
        X_example=X_te,
        plots=plots,
        tags={"kind": "churn_model", "model": name},
    )
    run = {
        "model": name,
        "run_id": run_id,
        "model_uri": model_uri,
        **{
            k: metrics[k]
            for k in ("valid_roc_auc", "test_roc_auc", "valid_pr_auc", "test_pr_auc", "threshold", "train_seconds")
        },
    }
    predictions = [
        X[KEYS].assign(model=name, split=split, churned=y.to_numpy(), p_churn=p)
        for split, X, y, p in (("valid", X_va, y_va, p_va), ("test", X_te, y_te, p_te))
    ]
    return fitted, run, predictions


TRAINED_MODELS = dg.AssetKey(["ml", "trained_models"])
TRAINING_SET = dg.AssetKey(["marts", "training_set"])
# tables trained_models writes that other assets read: declared, so that the graph shows who reads them
PREDICTIONS_KEY = dg.AssetKey(PREDICTIONS.split("."))
MODEL_RUNS_KEY = dg.AssetKey(MODEL_RUNS.split("."))


@dg.multi_asset(
    name="ml__trained_models",  # the op name run configs address (`ops: ml__trained_models: config: ...`)
    specs=[
        dg.AssetSpec(
            TRAINED_MODELS,
            deps=[TRAINING_SET],
            kinds={"python", "mlflow", "lightgbm", "pytorch"},
            description="Fits every configured model (registry names) on the train window, calibrates on validation "
            "and logs one MLflow run per model. The behaviour BERT is pretrained with masked tokens on every user's "
            "sequence first.",
        ),
        dg.AssetSpec(
            PREDICTIONS_KEY,
            deps=[TRAINING_SET],
            kinds={"duckdb"},
            description="Validation and test predictions of every model trained (read by the evaluation).",
        ),
        dg.AssetSpec(
            MODEL_RUNS_KEY,
            deps=[TRAINING_SET],
            kinds={"duckdb"},
            description="One row per model trained: MLflow run, model URI, validation and test AUC, threshold "
            "(read by the champion decision).",
        ),
    ],
    group_name="training",
    pool=DUCKDB_POOL,  # DuckDB takes one process at a time
)
def trained_models(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    duckdb: DuckDBWarehouse,
    settings: PipelineSettings,
    mlflow: MlflowTracking,
):
    with duckdb.connect() as con:
        frames = split_frames(training_rows(con, config.max_train_rows))
    window = data_window(frames, settings)
    context.log.info(f"training set: {window}")
    models, skipped = models_for_shop(duckdb, config.models)
    for name, why in skipped.items():
        context.log.info(f"{name} skipped: {why}")
    predictions, runs, fitted = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in models:
            started = time.monotonic()
            model = create_model(name, **config.model_params(name), **_extra_params(name, settings, fitted))
            if name == "behaviour_bert":
                # self-supervised pretraining on every user's sequence, labelled or not (no labels read)
                model.pretrain(unlabelled_sequences(duckdb))
            fitted[name], run, model_predictions = _fit_and_log(
                name, model, frames, config, window, mlflow, Path(tmp), started
            )
            context.log.info(
                f"{name}: valid AUC {run['valid_roc_auc']:.4f}, test AUC {run['test_roc_auc']:.4f} "
                f"({run['train_seconds']:.1f}s, run {run['run_id']})"
            )
            runs.append(run)
            predictions.extend(model_predictions)
    preds = pd.concat(predictions, ignore_index=True)
    runs_df = pd.DataFrame(runs)
    with duckdb.connect() as con:
        replace_table(con, PREDICTIONS, preds)
        replace_table(con, MODEL_RUNS, runs_df)
    shown = runs_df.drop(columns=["model_uri"]).round(4)
    yield dg.MaterializeResult(
        asset_key=TRAINED_MODELS,
        metadata={
            "models": dg.MetadataValue.md(shown.to_markdown(index=False)),
            "data_window": dg.MetadataValue.json(window),
            "mlflow_experiment": mlflow.experiment_name,
            "skipped_models": dg.MetadataValue.json(skipped),
        },
    )
    yield dg.MaterializeResult(asset_key=PREDICTIONS_KEY, metadata={"dagster/row_count": len(preds)})
    yield dg.MaterializeResult(asset_key=MODEL_RUNS_KEY, metadata={"dagster/row_count": len(runs_df)})


@dg.asset(
    key=dg.AssetKey(["ml", "champion"]),
    deps=[TRAINED_MODELS, MODEL_RUNS_KEY],
    group_name="training",
    pool=DUCKDB_POOL,  # DuckDB takes one process at a time
    description="Registers the model that is best on validation as `churn_model@champion`, but only when it "
    "also beats the current champion re-scored on the same test window. The decision is logged to MLflow.",
    kinds={"python", "mlflow"},
)
def champion(
    context: dg.AssetExecutionContext, duckdb: DuckDBWarehouse, mlflow: MlflowTracking
) -> dg.MaterializeResult:
    from sklearn.metrics import roc_auc_score

    with duckdb.connect() as con:
        runs = con.execute(f"SELECT * FROM {MODEL_RUNS}").df()
        test = con.execute("SELECT * FROM marts.training_set WHERE split = 'test' ORDER BY user_id, as_of_date").df()
    candidates = [Candidate(r.model, r.valid_roc_auc, r.test_roc_auc, r.run_id, r.model_uri) for r in runs.itertuples()]
    current = load_champion(mlflow)
    champion_auc, current_version = None, None
    if current is not None:
        model, mv = current
        current_version = str(mv.version)
        try:
            champion_auc = float(roc_auc_score(test["churned"], model.predict_proba(test)[:, 1]))
        except Exception as exc:  # a champion that cannot score today's features cannot defend its title
            context.log.warning(f"current champion v{mv.version} cannot score the test window: {exc}")
            champion_auc = float("-inf")
    decision = decide_champion(candidates, champion_auc)
    context.log.info(decision.reason)
    new_version = apply_decision(mlflow, decision)
    version = new_version or current_version
    return dg.MaterializeResult(
        metadata={
            "champion_model": decision.challenger.name if decision.promote else "(unchanged)",
            "champion_version": version or "",
            "promoted": decision.promote,
            "decision": decision.reason,
            "challenger_test_roc_auc": decision.challenger.test_auc,
            "previous_champion_test_roc_auc": champion_auc if champion_auc is not None else float("nan"),
            "model_uri": mlflow.champion_uri(),
        }
    )
