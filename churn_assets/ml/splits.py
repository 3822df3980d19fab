"""Time-based split of labelled as-of dates into train / validation / test."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def time_split(
    as_of_dates: Iterable[date],
    horizon_days: int,
    n_test_dates: int = 2,
    n_valid_dates: int = 2,
    embargo: bool = True,
) -> dict[date, str]:
    """Newest labelled dates -> test, the ones before -> valid, older -> train.

    With the embargo, a date only joins an older split when its label window (d, d+H] ends on or
    before the first date of the newer split, so no training label peeks into the test horizon.
    """
    dates = sorted(set(as_of_dates))
    if len(dates) < n_test_dates + n_valid_dates + 1:
        raise ValueError(
            f"need at least {n_test_dates + n_valid_dates + 1} labelled as-of dates for a time split, got {len(dates)}"
        )
    split = {d: "test" for d in dates[-n_test_dates:]}
    rest = dates[:-n_test_dates]
    gap = timedelta(days=horizon_days if embargo else 0)
    first_test = min(split)
    valid_pool = [d for d in rest if d + gap <= first_test]
    valid = valid_pool[-n_valid_dates:]
    split.update({d: "valid" for d in valid})
    if not valid:
        raise ValueError("no as-of date left for validation after the embargo; use more days of data")
    first_valid = min(valid)
    train = [d for d in rest if d + gap <= first_valid]
    if not train:
        raise ValueError("no as-of date left for training after the embargo; use more days of data")
    split.update({d: "train" for d in train})
    for d in dates:
        split.setdefault(d, "embargo")
    return split
