"""Validate landed rows against the contract inside DuckDB: typed columns, the first failing field's
reason, and the duplicate rank on the natural key, in one set-based query (no per-row Python).

The SQL text is generated from the contract (column names, ranges, allowed values are ours, not the
file's); everything that comes from the data or the caller is bound as a parameter.
"""

from __future__ import annotations

from churn_assets.ingest.privacy import mask_pii_sql
from churn_assets.warehouse.contract import Column, SourceSpec

SQL_TYPES = {"str": "VARCHAR", "category": "VARCHAR", "timestamp": "TIMESTAMP", "float": "DOUBLE", "int": "BIGINT"}
EPOCH_PATTERN = r"^\d{9,11}(\.\d+)?$"
EPOCH_MS_PATTERN = r"^\d{12,14}$"  # epoch milliseconds (event logs); 12-14 digits are no plausible seconds
ISO_DATE_PREFIX = r"^\d{4}-\d{2}-\d{2}"
EARLIEST = "1990-01-01"  # older stamps are placeholders (epoch zero and the like), not shop activity


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _t(name: str) -> str:
    return _quote(f"__t_{name}")


def _typed(col: Column) -> str:
    c = _quote(col.name)
    if col.kind == "timestamp":
        return (
            f"CASE WHEN regexp_matches({c}, '{EPOCH_PATTERN}') THEN CAST(to_timestamp(CAST({c} AS DOUBLE)) AS TIMESTAMP) "
            f"WHEN regexp_matches({c}, '{EPOCH_MS_PATTERN}') THEN CAST(to_timestamp(CAST({c} AS DOUBLE) / 1000) AS TIMESTAMP) "
            f"WHEN regexp_matches({c}, '{ISO_DATE_PREFIX}') THEN CAST(TRY_CAST({c} AS TIMESTAMPTZ) AS TIMESTAMP) END"
        )
    if col.kind in ("float", "int"):
        value = f"TRY_CAST({c} AS DOUBLE)"
        if col.default is not None:
            value = f"CASE WHEN {c} IS NULL THEN {float(col.default)} ELSE {value} END"
        return value
    value = f"lower({c})" if col.kind == "category" or col.name == "event_type" else c
    if col.default is not None:
        value = f"COALESCE({value}, {_literal(col.default)})"
    return value


def bound_text(value: float) -> str:
    """A bound as people write it: 0, 5, 1,000,000,000, 0.5."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _failures(col: Column) -> list[tuple[str, str]]:
    """(condition, reason) pairs, checked in order, on the cleaned and the typed value of the column."""
    c, t = _quote(col.name), _t(col.name)
    out = []
    if col.required:
        out.append((f"{c} IS NULL", f"missing {col.name}"))
    if col.kind == "timestamp":
        out.append((f"{c} IS NOT NULL AND {t} IS NULL", f"unparseable timestamp in {col.name}"))
        out.append((f"{t} >= $future_limit", f"{col.name} in the future of the file's day"))
        out.append((f"{t} < TIMESTAMP '{EARLIEST}'", f"{col.name} before {EARLIEST}"))
    elif col.kind in ("float", "int"):
        out.append((f"{c} IS NOT NULL AND {t} IS NULL", f"{col.name} is not a number"))
        out.append((f"NOT isfinite({t})", f"{col.name} is not a finite number"))
        if col.kind == "int":
            out.append((f"{t} <> round({t})", f"{col.name} is not a whole number"))
        if col.min_value is not None:
            out.append((f"{t} < {float(col.min_value)}", f"{col.name} below {bound_text(col.min_value)}"))
        if col.max_value is not None:
            out.append((f"{t} > {float(col.max_value)}", f"{col.name} above {bound_text(col.max_value)}"))
    elif col.kind == "category" and col.allowed:
        allowed = ", ".join(_literal(a) for a in col.allowed)
        out.append(
            (f"{c} IS NOT NULL AND {t} NOT IN ({allowed})", f"unknown {col.name} (allowed: {', '.join(col.allowed)})")
        )
    return out


def _cleaned(col: Column) -> str:
    """Trimmed text, empty = NULL; free text masked here, so neither raw.* nor quarantine.* holds PII."""
    value = f"NULLIF(trim(CAST({_quote(col.name)} AS VARCHAR)), '')"
    return f"{mask_pii_sql(value) if col.pii else value} AS {_quote(col.name)}"


def validation_sql(spec: SourceSpec, rows: str, check_users: bool, with_origin: bool = False) -> str:
    """A SELECT over relation `rows` (string columns + _line + _source_file) giving, per row, the typed
    contract columns (NULL for rejected rows), `_reason` / `_field` (NULL when valid), `_raw` (the row
    as JSON) and `_dup_rank` (1 = first occurrence of its natural key among valid rows).
    Binds $future_limit (timestamps at or after it are rejected). with_origin: `rows` has `_origin`
    (file:row of the user's export, see sources/), added to `_raw` where present."""
    names = spec.column_names
    cleaned = ", ".join(_cleaned(col) for col in spec.columns)
    typed = ", ".join(f"{_typed(col)} AS {_t(col.name)}" for col in spec.columns)
    checks = [(cond, reason, col.name) for col in spec.columns for cond, reason in _failures(col)]
    if check_users and spec.references_users:
        checks.append(
            ("NOT EXISTS (SELECT 1 FROM raw.users AS u WHERE u.user_id = t.user_id)", "unknown user", "user_id")
        )
    reason = "CASE " + " ".join(f"WHEN {cond} THEN {_literal(r)}" for cond, r, _ in checks) + " END"
    field = "CASE " + " ".join(f"WHEN {cond} THEN {_literal(f)}" for cond, _, f in checks) + " END"
    fields = ", ".join(f"{_quote(n)} := {_quote(n)}" for n in names)
    raw = f"to_json(struct_pack({fields}))"
    if with_origin:
        raw = f"CASE WHEN _origin IS NULL THEN {raw} ELSE to_json(struct_pack({fields}, origin := _origin)) END"
    key = ", ".join(_t(k) for k in spec.natural_key)
    out = ", ".join(
        f"CASE WHEN _reason IS NULL THEN CAST({_t(col.name)} AS {SQL_TYPES[col.kind]}) END AS {_quote(col.name)}"
        for col in spec.columns
    )
    return f"""
        WITH cleaned AS (SELECT _line, _source_file, {"_origin, " if with_origin else ""}{cleaned} FROM {rows}),
        typed AS (SELECT *, {typed} FROM cleaned),
        checked AS (SELECT *, {reason} AS _reason, {field} AS _field, {raw} AS _raw FROM typed AS t)
        SELECT
            _line, _source_file, _reason, _field, _raw,
            CASE WHEN _reason IS NULL
                THEN row_number() OVER (PARTITION BY _reason IS NULL, {key} ORDER BY _source_file, _line)
            END AS _dup_rank,
            {out}
        FROM checked
    """
