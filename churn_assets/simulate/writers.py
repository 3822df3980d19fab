"""Writing the landing files (with their messy rows mixed in) and the ground truth."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from churn_assets.simulate.messy import MessyMaker

REVIEW_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("ts", pa.string()),
        ("rating", pa.int64()),
        ("text", pa.string()),
        ("order_id", pa.string()),
        ("kind", pa.string()),
    ]
)
TRUTH_SCHEMA = pa.schema([("user_id", pa.string()), ("as_of_date", pa.date32()), ("p_churn", pa.float64())])


def _csv_lines(df: pd.DataFrame) -> list[str]:
    if df.empty:
        return []
    return df.to_csv(index=False, header=False, lineterminator="\n").splitlines()


def _json_lines(df: pd.DataFrame) -> list[str]:
    if df.empty:
        return []
    return df.to_json(orient="records", lines=True, force_ascii=False).splitlines()


def _mix(clean: list[str], extra: list[str], messy: MessyMaker) -> list[str]:
    if not extra:
        return clean
    order = np.argsort(np.r_[np.arange(len(clean)), messy.positions(len(clean), len(extra)) - 0.5], kind="stable")
    both = clean + extra
    return [both[i] for i in order]


def _messy_lines(kind: str, df: pd.DataFrame, messy: MessyMaker, day_epoch: int, fmt: str) -> list[str]:
    """The rows of df with its messy rows mixed in, rendered as CSV (no header) or JSON lines."""
    bad_rows, malformed = messy.make(kind, df, day_epoch)
    render = _csv_lines if fmt == "csv" else _json_lines
    extra = render(bad_rows)
    broken = render(malformed)
    extra += messy.break_csv_lines(broken) if fmt == "csv" else messy.break_json_lines(broken)
    return _mix(render(df), extra, messy)


def write_text_file(path: Path, kind: str, df: pd.DataFrame, messy: MessyMaker, day_epoch: int, fmt: str) -> int:
    """Write a CSV (with header) or JSONL file of df plus its messy rows; returns the real rows written."""
    lines = _messy_lines(kind, df, messy, day_epoch, fmt)
    if fmt == "csv":
        lines = [",".join(df.columns)] + lines
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return len(df)


def append_jsonl(fh: TextIO, kind: str, df: pd.DataFrame, messy: MessyMaker, day_epoch: int) -> int:
    """Append df (plus its messy rows) to an open JSONL file; returns the real rows written."""
    lines = _messy_lines(kind, df, messy, day_epoch, "jsonl")
    if lines:
        fh.write("\n".join(lines) + "\n")
    return len(df)


def write_reviews(path: Path, df: pd.DataFrame, messy: MessyMaker, day_epoch: int) -> int:
    df = df[list(REVIEW_SCHEMA.names)].reset_index(drop=True)
    bad_rows, _ = messy.make("reviews", df, day_epoch)
    if len(bad_rows):
        bad_rows["rating"] = pd.array(bad_rows["rating"].tolist(), dtype="Int64")
        pos = messy.positions(len(df), len(bad_rows))
        order = np.argsort(np.r_[np.arange(len(df)), pos - 0.5], kind="stable")
        out = pd.concat([df.astype({"rating": "Int64"}), bad_rows], ignore_index=True).iloc[order]
    else:
        out = df
    table = pa.Table.from_pandas(out.reset_index(drop=True), schema=REVIEW_SCHEMA, preserve_index=False)
    pq.write_table(table, path)
    return len(df)


class TruthWriter:
    """Appends the daily truth to truth/churn_truth.parquet without holding it in memory."""

    def __init__(self, path: Path):
        self.path = path
        self.writer = pq.ParquetWriter(path, TRUTH_SCHEMA)
        self.rows = 0

    def write(self, ids: np.ndarray, as_of: date, p: np.ndarray) -> None:
        table = pa.table(
            {
                "user_id": pa.array(ids, type=pa.string()),
                "as_of_date": pa.array(np.full(len(ids), np.datetime64(as_of, "D")), type=pa.date32()),
                "p_churn": pa.array(np.asarray(p, dtype=np.float64)),
            },
            schema=TRUTH_SCHEMA,
        )
        self.writer.write_table(table)
        self.rows += len(ids)

    def close(self) -> None:
        self.writer.close()


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
