"""Hostile mapping files and the `churn` command end to end: a clear error naming the mapping file and key, or
the file (and row) at fault; nothing read from outside the data directory; exit code 2. Landing files and
exports are in test_hostile_inputs.py."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from churn_assets.app import cli, job_runner
from churn_assets.ingest.read_files import LandingFileError
from churn_assets.ingest.store import ingest_partition
from churn_assets.sources import prepare_landing
from churn_assets.warehouse.contract import SOURCES
from churn_assets_tests.reliability.hostile import (
    CHURN,
    GOOD,
    HEADER,
    SECRET,
    assert_reconciled,
    write_landing,
)
from churn_assets_tests.source_helpers import (
    NOW,
    ingest_landing,
    rows,
    write_export,
)

pytestmark = pytest.mark.reliability

# -- mapping files: paths outside the data directory, wrong types, YAML tricks ------------------------------


@pytest.fixture
def shop(tmp_path) -> Path:
    """A data directory with a good export, next to another shop's export and a secret file."""
    base = write_export(tmp_path, {"orders.csv": f"{HEADER}\n{GOOD}\n"})
    other = tmp_path / "other_shop"
    other.mkdir()
    (other / "orders.csv").write_text(f"{HEADER}\n{SECRET},o9,2024-03-01 10:00,1\n")
    (tmp_path / "secret.csv").write_text(f"{SECRET}:x:0:0:root\n")
    (base / "linked.csv").symlink_to(other / "orders.csv")
    (base / "data").mkdir()
    (base / "data" / "escape").symlink_to(other, target_is_directory=True)
    return base


PATHS_OUTSIDE = {
    "relative": "../other_shop/orders.csv",
    "far up, as /etc/passwd": "../../../../../../../../../etc/passwd",
    "absolute": "{tmp}/other_shop/orders.csv",
    "absolute glob": "{tmp}/*/orders.csv",
    "relative glob": "../*/orders.csv",
    "recursive glob": "../**/orders.csv",
    "symlink to a file outside": "linked.csv",
    "symlinked folder": "data/escape/orders.csv",
    "glob through a symlinked folder": "data/*/*.csv",
    "a list with one outside": ["orders.csv", "../secret.csv"],
}


@pytest.mark.parametrize("case", PATHS_OUTSIDE)
def test_a_mapping_file_cannot_read_outside_the_data_directory(shop, tmp_path, case):
    pattern = PATHS_OUTSIDE[case]
    patterns = [p.format(tmp=tmp_path) for p in ([pattern] if isinstance(pattern, str) else pattern)]
    mapping = shop / "mapping.yaml"
    mapping.write_text(yaml_dump({"orders": {"files": patterns, "format": "csv"}}))
    with pytest.raises(Exception) as err:
        prepare_landing(shop, shop / "landing", mapping=mapping)
    message = str(err.value)
    assert type(err.value).__name__ == "SourceError" and "\n" not in message, message
    assert f"mapping file {mapping}" in message and "kind orders" in message and "outside the data directory" in message
    assert patterns[-1] in message and str(shop) in message
    assert SECRET not in message and ":x:0:0:" not in message  # nothing of the refused file is echoed
    assert not (shop / "landing" / "orders").exists()


def yaml_dump(data) -> str:
    import yaml

    return yaml.safe_dump(data)


