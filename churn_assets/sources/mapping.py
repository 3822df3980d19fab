"""Files whose columns are named differently: a column-mapping file (YAML or TOML), and the identity
mapping used for files that already follow the contract (orders.csv, users.parquet, ...).

Mapping file, one section per kind (only orders is required):

    orders:
      file: "export/orders_*.csv"        # glob(s) relative to the input directory; .gz read as gzip
      format: csv                        # optional: csv | jsonl | parquet (default: from the suffix)
      delimiter: ";"                     # optional, CSV only (default: guessed from the header)
      columns:                           # contract column: the file's column
        user_id: "Customer No"
        order_id: "Order Ref"
        ts: "Placed At"
        amount: "Total (cents)"
        status: "State"
      timestamp_format: "%d/%m/%Y %H:%M" # strptime codes, a list of them, or epoch_s / epoch_ms / epoch_us
      timezone: "Europe/Berlin"          # zone of naive timestamps (default UTC); converted to UTC
      amount_scale: 0.01                 # multiplies amount and discount (cents -> units)
      decimal_comma: false               # true: "1.234,50" means 1234.50
      currency: EUR                      # a note for people; amounts are not converted between currencies
      values:                            # recode values (compared trimmed, lower-case)
        status: {completed: paid, canceled: cancelled}
      defaults:                          # constants for optional columns the file lacks (or leaves empty)
        category: "unknown"
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from churn_assets.sources.convert import (
    check_timestamp_format,
    check_timezone,
)
from churn_assets.sources.errors import SourceError
from churn_assets.sources.read_input import FORMATS, is_data_file
from churn_assets.warehouse.contract import SOURCES

KIND_KEYS = {
    "file",
    "files",
    "format",
    "delimiter",
    "columns",
    "timestamp_format",
    "timezone",
    "amount_scale",
    "decimal_comma",
    "currency",
    "values",
    "defaults",
}
TEXT_KEYS = ("format", "delimiter", "timezone", "currency")  # a text each; file(s), timestamp_format: one or a list
# a mapping file is a few lines: larger ones, and YAML aliases that expand into more values ("billion
# laughs"), are refused before anything is built from them
MAX_MAPPING_BYTES = 1 << 20
MAX_MAPPING_VALUES = 10_000
CURRENCY_COLUMNS = ("amount", "discount")


@dataclass
class KindMapping:
    kind: str
    files: list[Path]
    columns: dict[str, str] = field(default_factory=dict)  # contract column -> file column; empty = same names
    format: str | None = None
    delimiter: str | None = None
    timestamp_format: str | list[str] | None = None
    timezone: str | None = None
    amount_scale: float = 1.0
    decimal_comma: bool = False
    currency: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    origin: str | None = None  # the mapping file, for messages; None = contract layout

    @property
    def identity(self) -> bool:
        return self.origin is None


def _err(message: str, origin: Path, kind: str | None = None, column: str | None = None) -> SourceError:
    return SourceError(message, path=f"mapping file {origin}", kind=kind, column=column)


def _show(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _expanded_size(node: yaml.Node, path: Path, sizes: dict[int, int], open_: set[int]) -> int:
    """Values in a YAML node once its aliases are expanded; refuses a loop and more than MAX_MAPPING_VALUES."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_:
        raise SourceError("YAML aliases that refer to their own anchor (a loop)", path=path)
    open_.add(id(node))
    children = (
        [n for pair in node.value for n in pair]
        if isinstance(node, yaml.MappingNode)
        else (node.value if isinstance(node, yaml.SequenceNode) else [])
    )
    size = 1 + sum(_expanded_size(child, path, sizes, open_) for child in children)
    if size > MAX_MAPPING_VALUES:
        raise SourceError(
            f"YAML aliases (*) expand to more than {MAX_MAPPING_VALUES:,} values; write the settings out", path=path
        )
    sizes[id(node)] = size
    return size


