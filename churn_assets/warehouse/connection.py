"""Opening the warehouse file outside a run step: a connection that waits for another process's lock."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb


def connect_duckdb(path: str | Path, read_only: bool = False, timeout_s: float = 300.0) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file that waits while another process holds its lock (DuckDB lets one
    process write a file, and a writer locks out other processes' readers) instead of failing at once."""
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 1.5, 3.0)
