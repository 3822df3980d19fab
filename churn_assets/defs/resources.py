"""Resources: the data directory, the DuckDB warehouse in it, the MLflow store and the pipeline settings.

None of them reads the environment or the disk when it is built: build_definitions (defs/build.py) gives them
the data directory, and they touch files only when a step uses them. The warehouse and the MLflow store hold the
data directory as a nested resource, so a run config that changes one of their fields keeps their location."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import duckdb
from pydantic import Field

from churn_assets.warehouse import paths, run_lock
from churn_assets.warehouse.connection import connect_duckdb
from churn_assets.warehouse.recovery import hold_warehouse

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

# Dagster concurrency pool of every step that opens the DuckDB file: DuckDB lets one process at a time
# hold it (a writer locks out readers of other processes too), so runs queue on this pool (limit 1 in
# dagster.yaml, see app/instance.py) instead of failing on the file lock.
DUCKDB_POOL = "duckdb"


class DataDirectory(dg.ConfigurableResource):
    """The shop's data directory (dg.EnvVar("CHURN_DATA_DIR") in the code location): landing files, the
    warehouse, the MLflow store, exports, reports and the review-text model all live under it."""

    path: str = Field(description="absolute path of the data directory")

    @property
    def base(self) -> Path:
        return Path(self.path)

    def landing_dir(self) -> Path:
        return paths.landing_dir(self.base)

    def exports_dir(self) -> Path:
        return paths.exports_dir(self.base)

    def reports_dir(self) -> Path:
        return paths.reports_dir(self.base)

    def truth_dir(self) -> Path:
        return paths.truth_dir(self.base)

    def text_model_dir(self) -> Path:
        return paths.text_model_dir(self.base)


class DuckDBWarehouse(dg.ConfigurableResource):
    """One DuckDB file. DuckDB allows one writing process per file, so connections are short and a
    connection attempt that meets another process's lock waits and retries instead of failing.

    A run that uses the warehouse holds its run lock (churn_assets/warehouse/run_lock.py) from start to end: runs on one
    warehouse never overlap, so no run reads tables another run is rebuilding with other settings. The first
    run after a crash closes what the dead one left open (churn_assets/warehouse/recovery.py)."""

    data_dir: DataDirectory | None = Field(default=None, description="the warehouse is <data dir>/churn.duckdb")
    path: str = Field(default="", description="DuckDB file elsewhere than <data dir>/churn.duckdb")
    lock_timeout_s: float = Field(default=300.0, description="how long to wait for another writer's lock")
    run_lock_timeout_s: float = Field(
        default=run_lock.DEFAULT_TIMEOUT_S, description="how long a run waits for another run on this warehouse to end"
    )
    threads: int = Field(default=0, description="DuckDB threads (0 = DuckDB's default)")

    def db_path(self) -> str:
        if self.path:
            return self.path
        if self.data_dir is None:
            raise ValueError("DuckDBWarehouse needs a data_dir or a path")
        return str(paths.duckdb_path(self.data_dir.base))

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["DuckDBWarehouse"]:
        run, instance = context.run, context.instance
        if run is None or instance is None:  # a sensor tick or a direct call: no run to keep exclusive
            yield self
            return
        log = context.log.info if context.log else print
        with (
            hold_warehouse(
                self.db_path(),
                f"Dagster run {run.run_id} of {run.job_name}",
                log,
                lambda: instance,
                self.run_lock_timeout_s,
            ),
            run_lock.noting_open("dagster_runs", run.run_id),
        ):
            yield self

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect_duckdb(self.db_path(), read_only=read_only, timeout_s=self.lock_timeout_s)
        try:
            if self.threads:
                con.execute(f"SET threads = {int(self.threads)}")
            yield con
        finally:
            con.close()


class PipelineSettings(dg.ConfigurableResource):
    """Parameters of the churn definition and the feature windows, bound into every SQL model."""

    lookback_days: int = Field(
        default=90, description="a user is active at d with a paid order in (d-L, d]; 0 = any order ever"
    )
    horizon_days: int = Field(default=30, description="churned at d = no paid order in (d, d+H]")
    activity: str = Field(default="orders", description="'orders' or 'orders_or_visits': what makes a user active")
    as_of_step_days: int = Field(default=7, description="days between as-of dates of the training set")
    min_history_days: int = Field(default=28, description="days of data before the first as-of date")
    late_delivery_days: int = Field(default=5, description="a delivery slower than this is late")
    high_frequency_orders: int = Field(default=4, description="tag_high_frequency: paid orders in 90 days at least")
    loyal_tenure_days: int = Field(default=180, description="tag_loyal: tenure at least")
    loyal_min_orders: int = Field(default=5, description="tag_loyal: paid orders in total at least")
    new_user_days: int = Field(default=30, description="tag_new: tenure below")
    dormant_days: int = Field(default=60, description="tag_dormant: days since last order above")
    sequence_max_items: int = Field(default=160, description="behaviour sequences keep the latest N history items")
    n_test_dates: int = Field(default=2, description="newest labelled as-of dates used as the test window")
    n_valid_dates: int = Field(default=2, description="as-of dates before the test window used for validation")
    embargo: bool = Field(default=True, description="keep label windows of train/valid/test from overlapping")
    until_date: str = Field(
        default="",
        description="YYYY-MM-DD: the pipeline reads nothing after this day (later landing partitions and "
        "timestamps stay unseen; labels end on or before it); empty = all data (`churn run --as-of` sets it)",
    )

    def sql_params(self) -> dict:
        return self.model_dump()


class MlflowTracking(dg.ConfigurableResource):
    """MLflow tracking: by default a local SQLite store with artifacts under the data directory; set
    `tracking_uri` (e.g. http://mlflow:5000) to use a remote server instead."""

    data_dir: DataDirectory | None = Field(default=None, description="the local store is <data dir>/mlflow")
    tracking_uri: str = Field(default="", description="empty: sqlite:///<data dir>/mlflow/mlflow.db")
    artifact_location: str = Field(default="", description="empty: <data dir>/mlflow/artifacts (local store only)")
    experiment_name: str = Field(default="churn")
    registered_model: str = Field(default="churn_model")
    champion_alias: str = Field(default="champion")

    @classmethod
    def local(cls, base: Path) -> "MlflowTracking":
        """The local store of the data directory `base`."""
        return cls(data_dir=DataDirectory(path=str(base)))

    def _local_db(self) -> Path | None:
        if self.tracking_uri:
            prefix = "sqlite:///"
            return Path(self.tracking_uri[len(prefix) :]) if self.tracking_uri.startswith(prefix) else None
        if self.data_dir is None:
            raise ValueError("MlflowTracking needs a data_dir or a tracking_uri")
        return paths.mlflow_dir(self.data_dir.base) / "mlflow.db"

    def resolved_uri(self) -> str:
        db = self._local_db()
        return self.tracking_uri or f"sqlite:///{db}"

    def _artifact_root(self) -> str | None:
        if self.artifact_location:
            return self.artifact_location
        if self.tracking_uri or self.data_dir is None:
            return None  # the server's default
        return (paths.mlflow_dir(self.data_dir.base) / "artifacts").as_uri()

    def store_exists(self) -> bool:
        """False for a local store nothing has been logged to yet (reading must not create it)."""
        db = self._local_db()
        return db is None or db.exists()

    def setup(self) -> str:
        """Point mlflow at the store (created when local and missing) and make sure the experiment exists;
        returns its id. Only for writing: reads go through client()."""
        import mlflow

        db = self._local_db()
        if db is not None:
            db.parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(self.resolved_uri())
        experiment = mlflow.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            experiment_id = mlflow.create_experiment(self.experiment_name, artifact_location=self._artifact_root())
        else:
            experiment_id = experiment.experiment_id
        mlflow.set_experiment(experiment_id=experiment_id)
        return experiment_id

    def client(self) -> Any:
        """A client of the store; creates nothing and changes no process-wide MLflow setting."""
        import mlflow

        return mlflow.MlflowClient(self.resolved_uri())

    def champion_version(self) -> "ModelVersion | None":
        """The registered version `<registered_model>@<champion_alias>` points at; None when there is no store
        yet, no registered model or no alias. The one lookup of the champion."""
        from mlflow.exceptions import MlflowException

        if not self.store_exists():
            return None
        try:
            return self.client().get_model_version_by_alias(self.registered_model, self.champion_alias)
        except MlflowException:
            return None

    @contextmanager
    def start_run(self, run_name: str, tags: dict[str, str] | None = None) -> Iterator[Any]:
        """An MLflow run in this store's experiment, recorded in the warehouse's run lock while it is open,
        so that a crash leaves it for the next run to end as FAILED."""
        import mlflow

        self.setup()
        with mlflow.start_run(run_name=run_name, tags=tags or {}) as active:
            with run_lock.noting_open("mlflow_runs", [self.resolved_uri(), active.info.run_id]):
                yield active

    def champion_uri(self) -> str:
        return f"models:/{self.registered_model}@{self.champion_alias}"