def _read_mapping_file(path: Path) -> dict:
    if not path.is_file():
        raise SourceError("mapping file not found", path=path)
    if path.stat().st_size > MAX_MAPPING_BYTES:
        raise SourceError(f"larger than {MAX_MAPPING_BYTES >> 20} MiB: is this a mapping file?", path=path)
    toml = path.suffix.lower() == ".toml"
    try:
        text = path.read_text(encoding="utf-8")
        node = None if toml else yaml.compose(text, Loader=yaml.SafeLoader)  # aliases not yet expanded
        if node is not None:
            _expanded_size(node, path, {}, set())
        data = tomllib.loads(text) if toml else yaml.safe_load(text)
    except UnicodeDecodeError:
        raise SourceError("not UTF-8 text; re-save the file as UTF-8", path=path) from None
    except RecursionError:
        raise SourceError("nested too deeply", path=path) from None
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise SourceError(f"not valid {'TOML' if toml else 'YAML'} ({exc})".replace("\n", " "), path=path) from exc
    if not isinstance(data, dict) or not data:
        raise SourceError(
            "a mapping file is a table with one section per kind (orders, users, events, reviews)", path=path
        )
    return data


def load_mapping(path: Path, input_dir: Path, con: duckdb.DuckDBPyConnection) -> list[KindMapping]:
    """Parse and check a mapping file (kinds, keys, contract columns, formats, zones, files)."""
    path = Path(path)
    data = _read_mapping_file(path)
    out = [_kind_mapping(kind, section, path, input_dir, con) for kind, section in data.items()]
    if not any(m.kind == "orders" for m in out):
        raise _err("no orders section: orders are the one required kind", path)
    return out


def _kind_mapping(kind: str, section, path: Path, input_dir: Path, con: duckdb.DuckDBPyConnection) -> KindMapping:
    """One section of a mapping file, checked, as a KindMapping."""
    if kind not in SOURCES:
        raise _err(f"unknown kind {kind!r}; kinds are {', '.join(SOURCES)}", path)
    if not isinstance(section, dict):
        raise _err("expected a table of settings (file, columns, ...)", path, kind)
    unknown = set(section) - KIND_KEYS
    if unknown:
        raise _err(f"unknown setting(s) {sorted(unknown)}; allowed: {sorted(KIND_KEYS)}", path, kind)
    columns = section.get("columns") or {}
    values = section.get("values") or {}
    defaults = section.get("defaults") or {}
    _check_tables(columns, values, defaults, path, kind)
    _check_types(section, path, kind)
    fmt = section.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise _err(f"format {fmt!r} is not one of {', '.join(FORMATS)}", path, kind)
    where = f"mapping file {path}, kind {kind}"
    if section.get("timezone"):
        check_timezone(con, str(section["timezone"]), where)
    if section.get("timestamp_format"):
        check_timestamp_format(con, section["timestamp_format"], where)
    scale = _amount_scale(section.get("amount_scale", 1.0), path, kind)
    return KindMapping(
        kind=kind,
        files=_resolve_files(section, input_dir, path, kind),
        columns={k: str(v) for k, v in columns.items()},
        format=fmt,
        delimiter=section.get("delimiter"),
        timestamp_format=section.get("timestamp_format"),
        timezone=section.get("timezone"),
        amount_scale=scale,
        decimal_comma=bool(section.get("decimal_comma", False)),
        currency=section.get("currency"),
        values={k: {str(a): str(b) for a, b in v.items()} for k, v in values.items()},
        defaults={k: str(v) for k, v in defaults.items()},
        origin=str(path),
    )


def _check_tables(columns, values, defaults, path: Path, kind: str) -> None:
    """columns, values and defaults are tables keyed by contract columns, holding what each needs."""
    contract = SOURCES[kind].column_names
    for what, table in (("columns", columns), ("values", values), ("defaults", defaults)):
        if not isinstance(table, dict):
            raise _err(f"{what} must be a table of contract column: value", path, kind)
        for col in table:
            if col not in contract:
                raise _err(
                    f"{what} names {col!r}, not a column of the {kind} contract ({', '.join(contract)})",
                    path,
                    kind,
                    col,
                )
    for col, recode in values.items():
        if not isinstance(recode, dict):
            raise _err("values must map each value to a contract value", path, kind, col)
    for col, user_col in columns.items():
        if not isinstance(user_col, str) or not user_col:
            raise _err("the file's column name must be a non-empty string", path, kind, col)


