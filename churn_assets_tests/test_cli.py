"""The `churn` command line: help, clear errors, the history rule, the as-of cut, and (slow) whole runs on
orders-only shops where data after the as-of date must not change the scored list."""

import shutil
import subprocess
import sys
from datetime import date, timedelta
from importlib.metadata import entry_points
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from churn_assets.app import cli
from churn_assets.app.data_dir import min_days_for_training
from churn_assets.ml.reasons import NO_SINGLE_FACTOR
from churn_assets.ml.splits import time_split
from churn_assets.warehouse.exports import EXPORT_COLUMNS
from churn_assets_tests.sql_fixtures import AS_OF, build_models, empty_db, frame, insert_rows, scenario_db

CHURN = Path(sys.executable).with_name("churn")


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch):
    """The command points CHURN_DATA_DIR / DAGSTER_HOME / CHURN_START_DATE at its data directory."""
    for name in ("CHURN_DATA_DIR", "DAGSTER_HOME", "CHURN_START_DATE"):
        monkeypatch.delenv(name, raising=False)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def write_orders(landing: Path, first: date, n_days: int, users=("a", "b", "c")) -> None:
    folder = landing / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_days):
        day = first + timedelta(days=i)
        lines = ["user_id,order_id,ts,amount"] + [
            f"{u},{u}-{i},{day.isoformat()}T10:00:00,{10 + i % 7}" for j, u in enumerate(users) if (i + j) % 3 == 0
        ]
        (folder / f"{day.isoformat()}.csv").write_text("\n".join(lines) + "\n")


# -- the command itself -----------------------------------------------------------------------------


def test_console_script_is_declared_and_installed():
    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "churn"]
    assert ep.value == "churn_assets.app.cli:main"
    assert CHURN.exists()


@pytest.mark.parametrize("argv", [["--help"], ["simulate", "--help"], ["run", "--help"], ["score", "--help"]])
def test_every_subcommand_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: churn")
    if argv[0] == "run":
        for option in (
            "--data-dir",
            "--as-of",
            "--mapping",
            "--source",
            "--horizon-days",
            "--lookback-days",
            "--out",
            "--models",
        ):
            assert option in out


def test_bad_arguments_exit_non_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--data-dir", "x", "--as-of", "01/06/2026"])
    assert exit_info.value.code == 2
    assert "not a date (YYYY-MM-DD): '01/06/2026'" in capsys.readouterr().err


# -- errors: one line, the cause, exit code 2, before any heavy work --------------------------------


