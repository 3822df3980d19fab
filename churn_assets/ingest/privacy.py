"""Mask e-mail addresses and phone numbers in free text (review texts, search queries) at ingestion.

The masking runs inside the DuckDB validation query (`mask_pii_sql`), so raw.*, quarantine.* and all
that is built on them only ever hold "[email]" / "[phone]". Phone numbers need a telephone shape:
a +country code, an area code in parentheses, a national number starting with 0 in groups, or the
3-3-4 / Brazilian 4(5)-4 groupings, with 7 digits or more. Plain numbers ("2 weeks", "order 12345",
"1,299.00", dates like 2023-01-15) are left alone. Patterns are RE2 (DuckDB): no look-arounds.
"""

from __future__ import annotations

import duckdb

EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE_PATTERN = "|".join((
    r"\+\d{1,3}[ .-]?(\(\d{1,4}\)[ .-]?)?\d{1,4}([ .-]?\d{2,4}){1,5}",  # +49 30 1234567, +55 11 98765-4321
    r"\(\d{2,4}\)[ .-]?\d{3,5}[ .-]?\d{4}\b",  # (11) 98765-4321, (555) 123-4567
    r"\b\d{3}[.-]\d{3}[.-]\d{4}\b",  # 555-123-4567 (not with spaces: "100 200 3000" is a count)
    r"\b\d{2} \d{4,5}-\d{4}\b",  # 11 98765-4321
    r"\b0\d([ .]\d{2}){4}\b",  # 06 12 34 56 78
    r"\b0\d{2,4}[ /.-]?\d{4,}([ .-]?\d{2,})*\b",  # 0171-1234567, 030 12345678, 020 7946 0958
))
EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"


def mask_pii_sql(expr: str) -> str:
    """SQL expression: `expr` (text) with e-mail addresses and phone numbers replaced."""
    emails = f"regexp_replace({expr}, '{EMAIL_PATTERN}', '{EMAIL_MASK}', 'g')"
    return f"regexp_replace({emails}, '{PHONE_PATTERN}', '{PHONE_MASK}', 'g')"


def mask_pii(texts: list[str | None]) -> list[str | None]:
    """The same masking for Python callers (and tests), run by DuckDB so that both agree exactly."""
    with duckdb.connect() as con:
        con.execute("CREATE TEMP TABLE t (i INTEGER, text VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
        return [m for _, m in con.execute(f"SELECT i, {mask_pii_sql('text')} FROM t ORDER BY i").fetchall()]
