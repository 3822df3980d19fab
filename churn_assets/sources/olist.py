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
from churn_assets.sources.prepared import case_of, create_prepared, insert_malformed, insert_users_from_orders
from churn_assets.sources.read_input import InputTable, load_input, quote_ident
from churn_assets.sources.report import KindReport, PrepareReport

DESCRIPTION = (
    "Olist Brazilian e-commerce: orders, items, payments, reviews (Portuguese), customers by customer_unique_id"
)
TIMEZONE = "America/Sao_Paulo"
STATUS = {
    "delivered": "paid",
    "shipped": "paid",
    "invoiced": "paid",
    "processing": "paid",
    "approved": "paid",
    "created": "paid",
    "canceled": "cancelled",
    "unavailable": "cancelled",
}
TABLES = {  # file stem -> the columns the adapter reads
    "olist_orders_dataset": (
        "order_id",
        "customer_id",
        "order_status",
        "order_purchase_timestamp",
        "order_delivered_customer_date",
    ),
    "olist_customers_dataset": ("customer_id", "customer_unique_id", "customer_state"),
    "olist_order_payments_dataset": ("order_id", "payment_value"),
    "olist_order_items_dataset": ("order_id", "product_id", "price", "freight_value"),
    "olist_order_reviews_dataset": (
        "order_id",
        "review_score",
        "review_comment_title",
        "review_comment_message",
        "review_creation_date",
    ),
    "olist_products_dataset": ("product_id", "product_category_name"),
    "product_category_name_translation": ("product_category_name", "product_category_name_english"),
}
OPTIONAL_COLUMNS = ("customer_state", "order_delivered_customer_date", "review_comment_title", "review_comment_message")


def _load(
    con: duckdb.DuckDBPyConnection, input_dir: Path, stem: str, kind: str, required: bool
) -> tuple[str | None, list[InputTable]]:
    """The table's files as one view `olist_<short>` with the columns the adapter reads (text)."""
    files = find_files(input_dir, stem, required=required, what=stem)
    if not files:
        return None, []
    tables = [load_input(con, f) for f in files]
    selects = []
    for part, t in enumerate(tables):
        cols = require_columns(t, {c: (c,) for c in TABLES[stem]}, kind, optional=OPTIONAL_COLUMNS)
        picks = ", ".join(
            f"CAST({quote_ident(cols[c]) if cols[c] else 'NULL'} AS VARCHAR) AS {c}" for c in TABLES[stem]
        )
        # a view cannot take parameters: the path is quoted as a string literal
        path = "'" + str(t.path).replace("'", "''") + "'"
        selects.append(
            f"SELECT {part} AS _part, {path} AS _file, _row, {picks}, to_json(_in) AS _json FROM {t.table} AS _in"
        )
    view = "olist_" + stem.replace("olist_", "").replace("_dataset", "")
    con.execute(f"CREATE TEMP VIEW {view} AS {' UNION ALL '.join(selects)}")
    return view, tables


def _ts(expr: str, p: Params) -> str:
    return timestamp_expr(expr, "VARCHAR", None, TIMEZONE, p)


def _items_sql(items_view: str, products_view: str | None, names_view: str | None) -> str:
    """Per order: number of items, items + freight total, and the priciest item's category."""
    category, joins = "NULL", ""
    if products_view:
        joins = f"LEFT JOIN {products_view} AS pr ON pr.product_id = i.product_id "
        name = "pr.product_category_name"
        if names_view:
            joins += f"LEFT JOIN {names_view} AS n ON n.product_category_name = pr.product_category_name "
            name = f"COALESCE(n.product_category_name_english, {name})"
        category = f"arg_max({name}, TRY_CAST(i.price AS DOUBLE))"
    return (
        "(SELECT i.order_id, count(*) AS n_items, "
        "sum(TRY_CAST(i.price AS DOUBLE) + COALESCE(TRY_CAST(i.freight_value AS DOUBLE), 0)) AS item_total, "
        f"{category} AS category FROM {items_view} AS i {joins}GROUP BY i.order_id)"
    )