def assert_error(rc: int, err: str, *fragments: str) -> None:
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("churn run: error: ") and lines[1].startswith("  cause: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_missing_data_dir(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "run", "--data-dir", tmp_path / "nowhere", "--as-of", "2026-03-01")
    assert_error(rc, err, "data directory", "nowhere", "does not exist")


def test_data_dir_without_orders(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("no data here")
    rc, _, err = run_cli(capsys, "run", "--data-dir", tmp_path, "--as-of", "2026-03-01")
    assert_error(rc, err, "the input cannot be used", "no orders file")


def test_as_of_outside_the_data(tmp_path, capsys):
    write_orders(tmp_path / "landing", date(2026, 1, 1), 40)
    rc, _, err = run_cli(capsys, "run", "--data-dir", tmp_path, "--as-of", "2025-12-01")
    assert_error(rc, err, "no orders on or before 2025-12-01", "start on 2026-01-01")
    rc, _, err = run_cli(capsys, "run", "--data-dir", tmp_path, "--as-of", "2026-03-01")
    assert_error(rc, err, "after the last day of data (2026-02-09)")


def test_too_little_history_says_how_many_days_are_needed(tmp_path, capsys):
    write_orders(tmp_path / "landing", date(2026, 1, 1), 60)
    rc, _, err = run_cli(capsys, "run", "--data-dir", tmp_path, "--as-of", "2026-03-01")
    need = min_days_for_training(30, 7, 28, 2, 2, True)
    first_ok = date(2026, 1, 1) + timedelta(days=need - 1)
    assert_error(rc, err, "too little history to train: 60 days", f"at least {need} needed", f"on or after {first_ok}")
    assert not (tmp_path / "churn.duckdb").exists()  # nothing ran


def test_as_of_latest_is_the_newest_day_with_orders(tmp_path, capsys):
    write_orders(tmp_path / "landing", date(2026, 1, 1), 60)
    (tmp_path / "landing" / "events").mkdir()
    (tmp_path / "landing" / "events" / "2026-04-01.csv").write_text(
        "user_id,ts,event_type\na,2026-04-01T10:00:00,login\n"
    )
    # the newest orders day is 2026-03-01: the history check names it, so `latest` resolved to it
    rc, _, err = run_cli(capsys, "run", "--data-dir", tmp_path, "--as-of", "latest")
    assert_error(rc, err, "too little history to train: 60 days of orders/events up to 2026-03-01")
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, _, err = run_cli(capsys, "run", "--data-dir", empty, "--as-of", "latest")
    assert_error(rc, err, "the input cannot be used", "no orders file")


def test_unknown_output_format_is_refused_before_running(tmp_path, capsys):
    write_orders(tmp_path / "landing", date(2026, 1, 1), 60)
    rc, _, err = run_cli(
        capsys, "run", "--data-dir", tmp_path, "--as-of", "2026-02-20", "--out", tmp_path / "risk.xlsx"
    )
    assert_error(rc, err, "cannot write", "risk.xlsx", ".parquet")


def test_score_without_a_champion(tmp_path, capsys):
    write_orders(tmp_path / "landing", date(2026, 1, 1), 20)
    rc, _, err = run_cli(capsys, "score", "--data-dir", tmp_path, "--as-of", "2026-01-15")
    assert rc == 2 and "churn score: error: " in err and "run `churn run` on this data directory first" in err


# -- the history rule mirrors the SQL grid and the time split ---------------------------------------


def labelled_dates(n_days: int, horizon: int, step: int) -> list[date]:
    """Labelled as-of dates the SQL models give for n_days of daily orders (cut at the last day)."""
    con = empty_db()
    first = date(2026, 1, 1)
    last = first + timedelta(days=n_days - 1)
    insert_rows(
        con,
        "orders",
        [
            {
                "user_id": "u",
                "order_id": f"o{i}",
                "ts": f"{first + timedelta(days=i)} 10:00",
                "amount": 1.0,
                "status": "paid",
            }
            for i in range(n_days)
        ],
    )
    build_models(con, {"horizon_days": horizon, "as_of_step_days": step, "until_date": last.isoformat()})
    return [r[0] for r in con.execute("SELECT DISTINCT as_of_date FROM labels.churn_labels ORDER BY 1").fetchall()]


@pytest.mark.parametrize("horizon, step", [(30, 7), (14, 7), (30, 14)])
def test_min_days_for_training_is_the_fewest_days_the_split_accepts(horizon, step):
    need = min_days_for_training(horizon, step, 28, 2, 2, True)
    time_split(labelled_dates(need, horizon, step), horizon, 2, 2, True)  # enough: no error
    with pytest.raises(ValueError):
        time_split(labelled_dates(need - 1, horizon, step), horizon, 2, 2, True)


# -- the as-of cut in the staging models ------------------------------------------------------------


def test_until_date_hides_later_files_and_later_timestamps():
    full, cut = scenario_db(), scenario_db()
    late = {"user_id": "u5", "order_id": "late", "ts": "2024-03-30 10:00", "amount": 999.0, "status": "paid"}
    for con in (full, cut):  # an order of 03-30 that only arrived in the file of 04-05
        insert_rows(con, "orders", [late], partition_date=date(2024, 4, 5))
    build_models(full)
    build_models(cut, {"until_date": AS_OF.isoformat()})
    for table, day in (
        ("staging.orders", "order_date"),
        ("staging.events", "event_date"),
        ("staging.reviews", "review_date"),
    ):
        assert cut.execute(f"SELECT max({day}) FROM {table}").fetchone()[0] <= AS_OF
        assert cut.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
    order_ids = "SELECT list(order_id) FROM staging.orders"
    assert "late" in full.execute(order_ids).fetchone()[0]
    assert "late" not in cut.execute(order_ids).fetchone()[0]
    assert cut.execute("SELECT last_date FROM intermediate.data_window").fetchone()[0] == AS_OF
    assert cut.execute("SELECT max(as_of_date) FROM intermediate.as_of_dates").fetchone()[0] == AS_OF
    newest_label = cut.execute("SELECT max(as_of_date) FROM labels.churn_labels").fetchone()[0]
    assert newest_label + timedelta(days=30) <= AS_OF
    # features at the as-of date are the same with or without the later data (minus the late file)
    full_rows = frame(full, "marts.user_features", AS_OF)
    cut_rows = frame(cut, "marts.user_features", AS_OF)
    u5 = full_rows["user_id"] == "u5"
    pd.testing.assert_frame_equal(
        full_rows[~u5].reset_index(drop=True), cut_rows[cut_rows["user_id"] != "u5"].reset_index(drop=True)
    )


# -- whole runs (slow) ------------------------------------------------------------------------------


def orders_only_shop(base: Path, n_users: int, n_days: int, seed: int) -> Path:
    """A simulated shop with its orders landing files only (no users, events, reviews)."""
    from churn_assets.simulate import ShopConfig, simulate_shop

    scratch = base.parent / f"{base.name}_full"
    simulate_shop(scratch, ShopConfig(n_users=n_users, n_days=n_days, seed=seed, messy_share=0.0, write_truth=False))
    (base / "landing").mkdir(parents=True)
    shutil.copytree(scratch / "landing" / "orders", base / "landing" / "orders")
    shutil.rmtree(scratch)
    return base


def churn(*argv, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHURN), *map(str, argv)], cwd=cwd, capture_output=True, text=True, timeout=1800)


