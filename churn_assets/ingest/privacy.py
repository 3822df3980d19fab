"""Mask e-mail addresses and phone numbers in free text (review texts, search queries) at ingestion.

The masking runs inside the DuckDB validation query (`mask_pii_sql`), so raw.*, quarantine.* and all
that is built on them only ever hold "[email]" / "[phone]". DuckDB compiles each constant pattern once
per query. Patterns are RE2: no look-arounds, so "not after #" is a captured character put back.

Masked:
- e-mail addresses, also with plus tags and subdomains (a.b+tag@mail.shop.co.uk), and written out
  ("joao at gmail dot com", "ana [at] shop.com", "maria arroba hotmail ponto com ponto br") when the
  last part is a common top-level domain. A plain " at " needs a written " dot ": "bought it at
  amazon.com" is kept, "look at the dot com bubble" is masked (accepted).
- phone numbers with a telephone shape: a +country code (+55 11 91234-5678, +44 20 7946 0958), an
  area code in parentheses ((555) 123 4567, (11) 91234-5678), 3-3-4 groups with "-", "." or spaces
  (555 123 4567), Brazilian area code + number (11 91234-5678) and mobile 9xxxx-xxxx, a national
  number starting with 0 in groups (020 7946 0958, 06 12 34 56 78);
- bare runs of 9 to 15 digits (11912345678, 5511912345678), unless written after "#" (order #123456789).

Kept: amounts (R$ 129,90, 19.99, R$ 1.299,00), dates and times (2024-05-03, 03/05/2024, 10:30),
years, quantities, order numbers up to 8 digits or after "#", zip codes, "1 000 000", and 4-4 groups
(3456-7890 is as often a range of years or pages as a landline without its area code).
"""

from __future__ import annotations

import duckdb

_TLD = "com|net|org|edu|gov|info|biz|io|me|co|br|pt|uk|de|fr|es|it|us"
_WORD_DOT = r"(?:\[dot\]|\(dot\)|\{dot\}| dot | ponto )"
_ANY_DOT = rf"(?:{_WORD_DOT}| ?\. ?)"


def _written_out_email(at: str, dot: str) -> str:
    return rf"(?i:[a-z0-9._%+-]+ *{at} *[a-z0-9-]+(?: *{dot} *[a-z0-9-]+)* *{dot} *(?:{_TLD})\b)"


EMAIL_PATTERN = "|".join(
    (
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
        # written out: ana [at] shop.com, maria arroba uol ponto com ponto br, joao @ gmail . com
        _written_out_email(r"(?:\[at\]|\(at\)|\{at\}| arroba | ?@ ?)", _ANY_DOT),
        # a plain " at " only with a written dot: "joao at gmail dot com", not "bought it at amazon.com"
        _written_out_email(" at ", _WORD_DOT),
    )
)
PHONE_PATTERN = "|".join(
    (
        # +country code, then groups; the closing \b stops a match ending inside a digit group
        r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,5}\b",  # +55 11 91234-5678, +1 555 123 4567
        r"\(\d{2,4}\)[ .-]?\d{3,5}[ .-]?\d{4}\b",  # (11) 98765-4321, (555) 123 4567
        r"\b\d{3}[ .-]\d{3}[ .-]\d{4}\b",  # 555-123-4567, 555.123.4567, 555 123 4567 (a last group of 4: no thousands)
        r"\b\d{2}[ -]\d{4,5}-\d{4}\b",  # 11 98765-4321, 11-3456-7890
        r"\b\d{2} 9\d{4} \d{4}\b",  # 11 98765 4321 (mobile)
        r"\b9\d{4}-\d{4}\b",  # 98765-4321 (Brazilian mobile without area code)
        r"\b0\d(?:[ .]\d{2}){4}\b",  # 06 12 34 56 78
        r"\b0\d{2,4}[ /.-]?\d{4,}(?:[ .-]?\d{2,})*\b",  # 0171-1234567, 030 12345678, 020 7946 0958
        # a bare run of 9-15 digits, unless after "#" (an order number): the only capture group is the
        # character before it, put back by the replacement; so every other group here is (?:...)
        r"(^|[^#])\b\d{9,15}\b",  # 11912345678
    )
)
EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"


def mask_pii_sql(expr: str) -> str:
    """SQL expression: `expr` (text) with e-mail addresses and phone numbers replaced."""
    emails = f"regexp_replace({expr}, '{EMAIL_PATTERN}', '{EMAIL_MASK}', 'g')"
    return f"regexp_replace({emails}, '{PHONE_PATTERN}', '\\1{PHONE_MASK}', 'g')"


def mask_pii(texts: list[str | None]) -> list[str | None]:
    """The same masking for Python callers (and tests), run by DuckDB so that both agree exactly."""
    with duckdb.connect() as con:
        con.execute("CREATE TEMP TABLE t (i INTEGER, text VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
        return [m for _, m in con.execute(f"SELECT i, {mask_pii_sql('text')} FROM t ORDER BY i").fetchall()]
