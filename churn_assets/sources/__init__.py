"""Adapters that turn a shop's own export (or a public data set) into landing files of the raw contract.

    prepare_landing(input_dir, landing_dir, source=None | "online_retail_ii" | "olist" | "retailrocket",
                    mapping=None | Path("mapping.yaml"), until=None | date)

writes landing_dir/<kind>/YYYY-MM-DD.parquet (one file per kind and day, contract column names, plus
source_file / source_row pointing back at the input) and returns a PrepareReport. Rows an adapter
cannot place on a day are kept in landing_dir/_rejected/<kind>.parquet with file, row and reason;
everything else is validated again, row by row, by the ingestion step (quarantine.<kind>).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from churn_assets.sources import olist, online_retail_ii, retailrocket
from churn_assets.sources.errors import SourceError
from churn_assets.sources.landing_writer import clear_previous, count_kind, write_kind, write_manifest
from churn_assets.sources.mapped import prepare_mapped
from churn_assets.sources.mapping import contract_layout, load_mapping
from churn_assets.sources.report import KindReport, PrepareReport
from churn_assets.warehouse.contract import INGEST_ORDER
from churn_assets.warehouse.contract import SOURCES as CONTRACT

__all__ = ["SOURCES", "Adapter", "KindReport", "PrepareReport", "SourceError", "prepare_landing"]


@dataclass(frozen=True)
class Adapter:
    name: str
    description: str
    prepare: Callable[[duckdb.DuckDBPyConnection, Path, PrepareReport, Path | None], None]


def _prepare_mapped(con, input_dir: Path, report: PrepareReport, mapping: Path | None) -> None:
    mappings = load_mapping(mapping, input_dir, con) if mapping else contract_layout(input_dir)
    for m in sorted(mappings, key=lambda m: INGEST_ORDER.index(m.kind)):
        report.kinds[m.kind] = KindReport(m.kind)
        prepare_mapped(con, m, report.kinds[m.kind])
        if m.currency:
            report.kinds[m.kind].notes.append(f"amounts in {m.currency} (scale {m.amount_scale:g})")


SOURCES: dict[str, Adapter] = {
    a.name: a
    for a in (
        Adapter(
            "contract",
            "files named after the contract (orders.csv, users.parquet, events.jsonl, "
            "reviews.csv.gz ...) with contract column names",
            _prepare_mapped,
        ),
        Adapter("mapping", "any layout described by a column-mapping file (YAML or TOML)", _prepare_mapped),
        Adapter("online_retail_ii", online_retail_ii.DESCRIPTION, online_retail_ii.prepare),
        Adapter("olist", olist.DESCRIPTION, olist.prepare),
        Adapter("retailrocket", retailrocket.DESCRIPTION, retailrocket.prepare),
    )
}


def prepare_landing(
    input_dir: Path,
    landing_dir: Path,
    *,
    source: str | None = None,
    mapping: Path | None = None,
    until: date | None = None,
) -> PrepareReport:
    """Convert the export in input_dir into landing files (see the module docstring).

    source: None (contract layout, or the mapping file when `mapping` is given) or an adapter name.
    until: rows dated after this day are left out (counted in the report), filtered inside DuckDB.
    Raises SourceError (one line naming file, kind, column, row) when an input cannot be used."""
    input_dir, landing_dir = Path(input_dir), Path(landing_dir)
    if source and mapping:
        raise SourceError(f"give a source ({source}) or a mapping file ({mapping}), not both")
    name = "mapping" if mapping else (source or "contract")
    if name not in SOURCES or (name == "mapping" and not mapping):
        raise SourceError(
            f"unknown source {name!r}; known: {', '.join(n for n in SOURCES if n != 'mapping')} (or a mapping file)"
        )
    if not input_dir.is_dir():
        raise SourceError("input directory not found", path=input_dir)
    landing_dir.mkdir(parents=True, exist_ok=True)
    clear_previous(landing_dir)
    report = PrepareReport(source=name, landing_dir=landing_dir, until=until)
    with (
        tempfile.TemporaryDirectory(prefix="churn_prepare_") as spill,
        duckdb.connect(config={"temp_directory": spill, "preserve_insertion_order": True}) as con,
    ):
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # the caller reports progress
        SOURCES[name].prepare(con, input_dir, report, Path(mapping) if mapping else None)
        report.kinds = {k: report.kinds[k] for k in INGEST_ORDER if k in report.kinds}
        for kind, kind_report in report.kinds.items():
            count_kind(con, kind, until, kind_report)
        orders = report.kinds.get("orders")
        if orders is None or orders.rows_written == 0:
            why = (
                "no orders file"
                if orders is None
                else (
                    f"{orders.rows_read} orders rows read, none kept"
                    + (f" on or before {until}" if until and orders.rows_after_until else "")
                    + (f" (set aside: {orders.rejected})" if orders.rejected else "")
                )
            )
            raise SourceError(f"no usable orders: {why}; orders are the one required kind", path=input_dir)
        files: list[Path] = []
        for kind, kind_report in report.kinds.items():
            files += write_kind(con, kind, landing_dir, until, kind_report)
    report.absent = [k for k in CONTRACT if k not in report.kinds]
    unreconciled = [k.kind for k in report.kinds.values() if not k.reconciles]
    if unreconciled:  # a bug in an adapter, never the user's data
        raise RuntimeError(f"prepare_landing counts do not reconcile for {unreconciled}: {report.to_dict()}")
    write_manifest(landing_dir, report, files)
    return report
