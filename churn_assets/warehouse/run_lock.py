"""One run at a time per warehouse, and a record of what a crashed run left open.

Dagster's `duckdb` pool serialises steps, not runs: two runs of different days interleaved their steps, so one
scored its day with the staging tables the other had just rebuilt for its own cut-off date. So every Dagster run
that opens the warehouse holds an exclusive lock for its whole length (DuckDBWarehouse), and `churn run` /
`churn score` hold it across all their jobs. Runs on one data directory therefore never overlap; they queue.

The lock is an OS file lock (flock) on `<warehouse>.run.lock`: the kernel drops it when its process dies, by
kill -9, OOM or power loss included, so nothing ever waits on a dead holder. The file also holds a record of
what the holder has open (its Dagster runs and MLflow runs). A clean release empties it; a record found by the
next holder was left by one that died, and goes to `on_stale` so that those runs are closed as failed.

Within one process the lock is re-entrant: the runs that `churn run` starts take the lock it already holds.
No Dagster here: the Dagster and MLflow clean-up is in churn_assets/warehouse/recovery.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_TIMEOUT_S = 6 * 3600.0  # a waiting run gives up after this (a large shop's `churn run` takes minutes to hours)
WAIT_NOTE_EVERY_S = 15.0
POLL_S = 0.25


class RunLockTimeout(RuntimeError):
    """Another process held the warehouse for longer than the caller was willing to wait."""


@dataclass
class HolderRecord:
    """What the holder of the lock has open; left behind (non-empty) only when the holder died."""

    pid: int
    host: str
    purpose: str
    since: str
    dagster_runs: list[str] = field(default_factory=list)
    mlflow_runs: list[list[str]] = field(default_factory=list)  # [tracking uri, run id]

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.purpose}) since {self.since}"


@dataclass
class _Holding:
    fd: int
    depth: int
    record: HolderRecord


_HELD: dict[str, _Holding] = {}  # lock path -> this process's holding (re-entrance and record updates)
_GUARD = threading.RLock()


def run_lock_path(warehouse: str | Path) -> Path:
    """The lock file of a DuckDB warehouse file: beside it, so every process that opens that file finds it."""
    db = Path(warehouse).expanduser().resolve()
    return db.with_name(db.name + ".run.lock")


def _read_record(fd: int) -> HolderRecord | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    text = os.pread(fd, size, 0).decode("utf-8", errors="replace")
    try:
        return HolderRecord(**json.loads(text))
    except (ValueError, TypeError):  # half-written by a holder that died mid-write: nothing to recover from it
        return HolderRecord(pid=-1, host="?", purpose=f"unreadable record {text[:80]!r}", since="?")


def _write_record(fd: int, record: HolderRecord | None) -> None:
    data = json.dumps(asdict(record)).encode() if record is not None else b""
    os.ftruncate(fd, 0)
    if data:
        os.pwrite(fd, data, 0)


def _acquire(fd: int, path: Path, timeout_s: float, on_wait: Callable[[str], None] | None) -> None:
    deadline = time.monotonic() + timeout_s
    next_note = time.monotonic()
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        now = time.monotonic()
        holder = _read_record(fd)
        who = holder.describe() if holder else "another process"
        if now >= deadline:
            raise RunLockTimeout(
                f"{path.parent} is busy: {who} still holds {path.name} after {timeout_s:.0f}s of waiting"
            )
        if on_wait is not None and now >= next_note:
            on_wait(f"waiting for the warehouse: {who} is using {path.parent}")
            next_note = now + WAIT_NOTE_EVERY_S
        time.sleep(POLL_S)  # a signal (Ctrl-C, SIGTERM) interrupts the sleep


@contextmanager
def hold_run_lock(
    path: Path,
    purpose: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    on_wait: Callable[[str], None] | None = None,
    on_stale: Callable[[HolderRecord], None] | None = None,
) -> Iterator[HolderRecord]:
    """Hold the lock at `path` (waiting up to `timeout_s`); re-entrant within this process.

    `on_stale(record)` gets the record of a holder that died without releasing, before this holder's record
    replaces it. Yields this process's record (note_open / note_closed update it)."""
    key = str(path)
    with _GUARD:
        held = _HELD.get(key)
        if held is not None:
            held.depth += 1
    if held is not None:
        try:
            yield held.record
        finally:
            with _GUARD:
                held.depth -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, timeout_s, on_wait)
        stale = _read_record(fd)
        if stale is not None and on_stale is not None:
            on_stale(stale)
        record = HolderRecord(
            os.getpid(), socket.gethostname(), purpose, datetime.now(UTC).isoformat(timespec="seconds")
        )
        _write_record(fd, record)
        with _GUARD:
            _HELD[key] = _Holding(fd, 1, record)
        try:
            yield record
        finally:
            with _GUARD:
                del _HELD[key]
            _write_record(fd, None)  # a clean release leaves nothing to recover
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _update(kind: str, value: str | list[str], add: bool) -> None:
    with _GUARD:
        for held in _HELD.values():
            items = getattr(held.record, kind)
            if add and value not in items:
                items.append(value)
            elif not add and value in items:
                items.remove(value)
            _write_record(held.fd, held.record)


@contextmanager
def noting_open(kind: str, value: str | list[str]) -> Iterator[None]:
    """Record `value` in this process's lock records ("dagster_runs" or "mlflow_runs") while the block runs, so
    that a crash inside it leaves the value for the next holder to close. Without a held lock it does nothing."""
    _update(kind, value, add=True)
    try:
        yield
    finally:
        _update(kind, value, add=False)
