"""Source adapters: public data set layouts, mapping files and contract-named files -> landing files
that the ingestion accepts, with every input row accounted for."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from churn_assets.sources import SOURCES, SourceError, prepare_landing
from churn_assets_tests.source_helpers import FIXTURES, ingest_landing, read_parquet, rows

EXAMPLE_MAPPING = Path(__file__).parents[1] / "examples" / "mapping_example.yaml"


def _rejected(landing: Path, kind: str) -> dict[int, str]:
    return {
        r: reason for r, reason in read_parquet(landing / "_rejected" / f"{kind}.parquet", "SELECT row, reason FROM t")
    }


def _ingest_reconciles(landing: Path, tmp_path: Path, report) -> duckdb.DuckDBPyConnection:
    """The ingestion reads exactly the rows prepare_landing wrote, and its own counts reconcile."""
    con, counts = ingest_landing(landing, tmp_path / "churn.duckdb")
    assert all(c.reconciles for c in counts)
    for kind, k in report.kinds.items():
        assert sum(c.read for c in counts if c.kind == kind) == k.rows_written
    return con


def test_registry_names_the_adapters():
    assert {"online_retail_ii", "olist", "retailrocket", "mapping", "contract"} <= set(SOURCES)
    with pytest.raises(SourceError, match="unknown source 'shopify'"):
        prepare_landing(FIXTURES / "olist", Path("/nonexistent"), source="shopify")


def test_online_retail_ii_invoices_become_orders(tmp_path):
    landing = tmp_path / "landing"
    report = prepare_landing(FIXTURES / "online_retail_ii", landing, source="online_retail_ii")
    orders = report.kinds["orders"]
    # 21 invoice lines in two sheets: 10 orders (5 more lines merged into them), 5 set aside, 1 duplicate
    assert (orders.rows_read, orders.rows_written, orders.rows_merged, orders.rows_duplicate) == (21, 10, 5, 1)
    assert orders.rejected == {"missing customer id": 3, "Quantity is not a number": 1, "unparseable InvoiceDate": 1}
    assert orders.reconciles and report.absent == ["events", "reviews"]
    got = {
        r[0]: r[1:]
        for r in read_parquet(
            landing / "orders" / "*.parquet", "SELECT order_id, user_id, ts, amount, status, quantity FROM t"
        )
    }
    assert got["489434"] == (
        "13085",
        datetime(2009, 12, 1, 7, 45),
        "245.4",
        "paid",
        "36",
    )  # 3 lines, '13085.0' -> 13085
    assert got["C489449"] == (
        "16321",
        datetime(2009, 12, 1, 10, 33),
        "45.3",
        "returned",
        "18",
    )  # cancellation: positive
    assert got["500100"][1] == datetime(2010, 6, 15, 13, 0)  # UK summer time -> UTC
    assert got["537001"][1:3] == (datetime(2010, 12, 1, 8, 26), "35.64")  # US-style date of the older export
    assert "489450" not in got and "A506401" not in got
    rejected = _rejected(landing, "orders")
    assert rejected[10] == rejected[11] == rejected[13] == "missing customer id"
    assert "duplicate: invoice already read from an earlier file" in rejected.values()
    users = dict(read_parquet(landing / "users" / "*.parquet", "SELECT user_id, region FROM t"))
    assert users == {
        "13085": "United Kingdom",
        "13078": "United Kingdom",
        "16321": "Australia",
        "17850": "United Kingdom",
        "12680": "France",
    }
    con = _ingest_reconciles(landing, tmp_path, report)
    assert rows(con, "SELECT count(*), sum(amount) FILTER (WHERE status = 'paid') FROM raw.orders") == [
        (10, pytest.approx(527.19))
    ]


def test_olist_keys_users_by_customer_unique_id(tmp_path):
    landing = tmp_path / "landing"
    report = prepare_landing(FIXTURES / "olist", landing, source="olist")
    assert report.kinds["orders"].rejected == {
        "customer_id not in olist_customers_dataset": 1,
        "unparseable order_purchase_timestamp": 1,
    }
    assert report.kinds["reviews"].rejected == {
        "order_id not in olist_orders_dataset": 1,
        "the review's order was set aside": 1,
    }
    assert report.reconciles and report.absent == ["events"]
    got = {
        r[0]: r[1:]
        for r in read_parquet(
            landing / "orders" / "*.parquet",
            "SELECT order_id, user_id, ts, amount, status, quantity, category, delivery_days FROM t",
        )
    }
    first, second = got["e481f51cbdc54678b7cc49136f2d6af7"], got["53cdb2fc8bc7dce0b6741e2150273451"]
    # two customer_ids of one person: one user with two orders
    assert first[0] == second[0] == "861eff4711a542e4b93843c6dd7febb0"
    assert first[1] == datetime(2017, 10, 2, 13, 56, 33)  # Sao Paulo (UTC-3) -> UTC
    assert got["949d5b44dbf5de918fe9c16f97b45f8a"][1] == datetime(
        2017, 11, 18, 21, 28, 6
    )  # Brazilian summer time, UTC-2
    assert first[2:6] == ("38.71", "paid", "1", "housewares")  # payments summed; category in English
    assert float(first[6]) == pytest.approx(8.437, abs=1e-3)  # delivered 8.44 days after purchase
    assert second[3:5] == ("paid", "2")
    assert got["47770eb9100c2d0c44946d9cf07ec65d"][3] == "cancelled"
    assert got["949d5b44dbf5de918fe9c16f97b45f8a"][2:6] == (
        "72.2",
        "paid",
        "1",
        "pet_shop",
    )  # no payment: items + freight
    assert got["ad21c59c0840e6cb83a9ceb5573f8159"][3] == "cancelled"  # unavailable
    users = read_parquet(landing / "users" / "*.parquet", "SELECT user_id, signup_ts, region FROM t ORDER BY 1")
    assert len(users) == 4 and ("861eff4711a542e4b93843c6dd7febb0", datetime(2017, 10, 2, 13, 56, 33), "SP") in users
    reviews = read_parquet(landing / "reviews" / "*.parquet", "SELECT order_id, rating, text FROM t ORDER BY ts")
    assert [r[1] for r in reviews] == ["4", "1", "5"]
    assert reviews[1][2].startswith("Péssimo. Produto não chegou.")  # title and Portuguese message kept
    con = _ingest_reconciles(landing, tmp_path, report)
    texts = [t for (t,) in rows(con, "SELECT text FROM raw.reviews")]
    assert any("[phone]" in t and "[email]" in t for t in texts)
    assert not any("98765-4321" in t or "joao.silva@gmail.com" in t for t in texts)


def test_retailrocket_events_and_transactions(tmp_path):
    landing = tmp_path / "landing"
    report = prepare_landing(FIXTURES / "retailrocket", landing, source="retailrocket")
    events, orders = report.kinds["events"], report.kinds["orders"]
    assert (events.rows_read, events.rows_written, events.rows_rejected) == (12, 10, 2)
    assert (orders.rows_read, orders.rows_written, orders.rows_merged) == (4, 2, 1)
    assert orders.rejected == {"transaction event without transactionid": 1}
    assert report.absent == ["users", "reviews"]
    got = read_parquet(landing / "events" / "*.parquet", "SELECT event_type, count(*) FROM t GROUP BY 1 ORDER BY 1")
    assert got == [("add_to_cart", 2), ("page_view", 4), ("purchase", 4)]
    first = read_parquet(
        landing / "events" / "*.parquet", "SELECT ts FROM t WHERE user_id = '257597' ORDER BY ts LIMIT 1"
    )
    assert first == [(datetime(2015, 6, 2, 5, 2, 12, 117000),)]  # epoch milliseconds
    got = read_parquet(landing / "orders" / "*.parquet", "SELECT order_id, user_id, amount, quantity FROM t ORDER BY 1")
    assert got == [("17167", "287857", "0", "1"), ("9765", "257597", "0", "2")]
    assert any("amount" in n for n in orders.notes)
    _ingest_reconciles(landing, tmp_path, report)


def test_example_mapping_file(tmp_path):
    """The mapping file shipped in examples/ turns an export with other names, formats and units into
    contract rows; what it cannot fix is quarantined by the ingestion with the reason."""
    landing = tmp_path / "landing"
    report = prepare_landing(FIXTURES / "mapped_shop", landing, mapping=EXAMPLE_MAPPING)
    orders = report.kinds["orders"]
    assert report.source == "mapping" and report.absent == ["users", "events", "reviews"]
    assert (orders.rows_read, orders.rows_written) == (8, 7)
    assert orders.rejected == {"unparseable timestamp in ts (expected format %d/%m/%Y %H:%M)": 1}
    assert _rejected(landing, "orders") == {6: "unparseable timestamp in ts (expected format %d/%m/%Y %H:%M)"}
    got = {
        r[0]: r[1:]
        for r in read_parquet(
            landing / "orders" / "*.parquet",
            "SELECT order_id, user_id, ts, amount, status, quantity, category, discount FROM t",
        )
    }
    assert got["A-1001"] == ("C-17", datetime(2024, 1, 3, 8, 15), "25.99", "paid", "2", "Garden", "0")  # CET, cents
    assert got["A-1002"][3] == "paid"  # 'Completed': values compare lower-case
    assert got["A-1003"][1:4] == (datetime(2024, 1, 3, 23, 30), "99.0", "cancelled")  # Berlin midnight: UTC day before
    assert got["A-1004"][1:4] == (datetime(2024, 7, 5, 10, 0), "4.5", "refunded")  # CEST
    assert (landing / "orders" / "2024-01-03.parquet").is_file()
    con = _ingest_reconciles(landing, tmp_path, report)
    quarantined = dict(rows(con, "SELECT json_extract_string(raw, '$.order_id'), reason FROM quarantine.orders"))
    assert quarantined == {
        "A-1006": "amount is not a number",  # '12,5' with decimal point data
        "A-1007": "unknown status (allowed: paid, cancelled, refunded, returned)",
        "A-1008": "missing user_id",
    }


def test_contract_named_files_in_every_format(tmp_path):
    """orders.csv.gz, users.parquet, events.jsonl and reviews/ (a folder) at the top of the input."""
    src = tmp_path / "export"
    (src / "reviews").mkdir(parents=True)
    with gzip.open(src / "orders.csv.gz", "wt") as fh:
        fh.write(
            "USER_ID,order_id,ts,amount,status\n"  # column names are case-insensitive
            "u1,o1,2024-03-01T10:00:00+01:00,10,paid\nu2,o2,1709290800,20.5,cancelled\nu1,o3,2024-03-02 08:00,5,paid\n"
        )
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES ('u1', TIMESTAMPTZ '2024-02-01 12:00:00+00', 'north'), "
        "('u2', TIMESTAMPTZ '2024-02-02 12:00:00+00', 'south')) AS t(user_id, signup_ts, region)) "
        f"TO '{src / 'users.parquet'}' (FORMAT parquet)"
    )
    (src / "events.jsonl").write_text(
        json.dumps({"user_id": "u1", "ts": "2024-03-01T09:00:00Z", "event_type": "page_view", "item_id": 7})
        + "\n"
        + json.dumps({"user_id": "u2", "ts": "2024-03-01T09:05:00Z", "event_type": "search", "query": "red shoes"})
        + "\n"
    )
    (src / "reviews" / "march.csv").write_text("user_id,ts,rating,text\nu1,2024-03-03 12:00,5,Great\n")
    landing = tmp_path / "landing"
    report = prepare_landing(src, landing)
    assert report.source == "contract" and report.absent == []
    assert {k: v.rows_written for k, v in report.kinds.items()} == {"users": 2, "orders": 3, "events": 2, "reviews": 1}
    assert sorted(p.name for p in (landing / "orders").iterdir()) == ["2024-03-01.parquet", "2024-03-02.parquet"]
    got = read_parquet(landing / "orders" / "*.parquet", "SELECT order_id, ts FROM t ORDER BY 1")
    assert got == [
        ("o1", datetime(2024, 3, 1, 9, 0)),
        ("o2", datetime(2024, 3, 1, 11, 0)),
        ("o3", datetime(2024, 3, 2, 8, 0)),
    ]
    con = _ingest_reconciles(landing, tmp_path, report)
    assert rows(con, "SELECT count(*) FROM quarantine.orders") == [(0,)]
    assert rows(con, "SELECT item_id FROM raw.events WHERE event_type = 'page_view'") == [("7",)]


def test_until_leaves_later_rows_out(tmp_path):
    landing = tmp_path / "landing"
    report = prepare_landing(FIXTURES / "online_retail_ii", landing, source="online_retail_ii", until=date(2010, 6, 30))
    orders, users = report.kinds["orders"], report.kinds["users"]
    # 537000, 537001 (2 lines), 581587 are later; 537000's second copy is still a duplicate
    assert (orders.rows_written, orders.rows_after_until) == (7, 4) and orders.reconciles
    assert users.rows_after_until == 2  # 17850 and 12680 first bought after the day
    days = sorted(p.name[:10] for p in (landing / "orders").iterdir())
    assert days[-1] <= "2010-06-30"


def test_a_second_preparation_replaces_its_own_files_only(tmp_path):
    landing = tmp_path / "landing"
    prepare_landing(FIXTURES / "online_retail_ii", landing, source="online_retail_ii")
    report = prepare_landing(FIXTURES / "retailrocket", landing, source="retailrocket")
    assert not (landing / "users").exists() or not any((landing / "users").iterdir())
    assert sorted(p.name for p in (landing / "orders").iterdir()) == ["2015-06-02.parquet"]
    assert not (landing / "_rejected" / "users.parquet").exists()
    assert report.kinds["orders"].rows_written == 2
    (landing / "orders" / "2015-06-03.csv").write_text("user_id,order_id,ts,amount\n")  # someone else's file
    with pytest.raises(SourceError, match="not written by a preparation"):
        prepare_landing(FIXTURES / "retailrocket", landing, source="retailrocket")


def test_report_is_serialisable_and_summarised(tmp_path):
    report = prepare_landing(FIXTURES / "online_retail_ii", tmp_path / "landing", source="online_retail_ii")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["kinds"]["orders"]["rows_rejected"] == 5 and data["kinds"]["orders"]["reconciles"]
    text = report.summary()
    assert "missing customer id" in text and "absent (optional" in text
    manifest = json.loads((tmp_path / "landing" / "_prepared.json").read_text())
    assert "_rejected/orders.parquet" in manifest["files"]


@pytest.mark.parametrize("source", ["online_retail_ii", "olist", "retailrocket"])
def test_adapters_want_their_own_files(tmp_path, source):
    src = tmp_path / "in"
    shutil.copytree(FIXTURES / "mapped_shop", src)
    with pytest.raises(SourceError) as err:
        prepare_landing(src, tmp_path / "landing", source=source)
    assert str(src) in str(err.value)


def test_toml_mapping_with_several_kinds(tmp_path):
    """A TOML mapping: users and reviews beside orders, JSON lines, epoch milliseconds, decimal commas,
    a list of date formats, recoded values and constant defaults."""
    src = tmp_path / "export"
    src.mkdir()
    (src / "sales.csv").write_text(
        "buyer|ref|when|total|state\nb1|r1|1709290800000|1.234,50|ok\nb2|r2|1709377200000|12,00|storno\n"
    )
    (src / "people.csv").write_text("id,joined\nb1,01.02.2024\nb2,2024-02-03\n")
    (src / "feedback.jsonl").write_text(
        json.dumps({"who": "b1", "at": "2024-03-02T08:00:00Z", "stars": 2, "says": "slow"}) + "\n"
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[orders]\nfile = "sales.csv"\ntimestamp_format = "epoch_ms"\ndecimal_comma = true\n'
        '[orders.columns]\nuser_id = "buyer"\norder_id = "ref"\nts = "when"\namount = "total"\nstatus = "state"\n'
        '[orders.values.status]\nok = "paid"\nstorno = "cancelled"\n'
        '[orders.defaults]\ncategory = "all"\n'
        '[users]\nfile = "people*.csv"\ntimestamp_format = ["%d.%m.%Y", "%Y-%m-%d"]\ntimezone = "Europe/Vienna"\n'
        '[users.columns]\nuser_id = "id"\nsignup_ts = "joined"\n'
        '[users.defaults]\nchannel = "shop"\n'
        '[reviews]\nfile = "feedback.jsonl"\n[reviews.columns]\nuser_id = "who"\nts = "at"\nrating = "stars"\ntext = "says"\n'
    )
    report = prepare_landing(src, tmp_path / "landing", mapping=mapping)
    assert report.absent == ["events"] and report.reconciles
    landing = tmp_path / "landing"
    assert read_parquet(
        landing / "orders" / "*.parquet", "SELECT order_id, ts, amount, status, category FROM t ORDER BY 1"
    ) == [
        ("r1", datetime(2024, 3, 1, 11, 0), "1234.5", "paid", "all"),
        ("r2", datetime(2024, 3, 2, 11, 0), "12.0", "cancelled", "all"),
    ]
    assert read_parquet(landing / "users" / "*.parquet", "SELECT user_id, signup_ts, channel FROM t ORDER BY 1") == [
        ("b1", datetime(2024, 1, 31, 23, 0), "shop"),
        ("b2", datetime(2024, 2, 2, 23, 0), "shop"),
    ]  # Vienna midnight
    con = _ingest_reconciles(landing, tmp_path, report)
    assert rows(con, "SELECT user_id, rating, text FROM raw.reviews") == [("b1", 2, "slow")]
    assert rows(con, "SELECT count(*) FROM quarantine.orders") == [(0,)]


def test_readme_contract_table_matches_the_contract():
    """The README's contract table lists each kind's required columns as contract.py defines them."""
    from churn_assets.warehouse.contract import SOURCES as CONTRACT

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## Raw data contract", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ") and "natural key" not in line]
    for kind, spec in CONTRACT.items():
        (line,) = [t for t in table if t.split("|")[1].strip(" *").startswith(kind)]
        required_cell, optional_cell = line.split("|")[2], line.split("|")[3]
        for col in spec.columns:
            assert col.name in (required_cell if col.required else optional_cell), (kind, col.name)


def test_adapters_read_the_top_of_the_data_directory_only(tmp_path):
    """The input directory is usually the data directory: its landing/, exports/ ... are not input."""
    base = tmp_path / "shop"
    base.mkdir()
    sheet = (FIXTURES / "online_retail_ii" / "online_retail_II_2009-2010.csv").read_text()
    (base / "Year 2009-2010.csv").write_text(sheet)  # a sheet saved under another name
    (base / "exports").mkdir()
    (base / "exports" / "risk.csv").write_text("user_id,churn_probability\n13085,0.4\n")
    first = prepare_landing(base, base / "landing", source="online_retail_ii")
    again = prepare_landing(base, base / "landing", source="online_retail_ii")  # landing/ now holds Parquet files
    assert first.kinds["orders"].files == again.kinds["orders"].files == [str(base / "Year 2009-2010.csv")]
    assert again.kinds["orders"].rows_written == 8


def test_online_retail_ii_from_parquet_with_native_types(tmp_path):
    """The same sheet as Parquet with typed columns (timestamps, float customer ids, integer quantities)."""
    src = tmp_path / "in"
    src.mkdir()
    sheet = FIXTURES / "online_retail_ii" / "online_retail_II_2009-2010.csv"
    duckdb.sql(
        "COPY (SELECT Invoice, StockCode, Description, CAST(Quantity AS BIGINT) AS Quantity, "
        "CAST(InvoiceDate AS TIMESTAMP) AS InvoiceDate, CAST(Price AS DOUBLE) AS Price, "
        'CAST("Customer ID" AS DOUBLE) AS "Customer ID", Country '
        f"FROM read_csv('{sheet}', all_varchar = true) WHERE Quantity <> 'two' AND InvoiceDate NOT LIKE '16/%') "
        f"TO '{src / 'online_retail_II.parquet'}' (FORMAT parquet)"
    )
    landing = tmp_path / "landing"
    report = prepare_landing(src, landing, source="online_retail_ii")
    assert report.kinds["orders"].rejected == {"missing customer id": 3}
    got = {
        r[0]: r[1:]
        for r in read_parquet(landing / "orders" / "*.parquet", "SELECT order_id, user_id, ts, amount FROM t")
    }
    assert got["489434"] == ("13085", datetime(2009, 12, 1, 7, 45), "245.4")
    assert got["500100"][1] == datetime(2010, 6, 15, 13, 0)  # a naive Parquet timestamp is UK time too


def test_landing_files_accept_epoch_seconds_and_milliseconds(tmp_path):
    """Hand-written landing files: the ingestion reads epoch seconds and milliseconds as UTC too."""
    from churn_assets.ingest.store import ensure_tables, ingest_partition
    from churn_assets.warehouse.contract import SOURCES as CONTRACT
    from churn_assets_tests.source_helpers import NOW

    folder = tmp_path / "landing" / "events"
    folder.mkdir(parents=True)
    (folder / "2015-06-02.csv").write_text("user_id,ts,event_type\nv1,1433221332117,view\nv2,1433221332,view\n")
    con = duckdb.connect(str(tmp_path / "churn.duckdb"))
    for spec in CONTRACT.values():
        ensure_tables(con, spec)
    assert ingest_partition(con, tmp_path / "landing", CONTRACT["events"], date(2015, 6, 2), now=NOW).accepted == 2
    assert rows(con, "SELECT user_id, ts FROM raw.events ORDER BY 1") == [
        ("v1", datetime(2015, 6, 2, 5, 2, 12, 117000)),
        ("v2", datetime(2015, 6, 2, 5, 2, 12)),
    ]
