"""Retailrocket recommender-system data set (Kaggle "retailrocket/ecommerce-dataset"): events.csv.

Published columns: timestamp (epoch milliseconds), visitorid, event (view / addtocart / transaction),
itemid, transactionid (only on transactions). item_properties and category_tree are not read.

- events: user_id = visitorid, ts from milliseconds (UTC), event_type view -> page_view, addtocart ->
  add_to_cart, transaction -> purchase; item_id = itemid.
- orders: one per transactionid (its transaction events merged: quantity = number of items, ts = the
  first). The data set has no prices, so amount is UNKNOWN_AMOUNT (0): monetary features carry no
  signal, while recency, frequency and the churn label (which counts paid orders) are unaffected.
  A transaction event without transactionid is set aside with that reason.
- users and reviews: absent (visitors are anonymous; there is no sign-up).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from churn_assets.sources.convert import Params, blank_to_null, text_sql, timestamp_sql
from churn_assets.sources.dataset_files import find_files, load_all, require_columns
from churn_assets.sources.prepared import case_of, create_prepared, insert_malformed, timestamp_checks
from churn_assets.sources.read_input import InputTable
from churn_assets.sources.report import KindReport, PrepareReport

DESCRIPTION = "Retailrocket events.csv: views, add-to-carts, transactions (-> orders, amount unknown)"
UNKNOWN_AMOUNT = "0"
EVENT_TYPES = {"view": "page_view", "addtocart": "add_to_cart", "transaction": "purchase"}
COLUMNS = {
    "ts": ("timestamp",),
    "visitor": ("visitorid", "visitor_id"),
    "event": ("event",),
    "item": ("itemid", "item_id"),
    "transaction": ("transactionid", "transaction_id"),
}


def prepare(con: duckdb.DuckDBPyConnection, input_dir: Path, report: PrepareReport, mapping: Path | None) -> None:
    events = report.kinds.setdefault("events", KindReport("events"))
    con.execute(
        "CREATE TEMP TABLE rr_events (_file VARCHAR, _row BIGINT, user_id VARCHAR, ts TIMESTAMP, event VARCHAR, "
        "item_id VARCHAR, transaction_id VARCHAR, _reason VARCHAR, _field VARCHAR, _raw VARCHAR)"
    )
    for table in load_all(con, find_files(input_dir, "events", what="Retailrocket events")):
        events.files.append(str(table.path))
        events.rows_read += table.rows_read
        _load_events_file(con, table)
        con.execute(f"DROP TABLE {table.table}")
    _prepare_events(con, events)
    _prepare_orders(con, report, events)
    con.execute("DROP TABLE rr_events")


def _load_events_file(con: duckdb.DuckDBPyConnection, table: InputTable) -> None:
    """Append one events file to rr_events, each row with the reason it is rejected (NULL: none)."""
    cols = require_columns(table, COLUMNS, "events", optional=("item", "transaction"))
    p = Params()
    text = {
        k: (blank_to_null(text_sql(c, table.columns[c])) if c else "CAST(NULL AS VARCHAR)") for k, c in cols.items()
    }
    typed = timestamp_sql(cols["ts"], table.columns[cols["ts"]], "epoch_ms", None, p)
    checks = [
        ("user_id IS NULL", "missing visitorid", cols["visitor"]),
        ("event IS NULL", "missing event", cols["event"]),
    ]
    checks += [
        (c, r, cols["ts"])
        for c, r, _ in timestamp_checks(
            "events", "timestamp", "ts", "ts_given", "unparseable timestamp (expected epoch milliseconds)"
        )
    ]
    reason, field_ = case_of(checks, 1, p), case_of(checks, 2, p)
    con.execute(
        "INSERT INTO rr_events SELECT _file, _row, user_id, ts, event, item_id, transaction_id, "
        f"{reason}, {field_}, CASE WHEN {reason} IS NOT NULL THEN left(to_json(_in), 2000) END FROM ("
        f"SELECT {p.add(str(table.path))} AS _file, _in._row, {text['visitor']} AS user_id, {typed} AS ts, "
        f"{text['ts']} AS ts_given, lower({text['event']}) AS event, {text['item']} AS item_id, "
        f"{text['transaction']} AS transaction_id, _in FROM {table.table} AS _in)",
        p,
    )


def _prepare_events(con: duckdb.DuckDBPyConnection, events: KindReport) -> None:
    """prepared_events from rr_events, event names recoded to the contract's event types."""
    p = Params()
    event_type = (
        "CASE event " + " ".join(f"WHEN {p.add(k)} THEN {p.add(v)}" for k, v in EVENT_TYPES.items()) + " ELSE event END"
    )
    target = create_prepared(con, "events")
    con.execute(
        f"INSERT INTO {target} (user_id, ts, event_type, item_id, _file, _row, _n_input, _outcome, _reason, _field, _raw) "
        f"SELECT user_id, ts, {event_type}, item_id, _file, _row, 1, "
        "CASE WHEN _reason IS NULL THEN 'ok' ELSE 'rejected' END, _reason, _field, _raw FROM rr_events",
        p,
    )
    insert_malformed(con, "events", events.files)


def _prepare_orders(con: duckdb.DuckDBPyConnection, report: PrepareReport, events: KindReport) -> None:
    """prepared_orders from the transaction events of rr_events: one order per transactionid."""
    orders = report.kinds.setdefault("orders", KindReport("orders", derived_from="events (transaction events)"))
    orders.notes.append(f"amount unknown in this data set: every order has amount {UNKNOWN_AMOUNT}")
    target = create_prepared(con, "orders")
    con.execute(
        f"INSERT INTO {target} (user_id, order_id, ts, amount, status, quantity, _file, _row, _n_input, _outcome) "
        "SELECT arg_min(user_id, ts), transaction_id, min(ts), $amount, 'paid', CAST(count(*) AS VARCHAR), "
        "arg_min(_file, ts), arg_min(_row, ts), count(*), 'ok' FROM rr_events "
        "WHERE event = 'transaction' AND _reason IS NULL AND transaction_id IS NOT NULL GROUP BY transaction_id",
        {"amount": UNKNOWN_AMOUNT},
    )
    con.execute(
        f"INSERT INTO {target} (_file, _row, _n_input, _outcome, _reason, _field, _raw) "
        "SELECT _file, _row, 1, 'rejected', COALESCE(_reason, 'transaction event without transactionid'), "
        "COALESCE(_field, 'transactionid'), COALESCE(_raw, to_json(struct_pack(visitorid := user_id, event := event, itemid := item_id))) "
        "FROM rr_events WHERE event = 'transaction' AND (_reason IS NOT NULL OR transaction_id IS NULL)"
    )
    orders.rows_read = con.execute("SELECT count(*) FROM rr_events WHERE event = 'transaction'").fetchall()[0][0]
    orders.files = list(events.files)
