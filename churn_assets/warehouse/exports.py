"""The risk list as the retention team gets it: one set of columns, riskiest first, as CSV or Parquet. The daily
scoring asset writes <data dir>/exports/risk_list/<day>.csv and .parquet with it; `churn run --out` writes the
same frame wherever the user asks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EXPORT_COLUMNS = ["user_id", "as_of_date", "churn_probability", "tier", "reasons", "action", "model_version"]
REASON_SEPARATOR = "; "
UNKNOWN_FORMAT = "the risk list is written as .csv, .csv.gz or .parquet (by the file name)"


def export_format(path: Path) -> str:
    """'csv' or 'parquet' by the file name; ValueError for any other name."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise ValueError(UNKNOWN_FORMAT)


def export_frame(risk_list: pd.DataFrame) -> pd.DataFrame:
    """Rows of scoring.risk_list (reason_1..k columns) -> the export: reasons joined in one column, riskiest first
    (ties by user id, so that the same list gives the same file)."""
    reason_cols = sorted(
        (c for c in risk_list.columns if c.startswith("reason_") and c[7:].isdigit()), key=lambda c: int(c[7:])
    )
    out = risk_list.copy()
    out["reasons"] = (
        [
            REASON_SEPARATOR.join(str(v) for v in row if isinstance(v, str) and v)
            for row in out[reason_cols].itertuples(index=False)
        ]
        if reason_cols
        else ""
    )
    out["as_of_date"] = pd.to_datetime(out["as_of_date"]).dt.date
    out = out.sort_values(["churn_probability", "user_id"], ascending=[False, True], kind="stable")
    return out[EXPORT_COLUMNS].reset_index(drop=True)


def write_export(frame: pd.DataFrame, path: Path) -> Path:
    """Write atomically (a reader never sees half a file): to a temporary name, then renamed."""
    fmt = export_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    if fmt == "parquet":
        frame.to_parquet(partial, index=False)
    else:
        frame.to_csv(partial, index=False, compression="gzip" if path.name.lower().endswith(".gz") else None)
    partial.replace(path)
    return path
