"""Olist Brazilian e-commerce (Kaggle "olistbr/brazilian-ecommerce", 2016-2018), one CSV per table.

Read: olist_orders_dataset, olist_customers_dataset (both required), olist_order_payments_dataset and/or
olist_order_items_dataset (amounts), olist_order_reviews_dataset, olist_products_dataset and
product_category_name_translation (optional). Timestamps are Sao Paulo local time -> UTC.

- The customer key: olist_customers_dataset gives each *order* its own customer_id; the person is
  customer_unique_id, which becomes user_id (otherwise no one would ever order twice).
- orders: order_id; ts = order_purchase_timestamp; status delivered / shipped / invoiced / processing /
  approved / created -> paid, canceled / unavailable -> cancelled; amount = sum of payment_value (else
  price + freight_value of the items); quantity = number of items; category = the priciest item's
  product category (English name when the translation file is there); delivery_days = purchase to
  order_delivered_customer_date, in days (known only once delivered: the ingestion keeps the row's
  day, the features place the delivery at ts + delivery_days).
- users: one per customer_unique_id; no sign-up date exists, so signup_ts = first purchase, region =
  customer_state of that order.
- reviews: review_score -> rating, review_comment_title + review_comment_message (Portuguese) -> text,
  review_creation_date -> ts, kind review; the user through the order.
- events: absent.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from churn_assets.sources.convert import Params, blank_to_null, timestamp_expr
from churn_assets.sources.dataset_files import find_files, require_columns
from churn_assets.sources.errors import SourceError
from churn_assets.sources.prepared import create_prepared, insert_malformed
from churn_assets.sources.read_input import InputTable, load_input, quote_ident
from churn_assets.sources.report import KindReport, PrepareReport

DESCRIPTION = "Olist Brazilian e-commerce: orders, items, payments, reviews (Portuguese), customers by customer_unique_id"
TIMEZONE = "America/Sao_Paulo"
STATUS = {
    "delivered": "paid", "shipped": "paid", "invoiced": "paid", "processing": "paid", "approved": "paid",
    "created": "paid", "canceled": "cancelled", "unavailable": "cancelled",
}
TABLES = {  # file stem -> the columns the adapter reads
    "olist_orders_dataset": ("order_id", "customer_id", "order_status", "order_purchase_timestamp", "order_delivered_customer_date"),
    "olist_customers_dataset": ("customer_id", "customer_unique_id", "customer_state"),
    "olist_order_payments_dataset": ("order_id", "payment_value"),
    "olist_order_items_dataset": ("order_id", "product_id", "price", "freight_value"),
    "olist_order_reviews_dataset": ("order_id", "review_score", "review_comment_title", "review_comment_message", "review_creation_date"),
    "olist_products_dataset": ("product_id", "product_category_name"),
    "product_category_name_translation": ("product_category_name", "product_category_name_english"),
}
OPTIONAL_COLUMNS = ("customer_state", "order_delivered_customer_date", "review_comment_title", "review_comment_message")


def _load(con: duckdb.DuckDBPyConnection, input_dir: Path, stem: str, kind: str, required: bool) -> tuple[str | None, list[InputTable]]:
    """The table's files as one view `olist_<short>` with the columns the adapter reads (text)."""
    files = find_files(input_dir, stem, required=required, what=stem)
    if not files:
        return None, []
    tables = [load_input(con, f) for f in files]
    wanted = {c: (c,) for c in TABLES[stem]}
    selects = []
    for t in tables:
        cols = require_columns(t, wanted, kind, optional=OPTIONAL_COLUMNS)
        picks = ", ".join(
            f"{'CAST(' + quote_ident(cols[c]) + ' AS VARCHAR)' if cols[c] else 'CAST(NULL AS VARCHAR)'} AS {c}" for c in TABLES[stem]
        )
        selects.append(f"SELECT '{len(selects)}' AS _part, {_literal(str(t.path))} AS _file, _row, {picks}, to_json(_in) AS _json FROM {t.table} AS _in")
    view = "olist_" + stem.replace("olist_", "").replace("_dataset", "")
    con.execute(f"CREATE TEMP VIEW {view} AS {' UNION ALL '.join(selects)}")
    return view, tables


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ts(expr: str, p: Params) -> str:
    return timestamp_expr(expr, "VARCHAR", None, TIMEZONE, p)


