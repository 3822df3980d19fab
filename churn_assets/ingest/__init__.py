"""Landing files -> validated raw rows. Pure Python + DuckDB; the Dagster wrapper is assets/ingest.py."""

from churn_assets.ingest.landing_files import partition_files
from churn_assets.ingest.read_files import LandingFileError, read_landing_file
from churn_assets.ingest.store import ingest_partition
from churn_assets.ingest.validate import validation_sql

__all__ = ["LandingFileError", "ingest_partition", "partition_files", "read_landing_file", "validation_sql"]
