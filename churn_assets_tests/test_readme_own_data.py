"""The README's "Use your own data" section works as written: its orders CSV layout (unusual column names,
';' separator, day-first local times, amounts in cents, the shop's own status words), its mapping file and
its one command, run on a generated orders-only export."""

import re
import shlex
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from churn_assets.warehouse.exports import EXPORT_COLUMNS

README = Path(__file__).resolve().parent.parent / "README.md"
CHURN = Path(sys.executable).with_name("churn")
STATUS_WORDS = {"paid": "completed", "cancelled": "canceled", "refunded": "refunded", "returned": "returned"}


def readme_block(name: str, lang: str) -> str:
    match = re.search(rf"<!-- readme-example: {name} -->\s*```{lang}\n(.*?)```", README.read_text(), re.S)
    assert match, f"README has no {lang} example {name!r}"
    return match.group(1)


def documented_command() -> list[str]:
    lines = [
        ln for ln in readme_block("own-data-command", "bash").splitlines() if ln.strip() and not ln.startswith("#")
    ]
    assert len(lines) == 1, "the section promises one command"
    argv = shlex.split(lines[0])
    assert argv[0] == ".venv/bin/churn"
    return argv


def write_export(folder: Path, header: list[str], n_users: int, n_days: int) -> pd.DataFrame:
    """A simulated shop's orders in the README's layout; returns the original (UTC) orders."""
    from churn_assets.simulate import ShopConfig, simulate_shop

    sim = folder.parent / "simulated"
    simulate_shop(sim, ShopConfig(n_users=n_users, n_days=n_days, seed=21, messy_share=0.0, write_truth=False))
    with duckdb.connect() as con:
        orders = con.execute(
            f"SELECT user_id, order_id, CAST(ts AS TIMESTAMPTZ) AS ts, CAST(amount AS DOUBLE) AS amount, status "
            f"FROM read_csv('{sim}/landing/orders/*.csv', all_varchar=true)"
        ).df()
    local = orders["ts"].dt.tz_convert("Europe/Berlin")
    export = pd.DataFrame(
        {
            header[0]: "C-" + orders["user_id"],
            header[1]: "R" + orders["order_id"],
            header[2]: local.dt.strftime("%d/%m/%Y %H:%M"),
            header[3]: (orders["amount"] * 100).round().astype(int),
            header[4]: orders["status"].map(STATUS_WORDS),
        }
    )
    folder.mkdir(parents=True)
    export.to_csv(folder / "orders_export.csv", sep=";", index=False)
    return orders


@pytest.mark.slow
def test_readme_own_data_command_scores_an_orders_only_csv(tmp_path):
    sample = readme_block("own-data-csv", "csv").splitlines()
    header = sample[0].split(";")
    assert len(header) == 5 and "user_id" not in header  # the point: the shop's own names
    argv = documented_command()
    data_dir = Path(argv[argv.index("--data-dir") + 1])
    mapping = Path(argv[argv.index("--mapping") + 1])
    as_of = date.fromisoformat(argv[argv.index("--as-of") + 1])
    out = Path(argv[argv.index("--out") + 1])

    orders = write_export(tmp_path / data_dir, header, n_users=500, n_days=165)
    (tmp_path / mapping).write_text(readme_block("own-data-mapping", "yaml"))
    assert orders["ts"].max().date() > as_of  # the export goes on after the as-of date

    done = subprocess.run([str(CHURN), *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    scored = pd.read_csv(tmp_path / out)
    assert list(scored.columns) == EXPORT_COLUMNS
    # the README names the columns the file has
    assert all(f"`{c}`" in README.read_text() for c in EXPORT_COLUMNS)
    # every user with a paid order in the 90 days up to the as-of date, once, under the shop's own id
    day = orders["ts"].dt.tz_convert("UTC").dt.date
    recent = orders[(orders["status"] == "paid") & (day <= as_of) & (day > as_of - timedelta(days=90))]
    assert set(scored["user_id"]) == set("C-" + recent["user_id"])
    assert scored["user_id"].is_unique
    assert scored["churn_probability"].between(0, 1).all()
    assert scored["tier"].isin(["high", "medium", "low"]).all() and scored["action"].notna().all()
    # amounts arrived in currency units, not cents, and nothing after the as-of date was landed
    with duckdb.connect(str(tmp_path / data_dir / "churn.duckdb"), read_only=True) as con:
        total, last = con.execute("SELECT CAST(sum(amount) AS DOUBLE), max(order_date) FROM staging.orders").fetchone()
    expected = orders.loc[day <= as_of, "amount"].sum()
    assert total == pytest.approx(expected, rel=1e-6)
    assert last <= as_of


def test_readme_history_figures_match_the_rule():
    from churn_assets.app.data_dir import min_days_for_training

    text = README.read_text()
    defaults = int(re.search(r"with the defaults, (\d+) days of orders", text).group(1))
    short = int(re.search(r"`--horizon-days 14` needs (\d+)", text).group(1))
    assert defaults == min_days_for_training(30, 7, 28, 2, 2, True)
    assert short == min_days_for_training(14, 7, 28, 2, 2, True)
