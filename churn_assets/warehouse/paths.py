"""Where things live: everything of one shop under one data directory. Pure functions of that directory;
only `default_data_dir` reads the environment (CHURN_DATA_DIR, default ./data), and only when called."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "CHURN_DATA_DIR"


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or "data").resolve()


def landing_dir(base: Path) -> Path:
    return base / "landing"


def truth_dir(base: Path) -> Path:
    """Simulator ground truth (never read by models, only by evaluation)."""
    return base / "truth"


def duckdb_path(base: Path) -> Path:
    return base / "churn.duckdb"


def exports_dir(base: Path) -> Path:
    return base / "exports"


def risk_list_export(base: Path, day: str) -> Path:
    """The day's risk list as the team reads it (one CSV; a Parquet file of the same rows sits beside it)."""
    return exports_dir(base) / "risk_list" / f"{day}.csv"


def mlflow_dir(base: Path) -> Path:
    return base / "mlflow"


def dagster_home(base: Path) -> Path:
    return base / "dagster_home"


def reports_dir(base: Path) -> Path:
    return base / "reports"


def text_model_dir(base: Path) -> Path:
    """The fitted review-text model that wrote ml.review_negativity (scores later reviews daily)."""
    return base / "models" / "review_text"
