"""A small simulated shop run through the real Dagster jobs in a temporary data directory."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from churn_assets.definitions import build_definitions
from churn_assets.pipeline import ingest_range, landing_days, run_job
from churn_assets.simulate import ShopConfig, simulate_shop

SMALL_TEXT_MODEL = {"max_train_texts": 300, "fine_tune_layers": 1, "epochs": 1, "batch_size": 32, "max_len": 64}
CLASSIC_MODELS = ["recency_rule", "bgnbd", "logistic", "gbt"]


@contextmanager
def data_dir_env(path: Path):
    """Point every default path (DuckDB, MLflow, exports, truth) at `path` while building definitions."""
    old = os.environ.get("CHURN_DATA_DIR")
    os.environ["CHURN_DATA_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CHURN_DATA_DIR", None)
        else:
            os.environ["CHURN_DATA_DIR"] = old


@dataclass
class Shop:
    base: Path
    defs: dg.Definitions
    instance: dg.DagsterInstance

    @property
    def db(self) -> Path:
        return self.base / "churn.duckdb"

    def query(self, sql: str, params=None):
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql, params or []).df()

    def listed(self, day) -> int:
        """Rows of the risk list for `day`; 0 also before anything was scored (no scoring schema yet)."""
        with duckdb.connect(str(self.db), read_only=True) as con:
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'scoring' AND table_name = 'risk_list'"
            ).fetchone()[0]
            if not exists:
                return 0
            return con.execute("SELECT count(*) FROM scoring.risk_list WHERE as_of_date = ?", [day]).fetchone()[0]

    def days(self):
        return landing_days(self.base / "landing")

    def ingest(self, first=None, last=None):
        days = self.days()
        return ingest_range(self.defs, self.instance, first or days[0], last or days[-1], landing=self.base / "landing")

    def build(self):
        config = {"ops": {"ml__review_negativity": {"config": SMALL_TEXT_MODEL}}}
        return run_job(self.defs, "build_job", self.instance, run_config=config)

    def train(self, models=None):
        config = {"ops": {"ml__trained_models": {"config": {"models": models or CLASSIC_MODELS}}}}
        return run_job(self.defs, "train_job", self.instance, run_config=config)

    def score(self, day: str):
        return run_job(self.defs, "score_job", self.instance, tags={"dagster/partition": day})


def make_shop(base: Path, n_users: int = 1500, n_days: int = 170, seed: int = 11) -> Shop:
    simulate_shop(base, ShopConfig(n_users=n_users, n_days=n_days, seed=seed))
    return Shop(base, build_definitions(), dg.DagsterInstance.ephemeral())


@contextmanager
def trained_shop(base: Path, n_users: int, models: list[str], jobs=()):
    """A shop ingested, built and trained (`models`), with extra `jobs`, its data dir set while in use."""
    with data_dir_env(base):
        shop = make_shop(base, n_users=n_users)
        shop.ingest()
        shop.build()
        shop.train(models=models)
        shop.defs = dg.Definitions.merge(shop.defs, dg.Definitions(jobs=list(jobs)))
        yield shop


def register_inverted_champion(shop) -> str:
    """A logistic regression fitted on flipped labels, registered and given the champion alias."""
    from churn_assets.ml.champion import Candidate, ChampionDecision
    from churn_assets.ml.dataset import split_frames
    from churn_assets.ml.models.registry import create_model
    from churn_assets.resources import MlflowTracking
    from churn_assets.tracking import apply_decision, log_model_run

    frames = split_frames(shop.query("SELECT * FROM marts.training_set"))
    X, y = frames["train"]
    model = create_model("logistic").fit(X, 1 - y)
    tracking = MlflowTracking()
    run_id, uri = log_model_run(tracking, model, "inverted", {"model": "inverted"}, {}, X)
    broken = Candidate("inverted_logistic", 0.0, 0.0, run_id, uri)
    return apply_decision(tracking, ChampionDecision(broken, None, True, "test: a broken champion"))
