"""Turn the training-set table into model inputs: feature frame (keys kept for per-user models), label, split."""

from __future__ import annotations

import pandas as pd

KEYS = ["user_id", "as_of_date"]
LABEL = "churned"
SPLITS = ("train", "valid", "test")


def model_input(df: pd.DataFrame) -> pd.DataFrame:
    """Keys and features; models pick their feature columns and ignore the keys."""
    return df.drop(columns=[c for c in (LABEL, "split") if c in df.columns])


def split_frames(df: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    """{split: (X, y)} for train / valid / test, ordered by as-of date and user."""
    out = {}
    for name in SPLITS:
        part = df[df["split"] == name].sort_values(KEYS).reset_index(drop=True)
        if part.empty:
            raise ValueError(f"the training set has no {name!r} rows")
        out[name] = (model_input(part), part[LABEL].astype(int))
    return out