def _orders(con: duckdb.DuckDBPyConnection, input_dir: Path, report: PrepareReport, customers_view: str) -> None:
    """olist_orders_checked: every order row with its user, amount, items and reason (NULL = usable)."""
    orders = report.kinds.setdefault("orders", KindReport("orders"))
    orders_view, order_tables = _load(con, input_dir, "olist_orders_dataset", "orders", True)
    payments_view, payment_tables = _load(con, input_dir, "olist_order_payments_dataset", "orders", False)
    items_view, item_tables = _load(con, input_dir, "olist_order_items_dataset", "orders", False)
    products_view, product_tables = _load(con, input_dir, "olist_products_dataset", "orders", False)
    names_view, name_tables = _load(con, input_dir, "product_category_name_translation", "orders", False)
    if not payments_view and not items_view:
        raise SourceError(
            "no olist_order_payments_dataset or olist_order_items_dataset file: order amounts are unknown",
            path=input_dir,
            kind="orders",
        )
    orders.files = [str(t.path) for t in order_tables]
    orders.rows_read = sum(t.rows_read for t in order_tables)
    for extra in (payment_tables, item_tables, product_tables, name_tables):
        if extra:
            orders.notes.append(
                f"joined {', '.join(Path(t.path).name for t in extra)} ({sum(t.rows for t in extra)} rows)"
            )
    p = Params()
    status = (
        "CASE lower(trim(o.order_status)) "
        + " ".join(f"WHEN {p.add(k)} THEN {p.add(v)}" for k, v in STATUS.items())
        + " ELSE o.order_status END"
    )
    amounts, joins = [], ""
    if payments_view:
        amounts.append("pay.paid")
        joins += (
            f"LEFT JOIN (SELECT order_id, sum(TRY_CAST(payment_value AS DOUBLE)) AS paid FROM {payments_view} "
            "GROUP BY order_id) AS pay ON pay.order_id = o.order_id "
        )
    if items_view:
        amounts.append("it.item_total")
        joins += f"LEFT JOIN {_items_sql(items_view, products_view, names_view)} AS it ON it.order_id = o.order_id "
    con.execute(
        "CREATE TEMP TABLE olist_orders_checked AS SELECT o._file, o._row, o._json, "
        "NULLIF(trim(o.order_id), '') AS order_id, c.customer_unique_id AS user_id, c.customer_state AS region, "
        f"{_ts('o.order_purchase_timestamp', p)} AS ts, NULLIF(trim(o.order_purchase_timestamp), '') AS ts_given, "
        f"{status} AS status, COALESCE({', '.join(amounts)}) AS amount, "
        f"{'it.n_items' if items_view else 'NULL'} AS n_items, {'it.category' if items_view else 'NULL'} AS category, "
        f"{_ts('o.order_delivered_customer_date', p)} AS delivered, "
        "CAST(NULL AS VARCHAR) AS _reason, CAST(NULL AS VARCHAR) AS _field "
        f"FROM {orders_view} AS o "
        "LEFT JOIN (SELECT DISTINCT ON (customer_id) customer_id, customer_unique_id, customer_state "
        f"FROM {customers_view} ORDER BY customer_id, _part, _row) AS c ON c.customer_id = o.customer_id {joins}",
        p,
    )
    _insert_orders(con, orders.files)


