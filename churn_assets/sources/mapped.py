"""Preparing landing files from an export described by a mapping file (``sources/mapping.py`` reads and checks
the file): each mapped input is read, its columns converted in DuckDB, rows that cannot be used set aside
with their reason."""

from __future__ import annotations

import duckdb

from churn_assets.sources.convert import (
    Params,
    blank_to_null,
    number_sql,
    text_sql,
    timestamp_sql,
    value_map_sql,
)
from churn_assets.sources.errors import SourceError
from churn_assets.sources.mapping import CURRENCY_COLUMNS, KindMapping
from churn_assets.sources.prepared import (
    TIMESTAMP_COLUMNS,
    case_of,
    create_prepared,
    insert_malformed,
    prepared_table,
    timestamp_checks,
)
from churn_assets.sources.read_input import InputTable, load_input, quote_ident
from churn_assets.sources.report import KindReport
from churn_assets.warehouse.contract import SOURCES


def _file_column(m: KindMapping, table: InputTable, contract_col: str) -> str | None:
    """The input column holding `contract_col`; raises when a mapped column is not in the file."""
    if m.identity:
        return table.column(contract_col)
    if contract_col not in m.columns:
        return table.column(contract_col)  # a column already named as in the contract needs no mapping
    user_col = m.columns[contract_col]
    found = table.column(user_col)
    if found is None:
        raise SourceError(
            f"maps {m.kind}.{contract_col} to column {user_col!r}, which is not in {table.path} "
            f"(columns: {', '.join(table.columns)})",
            path=f"mapping file {m.origin}",
            kind=m.kind,
            column=user_col,
        )
    return found


def _unparseable_reason(m: KindMapping, col: str) -> str:
    if m.timestamp_format:
        return f"unparseable timestamp in {col} (expected format {m.timestamp_format})"
    return f"unparseable timestamp in {col} (expected ISO 8601 or epoch seconds)"


def prepare_mapped(con: duckdb.DuckDBPyConnection, m: KindMapping, report: KindReport) -> str:
    """Read every file of one kind and fill prepared_<kind> (one output row per input row)."""
    spec = SOURCES[m.kind]
    target = create_prepared(con, m.kind)
    for path in m.files:
        table = load_input(con, path, m.format, m.delimiter)
        report.files.append(str(path))
        report.rows_read += table.rows_read
        params = Params()
        exprs: dict[str, str] = {}
        checks: list[tuple[str, str, str]] = []
        for col in spec.columns:
            src = _file_column(m, table, col.name)
            default = m.defaults.get(col.name)
            if src is None and default is None:
                if col.required:
                    named = f" (mapped to {m.columns[col.name]!r})" if col.name in m.columns else ""
                    raise SourceError(
                        f"missing required column {col.name!r}{named} for {m.kind}; found columns: {', '.join(table.columns)}",
                        path=path,
                        kind=m.kind,
                        column=col.name,
                    )
                exprs[col.name] = "CAST(NULL AS VARCHAR)"
                continue
            if src is None:
                cast = "TIMESTAMP" if col.name in TIMESTAMP_COLUMNS[m.kind] else "VARCHAR"
                exprs[col.name] = f"TRY_CAST({params.add(default)} AS {cast})"
                continue
            dtype = table.columns[src]
            if col.name in TIMESTAMP_COLUMNS[m.kind]:
                typed = timestamp_sql(src, dtype, m.timestamp_format, m.timezone, params)
                given = blank_to_null(f"CAST({quote_ident(src)} AS VARCHAR)")
                exprs[col.name] = typed
                if col.required:
                    checks += timestamp_checks(m.kind, col.name, typed, given, _unparseable_reason(m, col.name))
                continue
            value = text_sql(src, dtype)
            if col.name in CURRENCY_COLUMNS:
                value = number_sql(value, m.amount_scale, m.decimal_comma, params)
            value = value_map_sql(value, m.values.get(col.name, {}), params)
            if default is not None:
                value = f"COALESCE({blank_to_null(value)}, {params.add(default)})"
            exprs[col.name] = value
        reason, field_ = case_of(checks, 1, params), case_of(checks, 2, params)
        select = ", ".join(f"{e} AS {quote_ident(c)}" for c, e in exprs.items())
        names = ", ".join(quote_ident(c) for c in exprs)
        con.execute(
            f"INSERT INTO {target} SELECT {names}, _file, _row, 1, "
            "CASE WHEN _reason IS NULL THEN 'ok' ELSE 'rejected' END, _reason, _field, "
            f"CASE WHEN _reason IS NOT NULL THEN left(to_json(_in), 2000) END FROM ("
            f"SELECT {select}, {params.add(str(path))} AS _file, _in._row, {reason} AS _reason, {field_} AS _field, _in "
            f"FROM {table.table} AS _in) ORDER BY _row",
            params,
        )
        _refuse_all_unparseable(con, m, table)
        con.execute(f"DROP TABLE {table.table}")
    insert_malformed(con, m.kind, report.files)
    return prepared_table(m.kind)


def _refuse_all_unparseable(con: duckdb.DuckDBPyConnection, m: KindMapping, table: InputTable) -> None:
    """A file in which no timestamp parses has a format problem, not bad rows: say so."""
    ts = "signup_ts" if m.kind == "users" else "ts"
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE _outcome = 'ok'), min(_row) FILTER (WHERE _reason LIKE 'unparseable%') "
        f"FROM {prepared_table(m.kind)} WHERE _file = $f",
        {"f": str(table.path)},
    ).fetchall()[0]
    if table.rows and row[0] == 0 and row[1] is not None:
        col = _file_column(m, table, ts)
        value = con.execute(f"SELECT {quote_ident(col)} FROM {table.table} WHERE _row = $r", {"r": row[1]}).fetchall()[
            0
        ][0]
        hint = "set timestamp_format (and timezone) in a mapping file" if m.identity else "check timestamp_format"
        raise SourceError(
            f"no value of the timestamp column parses (e.g. {value!r}); {_unparseable_reason(m, ts)}; {hint}",
            path=table.path,
            kind=m.kind,
            column=col,
            row=row[1],
        )