BOMB = "orders:\n  file: orders.csv\n  currency:\n    - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"    - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)
)  # "billion laughs": 9 ** 10 values once expanded
MAPPING_MISTAKES = {
    "timestamp_format: 123": (
        "orders:\n  file: orders.csv\n  timestamp_format: 123\n",
        "'timestamp_format' must be a text or a list of texts, got 123",
    ),
    "timestamp_format list of numbers": (
        "orders:\n  file: orders.csv\n  timestamp_format: [1, 2]\n",
        "'timestamp_format' must be a text or a list of texts",
    ),
    "timezone: 5": ("orders:\n  file: orders.csv\n  timezone: 5\n", "'timezone' must be a text, got 5"),
    "delimiter of two characters": (
        "orders:\n  file: orders.csv\n  delimiter: ';;'\n",
        "'delimiter' must be one character",
    ),
    "file: 5": ("orders:\n  file: 5\n", "'file' must be a text or a list of texts, got 5"),
    "file: [.]": ("orders:\n  files: ['.']\n", "file '.' is not a file name or glob"),
    "decimal_comma: maybe": (
        "orders:\n  file: orders.csv\n  decimal_comma: maybe\n",
        "'decimal_comma' must be true or false",
    ),
    "amount_scale: .inf": (
        "orders:\n  file: orders.csv\n  amount_scale: .inf\n",
        "'amount_scale' must be a finite number",
    ),
    "default of a list": (
        "orders:\n  file: orders.csv\n  defaults: {category: [a, b]}\n",
        "'defaults' must give texts or numbers",
    ),
    "recoding to a table": (
        "orders:\n  file: orders.csv\n  values: {status: {done: {x: 1}}}\n",
        "'values' must give texts or numbers",
    ),
    "alias bomb (billion laughs)": (BOMB, "YAML aliases"),
    "self-referencing alias": ("orders: &a\n  file: orders.csv\n  values: {status: *a}\n", "YAML aliases"),
    "mapping file of 2 MB": ("orders:\n  file: orders.csv\n" + "# padding\n" * 200_000, "larger than 1 MiB"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", MAPPING_MISTAKES)
def test_a_hostile_mapping_file_is_one_clear_error(shop, case):
    text, expected = MAPPING_MISTAKES[case]
    mapping = shop / "mapping.yaml"
    mapping.write_text(text)
    with pytest.raises(Exception) as err:
        prepare_landing(shop, shop / "landing", mapping=mapping)
    message = str(err.value)
    assert type(err.value).__name__ == "SourceError" and "\n" not in message and len(message) < 500, message
    assert str(mapping) in message and expected in message, message


# -- duplicates across days: counted, and the counts still reconcile -----------------------------------------


def test_order_ids_repeated_on_a_later_day_are_counted(tmp_path):
    write_landing(tmp_path, "2024-03-01.csv", f"{HEADER}\nu1,o1,2024-03-01 10:00,1\nu1,o2,2024-03-01 11:00,2\n")
    write_landing(
        tmp_path,
        "2024-03-02.csv",
        f"{HEADER}\nu1,o2,2024-03-01 11:00,2\nu1,o3,2024-03-02 10:00,3\nu1,o3,2024-03-02 10:00,3\n",
    )
    write_landing(tmp_path, "2024-03-03.csv", f"{HEADER}\nu1,o1,2024-03-01 10:00,1\nu1,o2,2024-03-01 11:00,2\n")
    con, counts = ingest_landing(tmp_path / "landing", tmp_path / "churn.duckdb")
    orders = [c for c in counts if c.kind == "orders"]
    assert [(c.read, c.accepted, c.duplicates, c.cross_day_duplicates) for c in orders] == [
        (2, 2, 0, 0),
        (3, 2, 1, 1),
        (2, 2, 0, 2),
    ]
    assert rows(
        con, "SELECT partition_date, cross_day_duplicates FROM raw.ingest_log WHERE kind = 'orders' ORDER BY 1"
    ) == [(date(2024, 3, 1), 0), (date(2024, 3, 2), 1), (date(2024, 3, 3), 2)]
    assert_reconciled(con, orders)
    # re-ingesting a day gives the same count
    ingest_partition(con, tmp_path / "landing", SOURCES["orders"], date(2024, 3, 3), now=NOW)
    from churn_assets.ingest.store import record_cross_day_duplicates

    again = record_cross_day_duplicates(
        con, SOURCES["orders"], [c for c in orders if c.partition_date == date(2024, 3, 3)]
    )
    assert [c.cross_day_duplicates for c in again] == [2]


# -- the churn command: the same errors end to end, exit code 2 -------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    """The command points CHURN_DATA_DIR / DAGSTER_HOME / CHURN_START_DATE at its data directory: restored after."""
    for name in ("CHURN_DATA_DIR", "DAGSTER_HOME", "CHURN_START_DATE"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    "mapping_text, expected",
    [
        (
            "orders:\n  file: ../other_shop/orders.csv\n",
            "file '../other_shop/orders.csv' is outside the data directory",
        ),
        ("orders:\n  file: {tmp}/other_shop/orders.csv\n", "is outside the data directory"),
        (
            "orders:\n  file: orders.csv\n  timestamp_format: 123\n",
            "'timestamp_format' must be a text or a list of texts",
        ),
        (BOMB, "YAML aliases"),
    ],
)
def test_churn_run_refuses_a_hostile_mapping_with_exit_code_2(
    shop, tmp_path, clean_env, capsys, mapping_text, expected
):
    mapping = shop / "mapping.yaml"
    mapping.write_text(mapping_text.format(tmp=tmp_path))
    rc = cli.main(["run", "--data-dir", str(shop), "--mapping", str(mapping), "--as-of", "2024-03-01"])
    err = capsys.readouterr().err
    assert rc == 2 and "error: the input cannot be used" in err and expected in err and str(mapping) in err, err
    assert SECRET not in err and "not available yet" not in err and len(err.splitlines()) == 2


def test_a_failed_step_reports_the_error_that_names_the_file_not_its_cause(tmp_path):
    """The CLI shows the user code's exception (a LandingFileError names the file), not the one it wraps."""
    import dagster as dg

    bad = write_landing(tmp_path, "2024-03-01.parquet", b"PAR1 not really")

    @dg.op
    def read_it():
        from churn_assets.ingest.read_files import read_landing_file

        read_landing_file(bad, SOURCES["orders"])

    with pytest.raises(Exception) as err:
        dg.GraphDefinition("read", node_defs=[read_it]).to_job().execute_in_process(raise_on_error=True)
    assert err.value.__cause__ is not None  # pyarrow's error, without the file name
    _, cause = job_runner.unwrap(err.value)
    assert isinstance(cause, LandingFileError) and str(bad) in str(cause)


def _orders_days(landing: Path, first: date, n_days: int, amount: str) -> None:
    for i in range(n_days):
        day = first + timedelta(days=i)
        lines = [f"u{u},o{i}-{u},{day}T10:00:00,{amount}" for u in range(3) if (i + u) % 2 == 0]
        write_landing(landing.parent, f"{day}.csv", "\n".join([HEADER, *lines]) + "\n")


def _churn(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHURN), *map(str, argv)], capture_output=True, text=True, timeout=600)


