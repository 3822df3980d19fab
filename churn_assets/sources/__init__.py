"""Adapters that turn a shop's own export (or a public data set) into landing files of the raw contract.

    prepare_landing(input_dir, landing_dir, source=None | "online_retail_ii" | "olist" | "retailrocket",
                    mapping=None | Path("mapping.yaml"), until=None | date)

writes landing_dir/<kind>/YYYY-MM-DD.parquet (one file per kind and day, contract column names) and
returns a PrepareReport. Rows an adapter cannot place are kept in landing_dir/_rejected/<kind>.parquet
with their file, row and reason; everything else is validated again by the ingestion step.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from churn_assets.sources.errors import SourceError
from churn_assets.sources.report import KindReport, PrepareReport

__all__ = ["SOURCES", "KindReport", "PrepareReport", "SourceError", "prepare_landing"]

SOURCES: dict[str, str] = {
    "contract": "files named after the contract (orders.csv, users.parquet, events.jsonl ...) with contract columns",
    "mapping": "any layout described by a column-mapping file (pass mapping=)",
    "online_retail_ii": "UCI Online Retail II (invoice lines -> orders, customers -> users)",
    "olist": "Olist Brazilian e-commerce (orders, items, payments, reviews, customers)",
    "retailrocket": "Retailrocket events.csv (events; transactions -> orders)",
}


def prepare_landing(
    input_dir: Path,
    landing_dir: Path,
    *,
    source: str | None = None,
    mapping: Path | None = None,
    until: date | None = None,
) -> PrepareReport:
    raise NotImplementedError("being built (issue 6)")
