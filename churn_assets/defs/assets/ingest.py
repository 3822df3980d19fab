"""Ingestion assets: landing files -> raw.<kind> (validated) + quarantine.<kind> (rejected, with reason)."""

from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd

from churn_assets.defs.resources import DUCKDB_POOL, DataDirectory, DuckDBWarehouse
from churn_assets.ingest.store import PartitionCounts, ensure_tables, ingest_partition, record_cross_day_duplicates
from churn_assets.warehouse.contract import INGEST_ORDER, SOURCES, SourceSpec


class LandingConfig(dg.Config):
    landing_dir: str = ""  # empty: <data dir>/landing

    def path(self, data_dir: DataDirectory) -> Path:
        return Path(self.landing_dir) if self.landing_dir else data_dir.landing_dir()


def counts_table(counts: list[PartitionCounts]) -> str:
    df = pd.DataFrame([vars(c) for c in counts]).drop(columns=["kind"])
    return df.to_markdown(index=False)


def _build_ingest_asset(spec: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(["raw", "users"])] if spec.references_users else []

    @dg.asset(
        key=dg.AssetKey(["raw", spec.kind]),
        group_name="ingest",
        pool=DUCKDB_POOL,  # DuckDB takes one process at a time
        deps=deps,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=f"Validated {spec.kind} ({spec.description}) from landing/{spec.kind}/<day>.*; "
        f"rejected rows go to quarantine.{spec.kind} with reason, file and line.",
        kinds={"duckdb", "python"},
    )
    def _ingest(
        context: dg.AssetExecutionContext, config: LandingConfig, duckdb: DuckDBWarehouse, data_dir: DataDirectory
    ) -> dg.MaterializeResult:
        landing = config.path(data_dir)
        days = [date.fromisoformat(k) for k in context.partition_keys]
        counts: list[PartitionCounts] = []
        with duckdb.connect() as con:
            for s in SOURCES.values():
                ensure_tables(con, s)
            for i, day in enumerate(days, start=1):
                counts.append(ingest_partition(con, landing, spec, day))
                if i % 30 == 0 or i == len(days):
                    context.log.info(f"{spec.kind}: {i}/{len(days)} partitions ingested")
            counts = record_cross_day_duplicates(con, spec, counts)
        keys = ("files", "read", "accepted", "rejected", "duplicates", "cross_day_duplicates")
        total = {k: sum(getattr(c, k) for c in counts) for k in keys}
        if total["cross_day_duplicates"]:
            context.log.warning(
                f"{spec.kind}: {total['cross_day_duplicates']} accepted rows repeat a natural key "
                f"({', '.join(spec.natural_key)}) of an earlier day; staging keeps the earliest"
            )
        if not all(c.reconciles for c in counts):
            raise RuntimeError(f"{spec.kind}: counts do not reconcile: {counts}")
        metadata = {**{k: dg.MetadataValue.int(v) for k, v in total.items()}, "reconciles": True}
        if len(counts) > 1:
            metadata["per_partition"] = dg.MetadataValue.md(counts_table(counts))
        return dg.MaterializeResult(metadata=metadata)

    return _ingest


def build_ingest_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [_build_ingest_asset(SOURCES[kind], partitions) for kind in INGEST_ORDER]
