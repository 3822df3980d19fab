"""What prepare_landing did, per kind: files and rows read, rows written, rows set aside and why.

Counts are of input rows, so that they reconcile:
    rows_read = rows_written + rows_merged + rows_after_until + rows_rejected + rows_duplicate
rows_merged are input rows folded into another written row (invoice lines -> one order); rejected and
duplicate rows are kept, with their reason, in landing/_rejected/<kind>.parquet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path


@dataclass
class KindReport:
    kind: str
    files: list[str] = field(default_factory=list)  # input files this kind was read from
    rows_read: int = 0  # input rows (records) of the kind's main file(s)
    rows_written: int = 0  # rows written to landing/<kind>/
    rows_merged: int = 0  # input rows folded into another written row
    rows_after_until: int = 0  # rows dated after `until`, left out
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> rows, kept in landing/_rejected/<kind>.parquet
    rows_duplicate: int = 0  # rows already read from another file (kept in landing/_rejected/ too)
    days: int = 0  # landing files written (one per day)
    derived_from: str | None = None  # e.g. users derived from the orders file
    notes: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def reconciles(self) -> bool:
        return self.rows_read == (
            self.rows_written + self.rows_merged + self.rows_after_until + self.rows_rejected + self.rows_duplicate
        )


@dataclass
class PrepareReport:
    source: str
    landing_dir: Path
    until: date | None = None
    kinds: dict[str, KindReport] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)  # optional kinds the input does not provide

    @property
    def rejected_dir(self) -> Path:
        return self.landing_dir / "_rejected"

    @property
    def reconciles(self) -> bool:
        return all(k.reconciles for k in self.kinds.values())

    def to_dict(self) -> dict:
        out = asdict(self)
        out["landing_dir"] = str(self.landing_dir)
        out["until"] = self.until.isoformat() if self.until else None
        for name, k in self.kinds.items():
            out["kinds"][name]["rows_rejected"] = k.rows_rejected
            out["kinds"][name]["reconciles"] = k.reconciles
        return out

    def summary(self) -> str:
        """A few lines for a terminal: one per kind, then the absent kinds."""
        lines = [f"prepared landing files from source '{self.source}' into {self.landing_dir}"]
        for k in self.kinds.values():
            origin = f"derived from {k.derived_from}" if k.derived_from else f"{len(k.files)} file(s)"
            line = f"  {k.kind}: {origin}, {k.rows_read} rows read, {k.rows_written} written ({k.days} days)"
            if k.rows_merged:
                line += f", {k.rows_merged} merged"
            if k.rows_after_until:
                line += f", {k.rows_after_until} after {self.until}"
            if k.rows_duplicate:
                line += f", {k.rows_duplicate} duplicates"
            if k.rejected:
                reasons = "; ".join(f"{n} {r}" for r, n in sorted(k.rejected.items(), key=lambda x: -x[1]))
                line += f", {k.rows_rejected} set aside ({reasons}) -> {self.rejected_dir / (k.kind + '.parquet')}"
            lines.append(line)
            lines.extend(f"    note: {n}" for n in k.notes)
        if self.absent:
            lines.append(f"  absent (optional, features stay neutral): {', '.join(self.absent)}")
        return "\n".join(lines)
