"""The raw data contract: which landing files a shop provides and what each column means.

One place that the simulator writes to, the ingestion validates against, and the README documents.
Timestamps are ISO 8601 (an offset is converted to UTC; a naive time is taken as UTC), epoch
seconds, or native Parquet timestamps. Amounts are in the shop's currency, non-negative.

Numbers have an upper bound too (`max_value`), far above what any shop sends (an order of a billion,
a million items, ten years in delivery): a value beyond it is a broken export, and one such value (say
1e308) would turn the sums and means of the features into inf / NaN. Non-finite numbers (inf, nan,
1e999) are refused as well. Change a bound here: the validation SQL is generated from these columns.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str" | "timestamp" | "float" | "int" | "category"
    required: bool = False
    min_value: float | None = None
    max_value: float | None = None
    allowed: tuple[str, ...] | None = None  # for kind == "category"; values are lower-cased
    default: str | None = None  # value used when an optional column is missing or empty
    pii: bool = False  # free text: e-mail addresses and phone numbers are masked at ingestion


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # landing folder name and raw./quarantine. table name
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]  # duplicates on this key are dropped (first occurrence kept)
    required: bool = False
    description: str = ""
    references_users: bool = True  # rows must name a known user when a users source exists

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def time_column(self) -> str:
        """The timestamp that dates a row (its day decides whether a run as of a date sees it)."""
        return next(c.name for c in self.columns if c.kind == "timestamp")

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


MAX_AMOUNT = 1e9  # amount and discount, in the shop's currency units
MAX_QUANTITY = 1e6  # items in one order
MAX_DELIVERY_DAYS = 3650.0  # ten years

ORDER_STATUSES = ("paid", "cancelled", "refunded", "returned")
REVIEW_KINDS = ("review", "complaint", "question")
EVENT_TYPES = ("login", "page_view", "search", "click", "add_to_cart", "favourite", "logout")

USERS = SourceSpec(
    kind="users",
    description="one row per customer: sign-up time and optional attributes",
    columns=(
        Column("user_id", "str", required=True),
        Column("signup_ts", "timestamp", required=True),
        Column("region", "str", default="unknown"),
        Column("channel", "str", default="unknown"),
        Column("membership", "str", default="none"),
    ),
    natural_key=("user_id",),
    references_users=False,
)

EVENTS = SourceSpec(
    kind="events",
    description="behaviour log: one row per interaction",
    columns=(
        Column("user_id", "str", required=True),
        Column("ts", "timestamp", required=True),
        Column("event_type", "str", required=True),
        Column("session_id", "str"),
        Column("item_id", "str"),
        Column("category", "str"),
        Column("query", "str", pii=True),
        Column("device", "str"),
    ),
    natural_key=("user_id", "ts", "event_type", "session_id", "item_id"),
)

ORDERS = SourceSpec(
    kind="orders",
    required=True,
    description="one row per order (the only required source)",
    columns=(
        Column("user_id", "str", required=True),
        Column("order_id", "str", required=True),
        Column("ts", "timestamp", required=True),
        Column("amount", "float", required=True, min_value=0.0, max_value=MAX_AMOUNT),
        Column("status", "category", allowed=ORDER_STATUSES, default="paid"),
        Column("quantity", "int", min_value=1, max_value=MAX_QUANTITY, default="1"),
        Column("category", "str"),
        Column("discount", "float", min_value=0.0, max_value=MAX_AMOUNT, default="0"),
        Column("delivery_days", "float", min_value=0.0, max_value=MAX_DELIVERY_DAYS),
    ),
    natural_key=("order_id",),
)

REVIEWS = SourceSpec(
    kind="reviews",
    description="reviews, complaints and questions written by customers",
    columns=(
        Column("user_id", "str", required=True),
        Column("ts", "timestamp", required=True),
        Column("rating", "int", min_value=1, max_value=5),
        Column("text", "str", default="", pii=True),
        Column("order_id", "str"),
        Column("kind", "category", allowed=REVIEW_KINDS, default="review"),
    ),
    natural_key=("user_id", "ts", "kind", "order_id", "text"),
)

SOURCES: dict[str, SourceSpec] = {s.kind: s for s in (USERS, EVENTS, ORDERS, REVIEWS)}
# users first: the other sources check their user ids against it
INGEST_ORDER = ("users", "orders", "events", "reviews")
# Every file the project reads, landing file or export: name suffix -> format, longest suffix first ("x.csv.gz"
# is csv, gzip-compressed). .tsv is csv with tabs.
FILE_FORMATS = (
    (".csv.gz", "csv"),
    (".tsv.gz", "csv"),
    (".txt.gz", "csv"),
    (".jsonl.gz", "jsonl"),
    (".ndjson.gz", "jsonl"),
    (".json.gz", "jsonl"),
    (".csv", "csv"),
    (".tsv", "csv"),
    (".txt", "csv"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "jsonl"),
    (".parquet", "parquet"),
    (".pq", "parquet"),
)


def file_suffix(name: str) -> str | None:
    """The FILE_FORMATS suffix a file name ends with (case ignored), or None for a file the project does not read."""
    lower = name.lower()
    return next((suffix for suffix, _ in FILE_FORMATS if lower.endswith(suffix)), None)


def file_format(name: str) -> str | None:
    """'csv', 'jsonl' or 'parquet' by the file name, or None."""
    suffix = file_suffix(name)
    return dict(FILE_FORMATS)[suffix] if suffix else None


def csv_delimiter(name: str) -> str:
    return "\t" if (file_suffix(name) or "").startswith(".tsv") else ","


# The longest line (so the longest field) a CSV or JSON lines file may have, landing file or export: a file
# with a longer one is refused, naming the line (DuckDB's max_line_size and Python's csv field limit)
MAX_LINE_SIZE = 10 * 1024 * 1024
