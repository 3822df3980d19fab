"""Where a run writes: everything lives under one data directory (env CHURN_DATA_DIR, default ./data)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "CHURN_DATA_DIR"


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV, "data")).resolve()


def landing_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "landing"


def truth_dir(base: Path | None = None) -> Path:
    """Simulator ground truth (never read by models, only by evaluation)."""
    return (base or data_dir()) / "truth"


def duckdb_path(base: Path | None = None) -> Path:
    return (base or data_dir()) / "churn.duckdb"


def exports_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "exports"


def mlflow_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "mlflow"


def dagster_home(base: Path | None = None) -> Path:
    return (base or data_dir()) / "dagster_home"


def reports_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "reports"


def text_model_dir(base: Path | None = None) -> Path:
    """The fitted review-text model that wrote ml.review_negativity (scores later reviews daily)."""
    return (base or data_dir()) / "models" / "review_text"
