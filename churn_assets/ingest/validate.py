"""Validate string records against the contract: typed accepted rows, rejected rows with a reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from churn_assets.contract import Column, SourceSpec
from churn_assets.ingest.read_files import LINE

EPOCH_PATTERN = r"\d{9,11}(?:\.\d+)?"


@dataclass
class Validation:
    accepted: pd.DataFrame  # typed contract columns + _line
    rejected: pd.DataFrame  # _line, field, reason, raw
    duplicates: int


def parse_timestamps(values: pd.Series) -> pd.Series:
    """ISO 8601 (offsets converted to UTC, naive taken as UTC) or epoch seconds -> naive UTC; NaT if unparseable."""
    s = values.astype("string").str.strip()
    is_epoch = s.str.fullmatch(EPOCH_PATTERN).fillna(False).astype(bool)
    iso = pd.to_datetime(s.where(~is_epoch).astype(object), utc=True, errors="coerce", format="ISO8601")
    if is_epoch.any():
        epoch = pd.to_datetime(s[is_epoch].astype(float), unit="s", utc=True, errors="coerce")
        iso = iso.where(~is_epoch, epoch)
    return iso.dt.tz_convert(None).astype("datetime64[us]")


def _check_column(col: Column, raw: pd.Series, day: date, now: datetime, max_future_days: int):
    """Returns (typed values, failure reason per row or NA)."""
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")
    present = raw.notna()
    if col.required:
        reason[~present] = f"missing {col.name}"
    if col.kind == "timestamp":
        typed = parse_timestamps(raw)
        reason[present & typed.isna()] = f"unparseable timestamp in {col.name}"
        limit = min(pd.Timestamp(day) + timedelta(days=1 + max_future_days), pd.Timestamp(now))
        reason[typed.notna() & (typed >= limit) & reason.isna()] = f"{col.name} in the future of the file's day"
    elif col.kind in ("float", "int"):
        typed = pd.to_numeric(raw, errors="coerce")
        reason[present & typed.isna()] = f"{col.name} is not a number"
        if col.kind == "int":
            reason[typed.notna() & (typed != np.round(typed)) & reason.isna()] = f"{col.name} is not a whole number"
        if col.min_value is not None:
            reason[(typed < col.min_value) & reason.isna()] = f"{col.name} below {col.min_value:g}"
        if col.max_value is not None:
            reason[(typed > col.max_value) & reason.isna()] = f"{col.name} above {col.max_value:g}"
        if col.default is not None:
            typed = typed.fillna(float(col.default))
        typed = typed.astype("Int64") if col.kind == "int" else typed.astype("float64")
    elif col.kind == "category":
        typed = raw.str.lower()
        bad = typed.notna() & ~typed.isin(col.allowed or ())
        reason[bad & reason.isna()] = f"unknown {col.name} (allowed: {', '.join(col.allowed or ())})"
        if col.default is not None:
            typed = typed.fillna(col.default)
    else:
        typed = raw
        if col.default is not None:
            typed = typed.fillna(col.default)
    return typed, reason


def validate_rows(
    rows: pd.DataFrame,
    spec: SourceSpec,
    day: date,
    known_users: set[str] | None = None,
    now: datetime | None = None,
    max_future_days: int = 1,
) -> Validation:
    """Type and check every row; the first failing field gives the row's reason.

    Duplicates on the natural key among the valid rows are dropped (first kept) and counted.
    """
    now = now or datetime.utcnow()
    clean = rows[spec.column_names].apply(lambda s: s.astype("string").str.strip().replace("", pd.NA))
    typed = pd.DataFrame(index=rows.index)
    reason = pd.Series(pd.NA, index=rows.index, dtype="string")
    field = pd.Series(pd.NA, index=rows.index, dtype="string")
    for col in spec.columns:
        values, col_reason = _check_column(col, clean[col.name], day, now, max_future_days)
        typed[col.name] = values
        new = reason.isna() & col_reason.notna()
        reason[new] = col_reason[new]
        field[new] = col.name
    if spec.kind == "events":
        typed["event_type"] = typed["event_type"].str.lower()
    if spec.references_users and known_users is not None:
        unknown = reason.isna() & ~typed["user_id"].isin(known_users)
        reason[unknown] = "unknown user"
        field[unknown] = "user_id"

    bad = reason.notna()
    raw_text = [json.dumps({k: (None if pd.isna(v) else v) for k, v in r.items()}) for r in rows.loc[bad, spec.column_names].to_dict("records")]
    carried = [c for c in rows.columns if c.startswith("_")]  # _line, _source_file
    rejected = rows.loc[bad, carried].assign(field=field[bad], reason=reason[bad], raw=raw_text)
    good = typed[~bad]
    dup = good.duplicated(subset=list(spec.natural_key), keep="first")
    accepted = good[~dup].copy()
    for c in carried:
        accepted[c] = rows.loc[accepted.index, c]
    return Validation(accepted.reset_index(drop=True), rejected.reset_index(drop=True), int(dup.sum()))
