"""A small simulated shop run through the real Dagster jobs in a temporary data directory."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from churn_assets.defs.build import build_definitions
from churn_assets.defs.partitions import RANGE_END, RANGE_START
from churn_assets.defs.resources import MlflowTracking
from churn_assets.ingest.landing_files import landing_days
from churn_assets.simulate import ShopConfig, simulate_shop
from churn_assets.warehouse.contract import SOURCES

SMALL_TEXT_MODEL = {"max_train_texts": 300, "fine_tune_layers": 1, "epochs": 1, "batch_size": 32, "max_len": 64}
CLASSIC_MODELS = ["recency_rule", "bgnbd", "logistic", "gbt"]


def run_job(defs: dg.Definitions, name: str, instance: dg.DagsterInstance, tags: dict | None = None, run_config=None):
    job = defs.resolve_job_def(name)
    return job.execute_in_process(instance=instance, tags=tags or {}, run_config=run_config, raise_on_error=True)


def ingest_range(defs: dg.Definitions, instance: dg.DagsterInstance, first, last, landing: Path | None = None):
    """One ingest_job run over the days first..last (a partition range)."""
    run_config = None
    if landing is not None:
        run_config = {"ops": {f"raw__{k}": {"config": {"landing_dir": str(landing)}} for k in SOURCES}}
    tags = {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}
    return run_job(defs, "ingest_job", instance, tags=tags, run_config=run_config)


@contextmanager
def data_dir_env(path: Path):
    """CHURN_DATA_DIR set to `path` while in use: for code that takes the data directory from the environment
    (the code location, `dagster` commands)."""
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
    def tracking(self) -> MlflowTracking:
        return MlflowTracking.local(self.base)

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
    return Shop(base, build_definitions(base), dg.DagsterInstance.ephemeral())


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
    from churn_assets.warehouse.mlflow_store import apply_decision, log_model_run

    frames = split_frames(shop.query("SELECT * FROM marts.training_set"))
    X, y = frames["train"]
    model = create_model("logistic").fit(X, 1 - y)
    tracking = shop.tracking
    run_id, uri = log_model_run(tracking, model, "inverted", {"model": "inverted"}, {}, X)
    broken = Candidate("inverted_logistic", 0.0, 0.0, run_id, uri)
    return apply_decision(tracking, ChampionDecision(broken, None, True, "test: a broken champion"))
