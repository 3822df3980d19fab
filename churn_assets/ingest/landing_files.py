"""The one scanner of the landing folder: <landing>/<kind>/<YYYY-MM-DD...><suffix>, one file per kind and day
(or several whose names start with the day). Ingestion, the landing sensor, `churn run` and the partition start
all see the same files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from churn_assets.warehouse.contract import SOURCES, file_suffix

# names a writer uses while a file is incomplete (renamed to the final name when done)
TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", ".incomplete")


@dataclass(frozen=True)
class LandingFile:
    kind: str
    day: date
    path: Path
    size: int
    mtime_ns: int

    @property
    def rel(self) -> str:
        """ "<kind>/<file name>": the landing sensor's cursor key."""
        return f"{self.kind}/{self.path.name}"

    @property
    def fingerprint(self) -> str:
        return f"{self.size}:{self.mtime_ns}"


def is_landing_name(name: str) -> bool:
    """Read by ingestion: a known suffix; not hidden, not a temp name (a writer is still busy with those)."""
    return (
        not name.startswith((".", "~")) and not name.lower().endswith(TEMP_SUFFIXES) and file_suffix(name) is not None
    )


def scan_landing(landing: Path, kinds: Iterable[str] = tuple(SOURCES)) -> list[LandingFile]:
    """Landing files of the given kinds named by a day, sorted by kind and name."""
    found = []
    for kind in kinds:
        folder = landing / kind
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if not is_landing_name(p.name):
                continue
            try:
                day = date.fromisoformat(p.name[:10])
                st = p.stat()
            except (ValueError, OSError):  # not named by a day, or gone since listing
                continue
            if p.is_file():
                found.append(LandingFile(kind, day, p, st.st_size, st.st_mtime_ns))
    return sorted(found, key=lambda f: (f.kind, f.path.name))


def landing_days(landing: Path, kinds: Iterable[str] = tuple(SOURCES)) -> list[date]:
    """Days that have at least one landing file of the given kinds."""
    return sorted({f.day for f in scan_landing(landing, kinds)})


def partition_files(landing: Path, kind: str, day: date) -> list[Path]:
    """Files of one kind for one day (names starting with YYYY-MM-DD); no stat per file: ingestion asks day by day."""
    folder = landing / kind
    if not folder.is_dir():
        return []
    prefix = day.isoformat()
    return sorted(p for p in folder.iterdir() if p.name.startswith(prefix) and is_landing_name(p.name) and p.is_file())