def _is_texts(value) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    )


def _check_types(section: dict, path: Path, kind: str) -> None:
    """Each setting of a kind has the type it needs (a YAML `timestamp_format: 123` is a number)."""
    for key in ("file", "files", "timestamp_format"):
        if section.get(key) is not None and not _is_texts(section[key]):
            raise _err(f"{key!r} must be a text or a list of texts, got {_show(section[key])}", path, kind)
    for key in TEXT_KEYS:
        if section.get(key) is not None and not isinstance(section[key], str):
            raise _err(f"{key!r} must be a text, got {_show(section[key])}", path, kind)
    if section.get("delimiter") is not None and len(section["delimiter"]) != 1:
        raise _err(f"'delimiter' must be one character, got {_show(section['delimiter'])}", path, kind)
    if not isinstance(section.get("decimal_comma", False), bool):
        raise _err(f"'decimal_comma' must be true or false, got {_show(section['decimal_comma'])}", path, kind)
    defaults, recodes = section.get("defaults"), section.get("values")
    given = {
        "defaults": list(defaults.values()) if isinstance(defaults, dict) else [],
        "values": [x for r in recodes.values() if isinstance(r, dict) for x in (*r, *r.values())]
        if isinstance(recodes, dict)
        else [],
    }
    for key, found in given.items():
        if not all(isinstance(v, (str, int, float)) for v in found):
            raise _err(f"{key!r} must give texts or numbers", path, kind)


def _amount_scale(value, path: Path, kind: str) -> float:
    try:
        scale = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        scale = math.nan
    if not math.isfinite(scale) or scale <= 0:
        raise _err(f"'amount_scale' must be a finite number above 0, got {_show(value)}", path, kind)
    return scale


def _resolve_files(section: dict, input_dir: Path, path: Path, kind: str) -> list[Path]:
    """The files of a kind: names or globs relative to the input directory (the data directory), whose files,
    symbolic links followed, lie inside it; a file elsewhere is refused before it is opened."""
    patterns = section.get("files", section.get("file"))
    if not patterns:
        raise _err("no file: give the file name or glob (relative to the input directory)", path, kind)
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    root = input_dir.resolve()
    files: list[Path] = []
    for pattern in patterns:
        relative = Path(pattern)
        if relative.is_absolute():  # allowed when it points inside the data directory
            inside = [b for b in (input_dir, root) if relative.is_relative_to(b)]
            relative = relative.relative_to(inside[0]) if inside else relative
        try:
            hits = sorted(p for p in input_dir.glob(str(relative)) if p.is_file()) if not relative.is_absolute() else []
        except (ValueError, IndexError, OSError):  # pathlib refuses "", "." and the like
            raise _err(f"file {pattern!r} is not a file name or glob", path, kind) from None
        outside = [h for h in hits if not h.resolve().is_relative_to(root)]
        if relative.is_absolute() or outside:
            raise _err(
                f"file {pattern!r} is outside the data directory {root}"
                + (f" (it leads to {outside[0].resolve()})" if outside else "")
                + "; a mapping file reads files inside it only",
                path,
                kind,
            )
        if not hits:
            raise _err(f"file {pattern!r} matches nothing in {input_dir}", path, kind)
        files.extend(h for h in hits if h not in files)
    return files


def contract_layout(input_dir: Path) -> list[KindMapping]:
    """Files that follow the contract: <kind>*.csv|jsonl|parquet[.gz] at the top of input_dir, or any
    data file inside input_dir/<kind>/."""
    out = []
    for kind in SOURCES:
        files = sorted(p for p in input_dir.glob(f"{kind}*") if is_data_file(p))
        folder = input_dir / kind
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if is_data_file(p))
        if files:
            out.append(KindMapping(kind=kind, files=files))
    if not any(m.kind == "orders" for m in out):
        found = sorted(p.name for p in input_dir.iterdir() if is_data_file(p)) if input_dir.is_dir() else []
        raise SourceError(
            "no orders file (expected orders.csv, orders.csv.gz, orders.jsonl or orders.parquet, or an orders/ folder); "
            f"found {found or 'no data files'}; for another layout pass a mapping file or a --source adapter",
            path=input_dir,
        )
    return out