def paid_users_until(landing: Path, as_of: date, lookback: int | None) -> set[str]:
    first = "1900-01-01" if not lookback else (as_of - timedelta(days=lookback - 1)).isoformat()
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT DISTINCT user_id FROM read_csv('{landing}/orders/*.csv', all_varchar=true) "
            "WHERE coalesce(lower(status), 'paid') = 'paid' AND try_cast(amount AS DOUBLE) >= 0 "
            "AND CAST(TRY_CAST(ts AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE) BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)",
            [first, as_of],
        ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.slow
def test_orders_only_run_scores_everyone_and_ignores_data_after_the_as_of_date(tmp_path):
    as_of = date(2026, 4, 20)
    shop_a = orders_only_shop(tmp_path / "a", n_users=400, n_days=125, seed=5)
    assert sorted(p.name for p in (shop_a / "landing").iterdir()) == ["orders"]
    shop_b = tmp_path / "b"
    shutil.copytree(shop_a, shop_b)
    # B learns more after the as-of date: later days change, a new day arrives, and a late file (dated
    # after the as-of date) carries orders stamped before it; events and reviews appear after it too
    orders_b = shop_b / "landing" / "orders"
    later = sorted(p for p in orders_b.iterdir() if p.name[:10] > as_of.isoformat())
    assert later
    for p in later:
        text = p.read_text().splitlines()
        p.write_text(
            "\n".join(
                text + [f"{r.split(',')[0]},X{r.split(',')[1]},{r.split(',')[2]},5.0,paid,1,,0," for r in text[1:6]]
            )
            + "\n"
        )
    header = (orders_b / later[0].name).read_text().splitlines()[0]
    users = sorted(paid_users_until(shop_a / "landing", as_of, 0))
    row = {"user_id": users[0], "order_id": "late-1", "ts": f"{as_of - timedelta(days=1)}T09:00:00", "amount": "77"}
    (orders_b / f"{as_of + timedelta(days=3)}-late.csv").write_text(
        header + "\n" + ",".join(row.get(c, "") for c in header.split(",")) + "\n"
    )
    for kind, line in (
        ("events", f"{users[1]},{as_of + timedelta(days=2)}T10:00:00,login"),
        ("reviews", f"{users[1]},{as_of + timedelta(days=2)}T10:00:00,1,terrible"),
    ):
        (shop_b / "landing" / kind).mkdir()
        cols = "user_id,ts,event_type" if kind == "events" else "user_id,ts,rating,text"
        (shop_b / "landing" / kind / f"{as_of + timedelta(days=2)}.csv").write_text(f"{cols}\n{line}\n")

    runs = {}
    for name, shop in (("a", shop_a), ("b", shop_b)):
        runs[name] = churn(
            "run",
            "--data-dir",
            shop,
            "--as-of",
            as_of,
            "--lookback-days",
            "0",
            "--horizon-days",
            "14",
            "--out",
            tmp_path / f"risk_{name}.csv",
            cwd=tmp_path,
        )
        assert runs[name].returncode == 0, runs[name].stdout[-3000:] + runs[name].stderr[-3000:]
    out = runs["a"].stdout
    assert "[churn] step: ingesting" in out and "[churn] step: training models" in out  # progress lines
    assert "behaviour_bert skipped: the shop has no events" in out and "hybrid_gbt skipped" in out
    assert "review-text model skipped" in out
    with duckdb.connect(str(shop_a / "churn.duckdb"), read_only=True) as con:  # no events: no behaviour tokens built
        assert con.execute("SELECT count(*) FROM features.user_event_tokens").fetchall() == [(0,)]
        assert (
            con.execute("SELECT count(*) FROM marts.user_features WHERE event_tokens = 'now_empty'").fetchall()
            == con.execute("SELECT count(*) FROM marts.user_features").fetchall()
        )

    risk_a = (tmp_path / "risk_a.csv").read_bytes()
    assert risk_a == (tmp_path / "risk_b.csv").read_bytes()
    scored = pd.read_csv(tmp_path / "risk_a.csv", dtype={"user_id": str})
    assert list(scored.columns) == EXPORT_COLUMNS
    # lookback 0: every user with a paid order on or before the as-of date, once
    assert set(scored["user_id"]) == paid_users_until(shop_a / "landing", as_of, 0)
    assert scored["user_id"].is_unique
    assert scored["churn_probability"].between(0, 1).all() and scored["churn_probability"].nunique() > 5
    assert set(scored["tier"]) == {"high", "medium", "low"}
    # every user gets reasons in words; nearly every high-risk user has features that push the risk up (one
    # whose features all sit at the model's baseline gets the no-single-factor sentence instead)
    assert scored["reasons"].notna().all() and (scored["reasons"].str.len() > 0).all()
    high = scored.loc[scored["tier"] == "high", "reasons"]
    assert (high != NO_SINGLE_FACTOR).mean() > 0.9

    # the champion re-scores an earlier day with its own settings (lookback 0), as a Parquet file
    earlier = as_of - timedelta(days=7)
    rescored = churn(
        "score", "--data-dir", shop_b, "--as-of", earlier, "--out", tmp_path / "earlier.parquet", cwd=tmp_path
    )
    assert rescored.returncode == 0, rescored.stdout[-3000:] + rescored.stderr[-3000:]
    assert "ingestion skipped" in rescored.stdout  # nothing changed up to that day
    listed = pd.read_parquet(tmp_path / "earlier.parquet")
    assert set(listed["user_id"]) == paid_users_until(shop_a / "landing", earlier, 0)


