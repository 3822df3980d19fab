"""The table every adapter fills for each kind before the landing files are written.

prepared_<kind>: the contract columns (the day column as a UTC TIMESTAMP, the others as text, checked
later by the ingestion), plus
    _file, _row    where the (first) input row came from
    _n_input       input rows this row stands for (> 1 when lines were merged, e.g. invoice lines)
    _outcome       'ok', 'rejected' (with _reason, _field, _raw) or 'duplicate'
"""

from __future__ import annotations

import duckdb

from churn_assets.warehouse.contract import SOURCES

DAY_COLUMN = {"users": "signup_ts"}  # the column that decides a row's landing day (default ts)
TIMESTAMP_COLUMNS = {
    kind: tuple(c.name for c in spec.columns if c.kind == "timestamp") for kind, spec in SOURCES.items()
}
META = ("_file", "_row", "_n_input", "_outcome", "_reason", "_field", "_raw")


def day_column(kind: str) -> str:
    return DAY_COLUMN.get(kind, "ts")


def prepared_table(kind: str) -> str:
    return f"prepared_{kind}"


def create_prepared(con: duckdb.DuckDBPyConnection, kind: str) -> str:
    cols = ", ".join(
        f'"{c}" {"TIMESTAMP" if c in TIMESTAMP_COLUMNS[kind] else "VARCHAR"}' for c in SOURCES[kind].column_names
    )
    name = prepared_table(kind)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} ({cols}, _file VARCHAR, _row BIGINT, _n_input BIGINT, "
        "_outcome VARCHAR, _reason VARCHAR, _field VARCHAR, _raw VARCHAR)"
    )
    return name


def insert_malformed(con: duckdb.DuckDBPyConnection, kind: str, files: list[str]) -> None:
    """Records the reader could not parse (input_rejects) are rejected rows of this kind."""
    if (
        not files
        or not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'input_rejects'").fetchall()[0][0]
    ):
        return
    con.execute(
        f"INSERT INTO {prepared_table(kind)} (_file, _row, _n_input, _outcome, _reason, _raw) "
        "SELECT _file, _row, 1, 'rejected', reason, raw FROM input_rejects WHERE list_contains($files, _file)",
        {"files": files},
    )


def insert_users_from_orders(
    con: duckdb.DuckDBPyConnection, orders: str, user_id: str, region: str, accepted: str
) -> int:
    """prepared_users derived from the accepted orders (exports without sign-up dates): a user signs up with
    their first order, in that order's region, and points back at that order's input row. Returns the number
    of users.

    `orders`, `user_id`, `region` and `accepted` are the adapter's own table, columns and condition, never
    user text."""
    target = create_prepared(con, "users")
    con.execute(
        f"INSERT INTO {target} (user_id, signup_ts, region, _file, _row, _n_input, _outcome) "
        f"SELECT {user_id}, min(ts), arg_min({region}, ts), arg_min(_file, ts), arg_min(_row, ts), 1, 'ok' "
        f"FROM {orders} WHERE {accepted} GROUP BY {user_id}"
    )
    return con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]


def timestamp_checks(kind: str, column: str, typed: str, given: str, unparseable: str) -> list[tuple[str, str, str]]:
    """(condition, reason, field) that set a row aside before it can be given a landing day."""
    return [
        (f"{given} IS NULL", f"missing {column}", column),
        (f"{typed} IS NULL", unparseable, column),
        (f"{typed} < TIMESTAMP '1990-01-01'", f"{column} before 1990-01-01", column),
        (f"{typed} > now()::TIMESTAMP + INTERVAL 1 DAY", f"{column} in the future", column),
    ]


def case_of(checks: list[tuple[str, str, str]], pick: int, params) -> str:
    if not checks:
        return "NULL"
    return "CASE " + " ".join(f"WHEN {c[0]} THEN {params.add(c[pick])}" for c in checks) + " END"
