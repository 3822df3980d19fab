"""The blocking check on the training set: every split (train, valid, test) has active users and both labels.

Without it, training fails later with an error about a model instead of the data. Being a blocking asset check,
it stops the run before ml/trained_models wherever the run starts: `churn run`, the UI, the weekly schedule or a
drift-triggered retraining.
"""

import dagster as dg

from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse

TRAINING_SET = dg.AssetKey(["marts", "training_set"])
SPLITS = ("train", "valid", "test")


def split_problems(rows: list[tuple[str, int, int]]) -> list[str]:
    """(split, rows, distinct labels) per split -> what makes the training set unusable, in words."""
    have = {split: (n, classes) for split, n, classes in rows}
    problems = []
    for split in SPLITS:
        n, classes = have.get(split, (0, 0))
        if n == 0:
            problems.append(f"the {split} window has no active users: use more days of data or a longer lookback")
        elif classes < 2:
            problems.append(
                f"every user in the {split} window has the same label: churned and retained users are "
                "both needed; try another horizon or more data"
            )
    return problems


@dg.asset_check(
    asset=TRAINING_SET,
    name="every_split_has_both_labels",
    blocking=True,
    pool=DUCKDB_POOL,
    description="marts.training_set has active users in each of its train, valid and test windows, churned and "
    "retained both. Blocking: models are not trained on a training set that cannot be evaluated.",
)
def every_split_has_both_labels(duckdb: DuckDBWarehouse) -> dg.AssetCheckResult:
    with duckdb.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT split, count(*), count(DISTINCT churned) FROM marts.training_set GROUP BY 1"
        ).fetchall()
    problems = split_problems(rows)
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) if problems else "train, valid and test each have churned and retained users",
        metadata={f"{split} rows": int(n) for split, n, _ in sorted(rows)},
    )