def test_a_mapping_that_names_a_missing_column_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "export.csv").write_text("Kunde,Bestellung,Zeit,Summe\nk1,b1,2026-01-02 10:00,12.5\n")
    (tmp_path / "mapping.yaml").write_text(
        "orders:\n  file: export.csv\n  columns: {user_id: Kunde, order_id: Bestellung, ts: Zeitpunkt, amount: Summe}\n"
    )
    rc, _, err = run_cli(
        capsys, "run", "--data-dir", tmp_path, "--mapping", tmp_path / "mapping.yaml", "--as-of", "2026-01-02"
    )
    assert_error(rc, err, "the input cannot be used", "Zeitpunkt", "export.csv")
    assert not (tmp_path / "churn.duckdb").exists()


def test_the_run_summary_names_the_review_text_model_and_its_language(tmp_path, capsys):
    from churn_assets.app.summary import print_text_model
    from churn_assets.ml.text import ReviewSentimentModel
    from churn_assets.warehouse.paths import text_model_dir

    print_text_model(tmp_path)
    assert "review-text model: none" in capsys.readouterr().out
    texts = ["物流太慢了，质量很差", "很好，非常满意", "包装破损，不会再买", "物流很快，推荐购买"] * 15
    ReviewSentimentModel(progress=False).fit(texts, [1, 5, 2, 4] * 15).save(text_model_dir(tmp_path))
    print_text_model(tmp_path)
    out = capsys.readouterr().out
    assert "review-text model: tfidf selected, reviews in 'zh'; validation ROC-AUC tfidf 1.0000" in out
    assert "encoder skipped: the packaged all-MiniLM-L6-v2 reads English" in out