def _insert_orders(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    """Give the unusable rows of olist_orders_checked their reason and field; copy every row (and the
    malformed lines of `files`) into the prepared orders table."""
    checks = [
        ("order_id IS NULL", "missing order_id", "order_id"),
        ("user_id IS NULL", "customer_id not in olist_customers_dataset", "customer_id"),
        ("ts_given IS NULL", "missing order_purchase_timestamp", "order_purchase_timestamp"),
        ("ts IS NULL", "unparseable order_purchase_timestamp", "order_purchase_timestamp"),
        (
            "ts < TIMESTAMP '1990-01-01' OR ts > now()::TIMESTAMP + INTERVAL 1 DAY",
            "order_purchase_timestamp out of range",
            "order_purchase_timestamp",
        ),
        ("amount IS NULL", "no payment or item rows for the order (amount unknown)", "order_id"),
    ]
    q = Params()
    con.execute(
        f"UPDATE olist_orders_checked SET _reason = {case_of(checks, 1, q)}, _field = {case_of(checks, 2, q)}", q
    )
    target = create_prepared(con, "orders")
    con.execute(
        f"INSERT INTO {target} (user_id, order_id, ts, amount, status, quantity, category, delivery_days, "
        "_file, _row, _n_input, _outcome, _reason, _field, _raw) "
        "SELECT user_id, order_id, ts, CAST(round(amount, 2) AS VARCHAR), status, CAST(n_items AS VARCHAR), category, "
        "CAST(round((epoch(delivered) - epoch(ts)) / 86400.0, 3) AS VARCHAR), _file, _row, 1, "
        "CASE WHEN _reason IS NULL THEN 'ok' ELSE 'rejected' END, _reason, _field, "
        "CASE WHEN _reason IS NOT NULL THEN left(_json, 2000) END FROM olist_orders_checked"
    )
    insert_malformed(con, "orders", files)


def _users(con: duckdb.DuckDBPyConnection, report: PrepareReport, customer_tables: list[InputTable]) -> None:
    users = report.kinds.setdefault(
        "users",
        KindReport(
            "users", derived_from="olist_customers_dataset + orders (customer_unique_id; first purchase = sign-up)"
        ),
    )
    users.files = [str(t.path) for t in customer_tables]
    users.rows_read = insert_users_from_orders(con, "olist_orders_checked", "user_id", "region", "_reason IS NULL")


def _reviews(con: duckdb.DuckDBPyConnection, input_dir: Path, report: PrepareReport) -> None:
    reviews_view, review_tables = _load(con, input_dir, "olist_order_reviews_dataset", "reviews", False)
    if not reviews_view:
        return
    reviews = report.kinds.setdefault("reviews", KindReport("reviews"))
    reviews.files = [str(t.path) for t in review_tables]
    reviews.rows_read = sum(t.rows_read for t in review_tables)
    p = Params()
    created = _ts("v.review_creation_date", p)
    checks = [
        ("o.order_id IS NULL", "order_id not in olist_orders_dataset", "order_id"),
        ("o._reason IS NOT NULL", "the review's order was set aside", "order_id"),
        (f"{blank_to_null('v.review_creation_date')} IS NULL", "missing review_creation_date", "review_creation_date"),
        (f"{created} IS NULL", "unparseable review_creation_date", "review_creation_date"),
    ]
    text = (
        "NULLIF(concat_ws('. ', NULLIF(trim(v.review_comment_title), ''), "
        "NULLIF(trim(v.review_comment_message), '')), '')"
    )
    target = create_prepared(con, "reviews")
    con.execute(
        f"INSERT INTO {target} (user_id, ts, rating, text, order_id, kind, _file, _row, _n_input, _outcome, _reason, "
        "_field, _raw) SELECT user_id, ts, rating, text, order_id, 'review', _file, _row, 1, "
        "CASE WHEN _reason IS NULL THEN 'ok' ELSE 'rejected' END, _reason, _field, "
        "CASE WHEN _reason IS NOT NULL THEN left(_json, 2000) END FROM ("
        f"SELECT o.user_id, {created} AS ts, v.review_score AS rating, {text} AS text, v.order_id, v._file, v._row, "
        f"v._json, {case_of(checks, 1, p)} AS _reason, {case_of(checks, 2, p)} AS _field FROM {reviews_view} AS v "
        "LEFT JOIN (SELECT DISTINCT ON (order_id) order_id, user_id, _reason FROM olist_orders_checked "
        "ORDER BY order_id, _reason NULLS FIRST) AS o ON o.order_id = v.order_id)",
        p,
    )
    insert_malformed(con, "reviews", reviews.files)


def prepare(con: duckdb.DuckDBPyConnection, input_dir: Path, report: PrepareReport, mapping: Path | None) -> None:
    customers_view, customer_tables = _load(con, input_dir, "olist_customers_dataset", "users", True)
    _orders(con, input_dir, report, customers_view)
    _users(con, report, customer_tables)
    _reviews(con, input_dir, report)
    con.execute("DROP TABLE olist_orders_checked")