def prepare(con: duckdb.DuckDBPyConnection, input_dir: Path, report: PrepareReport, mapping: Path | None) -> None:
    orders = report.kinds.setdefault("orders", KindReport("orders"))
    orders_view, order_tables = _load(con, input_dir, "olist_orders_dataset", "orders", True)
    customers_view, customer_tables = _load(con, input_dir, "olist_customers_dataset", "users", True)
    payments_view, payment_tables = _load(con, input_dir, "olist_order_payments_dataset", "orders", False)
    items_view, item_tables = _load(con, input_dir, "olist_order_items_dataset", "orders", False)
    products_view, product_tables = _load(con, input_dir, "olist_products_dataset", "orders", False)
    names_view, name_tables = _load(con, input_dir, "product_category_name_translation", "orders", False)
    if not payments_view and not items_view:
        raise SourceError("no olist_order_payments_dataset or olist_order_items_dataset file: order amounts are unknown",
                          path=input_dir, kind="orders")
    orders.files = [str(t.path) for t in order_tables]
    orders.rows_read = sum(t.rows_read for t in order_tables)
    for extra in (customer_tables, payment_tables, item_tables, product_tables, name_tables):
        if extra:
            orders.notes.append(f"joined {', '.join(Path(t.path).name for t in extra)} ({sum(t.rows for t in extra)} rows)")
    p = Params()
    pay = f"(SELECT order_id, sum(TRY_CAST(payment_value AS DOUBLE)) AS paid FROM {payments_view} GROUP BY order_id)" if payments_view else None
    if items_view:
        category = "NULL"
        joins = ""
        if products_view:
            english = "n.product_category_name_english" if names_view else "NULL"
            joins = f"LEFT JOIN {products_view} AS pr ON pr.product_id = i.product_id "
            if names_view:
                joins += f"LEFT JOIN {names_view} AS n ON n.product_category_name = pr.product_category_name "
            category = f"arg_max(COALESCE({english}, pr.product_category_name), TRY_CAST(i.price AS DOUBLE))"
        items = (
            f"(SELECT i.order_id, count(*) AS n_items, sum(TRY_CAST(i.price AS DOUBLE) + COALESCE(TRY_CAST(i.freight_value AS DOUBLE), 0)) AS item_total, "
            f"{category} AS category FROM {items_view} AS i {joins}GROUP BY i.order_id)"
        )
    purchase = _ts("o.order_purchase_timestamp", p)
    delivered = _ts("o.order_delivered_customer_date", p)
    status = "CASE lower(trim(o.order_status)) " + " ".join(
        f"WHEN {p.add(k)} THEN {p.add(v)}" for k, v in STATUS.items()) + " ELSE o.order_status END"
    amount = ", ".join(x for x in ("pay.paid" if pay else "", "it.item_total" if items_view else "") if x)
    con.execute(
        "CREATE TEMP TABLE olist_orders_checked AS SELECT o._file, o._row, o._json, "
        "NULLIF(trim(o.order_id), '') AS order_id, c.customer_unique_id AS user_id, c.customer_state AS region, "
        f"{purchase} AS ts, NULLIF(trim(o.order_purchase_timestamp), '') AS ts_given, {status} AS status, "
        f"COALESCE({amount}) AS amount, {'it.n_items' if items_view else 'NULL'} AS n_items, "
        f"{'it.category' if items_view else 'NULL'} AS category, {delivered} AS delivered, "
        "CAST(NULL AS VARCHAR) AS _reason, CAST(NULL AS VARCHAR) AS _field "
        f"FROM {orders_view} AS o "
        f"LEFT JOIN (SELECT DISTINCT ON (customer_id) customer_id, customer_unique_id, customer_state FROM {customers_view} "
        "ORDER BY customer_id, _part, _row) AS c ON c.customer_id = o.customer_id "
        + (f"LEFT JOIN {pay} AS pay ON pay.order_id = o.order_id " if pay else "")
        + (f"LEFT JOIN {items} AS it ON it.order_id = o.order_id " if items_view else ""),
        p,
    )
    checks = [
        ("order_id IS NULL", "missing order_id", "order_id"),
        ("user_id IS NULL", "customer_id not in olist_customers_dataset", "customer_id"),
        ("ts_given IS NULL", "missing order_purchase_timestamp", "order_purchase_timestamp"),
        ("ts IS NULL", "unparseable order_purchase_timestamp", "order_purchase_timestamp"),
        ("ts < TIMESTAMP '1990-01-01' OR ts > now()::TIMESTAMP + INTERVAL 1 DAY", "order_purchase_timestamp out of range", "order_purchase_timestamp"),
        ("amount IS NULL", "no payment or item rows for the order (amount unknown)", "order_id"),
    ]
    q = Params()
    reason = "CASE " + " ".join(f"WHEN {c} THEN {q.add(r)}" for c, r, _ in checks) + " END"
    field_ = "CASE " + " ".join(f"WHEN {c} THEN {q.add(f)}" for c, _, f in checks) + " END"
    con.execute(f"UPDATE olist_orders_checked SET _reason = {reason}, _field = {field_}", q)
    target = create_prepared(con, "orders")
    con.execute(
        f"INSERT INTO {target} (user_id, order_id, ts, amount, status, quantity, category, delivery_days, "
        "_file, _row, _n_input, _outcome, _reason, _field, _raw) "
        "SELECT user_id, order_id, ts, CAST(round(amount, 2) AS VARCHAR), status, CAST(n_items AS VARCHAR), category, "
        "CAST(round((epoch(delivered) - epoch(ts)) / 86400.0, 3) AS VARCHAR), _file, _row, 1, "
        "CASE WHEN _reason IS NULL THEN 'ok' ELSE 'rejected' END, _reason, _field, "
        "CASE WHEN _reason IS NOT NULL THEN left(_json, 2000) END FROM olist_orders_checked"
    )
    insert_malformed(con, "orders", orders.files)

    users = report.kinds.setdefault("users", KindReport(
        "users", derived_from="olist_customers_dataset + orders (customer_unique_id; first purchase = sign-up)"))
    target = create_prepared(con, "users")
    con.execute(
        f"INSERT INTO {target} (user_id, signup_ts, region, _file, _row, _n_input, _outcome) "
        "SELECT user_id, min(ts), arg_min(region, ts), arg_min(_file, ts), arg_min(_row, ts), 1, 'ok' "
        "FROM olist_orders_checked WHERE _reason IS NULL GROUP BY user_id"
    )
    users.rows_read = con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]
    users.files = [str(t.path) for t in customer_tables]

    reviews_view, review_tables = _load(con, input_dir, "olist_order_reviews_dataset", "reviews", False)
    if reviews_view:
        reviews = report.kinds.setdefault("reviews", KindReport("reviews"))
        reviews.files = [str(t.path) for t in review_tables]
        reviews.rows_read = sum(t.rows_read for t in review_tables)
        r = Params()
        created = _ts("v.review_creation_date", r)
        checks = [
            ("o.order_id IS NULL", "order_id not in olist_orders_dataset", "order_id"),
            ("o._reason IS NOT NULL", "the review's order was set aside", "order_id"),
            (f"{blank_to_null('v.review_creation_date')} IS NULL", "missing review_creation_date", "review_creation_date"),
            (f"{created} IS NULL", "unparseable review_creation_date", "review_creation_date"),
        ]
        reason = "CASE " + " ".join(f"WHEN {c} THEN {r.add(x)}" for c, x, _ in checks) + " END"
        field_ = "CASE " + " ".join(f"WHEN {c} THEN {r.add(f)}" for c, _, f in checks) + " END"
        target = create_prepared(con, "reviews")
        con.execute(
            f"INSERT INTO {target} (user_id, ts, rating, text, order_id, kind, _file, _row, _n_input, _outcome, _reason, _field, _raw) "
            f"SELECT user_id, ts, rating, text, order_id, 'review', _file, _row, 1, "
            "CASE WHEN _reason IS NULL THEN 'ok' ELSE 'rejected' END, _reason, _field, "
            "CASE WHEN _reason IS NOT NULL THEN left(_json, 2000) END FROM ("
            f"SELECT o.user_id, {created} AS ts, v.review_score AS rating, "
            "NULLIF(concat_ws('. ', NULLIF(trim(v.review_comment_title), ''), NULLIF(trim(v.review_comment_message), '')), '') AS text, "
            f"v.order_id, v._file, v._row, v._json, {reason} AS _reason, {field_} AS _field "
            f"FROM {reviews_view} AS v LEFT JOIN (SELECT DISTINCT ON (order_id) order_id, user_id, _reason FROM olist_orders_checked "
            "ORDER BY order_id, _reason NULLS FIRST) AS o ON o.order_id = v.order_id)",
            r,
        )
        insert_malformed(con, "reviews", reviews.files)
    con.execute("DROP TABLE olist_orders_checked")
