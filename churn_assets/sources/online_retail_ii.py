"""UCI Online Retail II (a UK online gift retailer, 2009-2011): invoice lines -> orders, customers -> users.

Published columns: Invoice, StockCode, Description, Quantity, InvoiceDate, Price, Customer ID, Country
(the older "Online Retail" names InvoiceNo, UnitPrice, CustomerID are accepted too). The workbook has
one sheet per year: save each as CSV (or Parquet) into the input directory, named online_retail*
(or any name: then every top-level file with an Invoice column is read); an invoice found in more
than one file is read from the first only, the others' lines are counted as duplicates.

- orders: one per invoice; amount = sum(Quantity * Price), quantity = sum(Quantity), ts = InvoiceDate
  (UK local time -> UTC). Invoices starting with 'C' are cancellations / returns: status 'returned',
  amount and quantity as positive numbers.
- lines without a Customer ID are set aside with the reason "missing customer id" (about a quarter of
  the data set: guest checkouts and stock adjustments).
- users: one per Customer ID; the data set has no sign-up date, so signup_ts is the first invoice,
  and region the invoice country.
- events and reviews: absent.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from churn_assets.sources.convert import Params, blank_to_null, text_sql, timestamp_sql
from churn_assets.sources.dataset_files import find_files, header_columns, load_all, require_columns
from churn_assets.sources.prepared import case_of, create_prepared, insert_malformed, insert_users_from_orders
from churn_assets.sources.read_input import InputTable, quote_ident
from churn_assets.sources.report import KindReport, PrepareReport

DESCRIPTION = "UCI Online Retail II: invoice lines -> orders ('C' invoices = returns), customers -> users"
TIMEZONE = "Europe/London"
US_FORMATS = ["%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M"]  # Excel re-exports of InvoiceDate
COLUMNS = {
    "invoice": ("Invoice", "InvoiceNo"),
    "quantity": ("Quantity",),
    "ts": ("InvoiceDate",),
    "price": ("Price", "UnitPrice"),
    "customer": ("Customer ID", "CustomerID", "Customer_ID"),
    "country": ("Country",),
}


def _input_files(con: duckdb.DuckDBPyConnection, input_dir: Path) -> list[Path]:
    """online_retail*.csv|parquet, else the top-level data files with an Invoice column (a saved sheet)."""
    files = find_files(input_dir, "online_retail", required=False)
    if files:
        return files
    invoice = {a.lower() for a in COLUMNS["invoice"]}
    files = [
        p
        for p in find_files(input_dir, "", required=False)
        if invoice & {c.strip().lower() for c in header_columns(con, p)}
    ]
    return files or find_files(input_dir, "online_retail", what="Online Retail II (a CSV or Parquet of invoice lines)")


def prepare(con: duckdb.DuckDBPyConnection, input_dir: Path, report: PrepareReport, mapping: Path | None) -> None:
    orders = report.kinds.setdefault("orders", KindReport("orders"))
    con.execute(
        "CREATE TEMP TABLE retail_lines (_file VARCHAR, _file_no INTEGER, _row BIGINT, invoice VARCHAR, customer VARCHAR, "
        "country VARCHAR, ts TIMESTAMP, quantity DOUBLE, price DOUBLE, _reason VARCHAR, _field VARCHAR, _raw VARCHAR)"
    )
    for file_no, table in enumerate(load_all(con, _input_files(con, input_dir))):
        orders.files.append(str(table.path))
        orders.rows_read += table.rows_read
        _insert_lines(con, table, file_no)
        con.execute(f"DROP TABLE {table.table}")
    _check_invoices(con)
    _insert_orders(con)
    insert_malformed(con, "orders", orders.files)
    users = report.kinds.setdefault(
        "users", KindReport("users", derived_from="orders (first invoice = sign-up, country = region)")
    )
    users.rows_read = insert_users_from_orders(con, "retail_checked", "customer", "country", "_outcome = 'ok'")
    con.execute("DROP TABLE retail_lines")
    con.execute("DROP TABLE retail_checked")


def _insert_lines(con: duckdb.DuckDBPyConnection, table: InputTable, file_no: int) -> None:
    """Append the invoice lines of one input file to retail_lines, each with its reason (NULL = usable)."""
    cols = require_columns(table, COLUMNS, "orders", optional=("country",))
    p = Params()
    ts_type = table.columns[cols["ts"]]
    ts = timestamp_sql(cols["ts"], ts_type, None, TIMEZONE, p)
    if ts_type.upper() == "VARCHAR":
        ts = f"COALESCE({ts}, {timestamp_sql(cols['ts'], ts_type, US_FORMATS, TIMEZONE, p)})"
    invoice = blank_to_null(text_sql(cols["invoice"], table.columns[cols["invoice"]]))
    customer = f"NULLIF(regexp_replace({blank_to_null(text_sql(cols['customer'], table.columns[cols['customer']]))}, '\\.0+$', ''), '')"
    country = text_sql(cols["country"], table.columns[cols["country"]]) if cols["country"] else "NULL"
    qty, price = (f"TRY_CAST({quote_ident(cols[k])} AS DOUBLE)" for k in ("quantity", "price"))
    given = {k: blank_to_null(f"CAST({quote_ident(cols[k])} AS VARCHAR)") for k in ("ts", "quantity", "price")}
    checks = [
        ("invoice IS NULL", "missing invoice", cols["invoice"]),
        ("customer IS NULL", "missing customer id", cols["customer"]),
        ("ts IS NULL AND ts_given IS NULL", "missing InvoiceDate", cols["ts"]),
        ("ts IS NULL", "unparseable InvoiceDate", cols["ts"]),
        (
            "ts < TIMESTAMP '1990-01-01' OR ts > now()::TIMESTAMP + INTERVAL 1 DAY",
            "InvoiceDate out of range",
            cols["ts"],
        ),
        ("quantity IS NULL", "Quantity is not a number", cols["quantity"]),
        ("price IS NULL", "Price is not a number", cols["price"]),
    ]
    reason, field_ = case_of(checks, 1, p), case_of(checks, 2, p)
    con.execute(
        f"INSERT INTO retail_lines SELECT _file, {file_no}, _row, invoice, customer, country, ts, quantity, price, "
        f"{reason}, {field_}, left(to_json(_in), 2000) FROM ("
        f"SELECT {p.add(str(table.path))} AS _file, _in._row, {invoice} AS invoice, {customer} AS customer, "
        f"{country} AS country, {ts} AS ts, {given['ts']} AS ts_given, {qty} AS quantity, {price} AS price, _in "
        f"FROM {table.table} AS _in)",
        p,
    )


def _check_invoices(con: duckdb.DuckDBPyConnection) -> None:
    """retail_checked: retail_lines with an _outcome (ok / duplicate / rejected) and the reason of each line set aside."""
    # an invoice is read from the first file that holds it; one customer per invoice
    con.execute(
        "CREATE TEMP TABLE retail_checked AS SELECT *, "
        "CASE WHEN _reason IS NOT NULL THEN 'rejected' "
        "WHEN _file_no > min(CASE WHEN _reason IS NULL THEN _file_no END) OVER (PARTITION BY invoice) THEN 'duplicate' "
        "WHEN min(customer) OVER (PARTITION BY invoice, _file_no) <> max(customer) OVER (PARTITION BY invoice, _file_no) "
        "THEN 'rejected' ELSE 'ok' END AS _outcome FROM retail_lines"
    )
    con.execute(
        "UPDATE retail_checked SET _reason = CASE WHEN _outcome = 'duplicate' THEN 'invoice already read from an earlier file' "
        "ELSE 'invoice has more than one customer id' END, _field = 'invoice' WHERE _outcome <> 'ok' AND _reason IS NULL"
    )


def _insert_orders(con: duckdb.DuckDBPyConnection) -> None:
    """Into the prepared orders table: one order per usable invoice, and every line set aside."""
    target = create_prepared(con, "orders")
    con.execute(
        f"INSERT INTO {target} (user_id, order_id, ts, amount, status, quantity, _file, _row, _n_input, _outcome) "
        "SELECT min(customer), invoice, min(ts), "
        "CAST(round(CASE WHEN upper(invoice) LIKE 'C%' THEN abs(sum(quantity * price)) ELSE sum(quantity * price) END, 2) AS VARCHAR), "
        "CASE WHEN upper(invoice) LIKE 'C%' THEN 'returned' ELSE 'paid' END, "
        "CAST(CAST(CASE WHEN upper(invoice) LIKE 'C%' THEN abs(sum(quantity)) ELSE sum(quantity) END AS BIGINT) AS VARCHAR), "
        "min(_file), min(_row), count(*), 'ok' FROM retail_checked WHERE _outcome = 'ok' GROUP BY invoice"
    )
    con.execute(
        f"INSERT INTO {target} (_file, _row, _n_input, _outcome, _reason, _field, _raw) "
        "SELECT _file, _row, 1, _outcome, _reason, _field, _raw FROM retail_checked WHERE _outcome <> 'ok'"
    )
