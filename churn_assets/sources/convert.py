"""SQL expressions that turn a user's column into a contract value (DuckDB, session time zone UTC).

Everything a user supplies (formats, time zones, value maps, defaults) is bound as a parameter through
`Params`; only column names are spliced in, quoted as identifiers.
"""

from __future__ import annotations

import duckdb

from churn_assets.sources.errors import SourceError
from churn_assets.sources.read_input import quote_ident

EPOCH_SECONDS = r"^\s*-?\d{9,11}(\.\d+)?\s*$"
EPOCH_MILLIS = r"^\s*-?\d{12,14}\s*$"
WITH_OFFSET = r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|UTC|[+-]\d{2}(:?\d{2})?)$"
EPOCH_FORMATS = {"epoch_s": 1.0, "epoch_ms": 1e3, "epoch_us": 1e6}
NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
)
EARLIEST = "1990-01-01"  # same floor as the ingest validation: older stamps are placeholders


class Params(dict):
    """Named parameters for one statement: add(value) returns its placeholder."""

    def add(self, value) -> str:
        name = f"p{len(self)}"
        self[name] = value
        return "$" + name


def is_numeric(dtype: str) -> bool:
    return dtype.upper().startswith(NUMERIC_TYPES) or dtype.upper().startswith("DECIMAL")


def _local_to_utc(expr: str, tz: str | None, params: Params) -> str:
    """A naive timestamp read in zone `tz` (None or UTC: already UTC) as a naive UTC timestamp."""
    if not tz or tz.upper() == "UTC":
        return expr
    return f"CAST(timezone({params.add(tz)}, {expr}) AS TIMESTAMP)"


def _epoch(expr: str, scale: float) -> str:
    """Seconds since 1970 (times `scale`); NULL (unparseable) beyond about 3,000 years either side."""
    seconds = f"(CAST({expr} AS DOUBLE) / {scale!r})"
    return f"CASE WHEN abs({seconds}) < 1e11 THEN CAST(to_timestamp({seconds}) AS TIMESTAMP) END"


def timestamp_sql(col: str, dtype: str, fmt: str | list[str] | None, tz: str | None, params: Params) -> str:
    """timestamp_expr of a column, by name."""
    return timestamp_expr(quote_ident(col), dtype, fmt, tz, params)


def timestamp_expr(c: str, dtype: str, fmt: str | list[str] | None, tz: str | None, params: Params) -> str:
    """Expression giving a naive UTC TIMESTAMP from SQL expression `c`, or NULL when it cannot be parsed.

    Without a format: ISO 8601 (an offset wins over `tz`), epoch seconds (9-11 digits) or milliseconds
    (12-14 digits). A naive value is in `tz` (default UTC). Native Parquet timestamps and dates too."""
    t = dtype.upper()
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return f"CAST({c} AS TIMESTAMP)"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return _local_to_utc(f"CAST({c} AS TIMESTAMP)", tz, params)
    if is_numeric(t):
        return _epoch(c, EPOCH_FORMATS.get(fmt, 1.0) if isinstance(fmt, str) else 1.0)
    text = f"CAST({c} AS VARCHAR)"
    if isinstance(fmt, str) and fmt in EPOCH_FORMATS:
        return f"CASE WHEN TRY_CAST({text} AS DOUBLE) IS NOT NULL THEN {_epoch(text, EPOCH_FORMATS[fmt])} END"
    if fmt:
        formats = [fmt] if isinstance(fmt, str) else list(fmt)
        parsed = f"try_strptime(trim({text}), {params.add(formats if len(formats) > 1 else formats[0])})"
        if any("%z" in f or "%Z" in f for f in formats):
            return f"CAST({parsed} AS TIMESTAMP)"  # the value carries its zone
        return _local_to_utc(parsed, tz, params)
    return (
        f"CASE WHEN regexp_matches({text}, '{EPOCH_SECONDS}') THEN {_epoch(text, 1.0)} "
        f"WHEN regexp_matches({text}, '{EPOCH_MILLIS}') THEN {_epoch(text, 1e3)} "
        f"WHEN regexp_matches(trim({text}), '{WITH_OFFSET}') THEN CAST(TRY_CAST(trim({text}) AS TIMESTAMPTZ) AS TIMESTAMP) "
        f"ELSE {_local_to_utc(f'TRY_CAST(trim({text}) AS TIMESTAMP)', tz, params)} END"
    )


def text_sql(col: str, dtype: str) -> str:
    """A column as text; whole numbers stored as floating point lose their '.0' (ids read from Parquet)."""
    c = quote_ident(col)
    if dtype.upper() in ("DOUBLE", "FLOAT", "REAL"):
        return f"CASE WHEN {c} = round({c}) AND abs({c}) < 1e15 THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
    return f"CAST({c} AS VARCHAR)"


def blank_to_null(expr: str) -> str:
    return f"NULLIF(trim({expr}), '')"


def number_sql(expr: str, scale: float, decimal_comma: bool, params: Params) -> str:
    """A currency amount times `scale`, as text; a value that is not a number is passed on unchanged so
    that the ingestion quarantines it with its own reason ("amount is not a number")."""
    value = expr
    if decimal_comma:  # 1.234,50 -> 1234.50
        value = f"replace(replace({expr}, '.', ''), ',', '.')"
    if scale == 1.0 and not decimal_comma:
        return expr
    number = f"TRY_CAST(trim({value}) AS DOUBLE)"
    # rounded so that 2599 cents * 0.01 reads 25.99, not 25.990000000000002
    return f"CASE WHEN {number} IS NULL THEN {expr} ELSE CAST(round({number} * {params.add(float(scale))}, 9) AS VARCHAR) END"


def value_map_sql(expr: str, mapping: dict[str, str], params: Params) -> str:
    """Recode values (compared trimmed and lower-cased); values not in the map are kept as they are."""
    if not mapping:
        return expr
    whens = " ".join(f"WHEN {params.add(str(k).strip().lower())} THEN {params.add(str(v))}" for k, v in mapping.items())
    return f"CASE lower(trim({expr})) {whens} ELSE {expr} END"


def check_timezone(con: duckdb.DuckDBPyConnection, tz: str, where: str) -> None:
    try:
        con.execute("SELECT timezone($tz, TIMESTAMP '2020-01-01')", {"tz": tz}).fetchall()
    except duckdb.Error:
        raise SourceError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin)", path=where) from None


def check_timestamp_format(con: duckdb.DuckDBPyConnection, fmt: str | list[str], where: str) -> None:
    formats = [fmt] if isinstance(fmt, str) else fmt
    for f in formats:
        if f in EPOCH_FORMATS:
            continue
        try:
            con.execute("SELECT try_strptime('2020-01-01', $f)", {"f": f}).fetchall()
        except duckdb.Error as exc:
            raise SourceError(f"invalid timestamp_format {f!r} ({str(exc).splitlines()[0]})", path=where) from None