def test_churn_run_stops_after_ingestion_when_every_order_is_quarantined(tmp_path):
    _orders_days(tmp_path / "landing", date(2024, 1, 1), 40, amount="-3")
    done = _churn(
        "run", "--data-dir", tmp_path, "--as-of", "2024-02-09", "--horizon-days", "1", "--as-of-step-days", "1"
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    err = done.stderr
    assert "no orders were accepted" in err and "60 orders rows read up to 2024-02-09, all quarantined" in err, err
    assert "amount below 0 (60)" in err and "quarantine.orders" in err and "labelled" not in err
    assert "step: staging" not in done.stdout  # stopped right after ingestion
    with duckdb.connect(str(tmp_path / "churn.duckdb"), read_only=True) as con:
        assert rows(con, "SELECT sum(read), sum(rejected) FROM raw.ingest_log") == [(60, 60)]


def test_a_landing_file_error_names_the_file_through_the_command(tmp_path):
    _orders_days(tmp_path / "landing", date(2024, 1, 1), 40, amount="5")
    bad = write_landing(tmp_path, "2024-01-20.csv", f"{HEADER}\n{GOOD}\nu2,o2,2024-01-20,Caf\xe9\n".encode("latin-1"))
    done = _churn(
        "run", "--data-dir", tmp_path, "--as-of", "2024-02-09", "--horizon-days", "1", "--as-of-step-days", "1"
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"cause: LandingFileError: {bad}: line 3: not UTF-8 text" in done.stderr, done.stderr
