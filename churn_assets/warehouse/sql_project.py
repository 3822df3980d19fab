"""dbt-like SQL models: one file = one table; table name from the path, dependencies from the SQL.

`dbt_like_sql/features/user_activity.sql` builds `features.user_activity`. Dependencies are the
`schema.table` references that sqlglot finds in the statement (CTE names excluded). Parameters are
DuckDB named parameters (`$as_of_step_days`) bound at execution, never pasted into the text.

`deduplicated.<source>` in a model stands for raw.<source> as a run sees it: rows up to `$until_date`, the
first delivery of each natural key. Its SQL is generated from the contract (warehouse/contract.py), as the
ingestion's validation is, so a staging file only says what is its own (typing, normalisation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from churn_assets.warehouse.contract import SOURCES, SourceSpec

SQL_DIR = Path(__file__).resolve().parents[2] / "dbt_like_sql"
# ad-hoc queries of the assets (not tables of the SQL project)
QUERIES_DIR = Path(__file__).resolve().parent / "queries"


@dataclass(frozen=True)
class SqlModel:
    path: Path
    schema: str
    name: str
    sql: str
    deps: tuple[str, ...]  # "schema.table" keys this model reads
    params: tuple[str, ...]  # named parameters the SQL uses
    description: str

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


def _description(sql: str) -> str:
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines).strip()


DEDUPLICATED = re.compile(r"(?<![\w.])deduplicated\.(\w+)\b")
# a row's file or timestamp after $until_date stays unseen; no date set = no limit
UNTIL = "COALESCE(TRY_CAST($until_date AS DATE), DATE '9999-12-31')"


def deduplicated_sql(spec: SourceSpec) -> str:
    """raw.<kind> up to $until_date, one row per natural key: the first delivery (partition day, file, line).
    Identifiers come from the contract only; the date is a bound parameter."""
    key = ", ".join(spec.natural_key)
    return f"""(
    -- generated from the contract (warehouse/contract.py): raw.{spec.kind} up to $until_date, first delivery per
    -- natural key ({key})
    SELECT *
    FROM (
        SELECT
            r.*,
            row_number() OVER (PARTITION BY {key} ORDER BY _partition_date, _source_file, _source_line) AS delivery_rank
        FROM raw.{spec.kind} AS r
        WHERE r._partition_date <= {UNTIL}
            AND CAST(r.{spec.time_column} AS DATE) <= {UNTIL}
    ) AS ranked
    WHERE delivery_rank = 1
)"""


def expand_generated(sql: str) -> str:
    """The model's SQL with each `deduplicated.<source>` replaced by its generated subquery."""

    def generated(match: re.Match) -> str:
        if match.group(1) not in SOURCES:
            raise ValueError(f"deduplicated.{match.group(1)}: no such source in the contract ({', '.join(SOURCES)})")
        return deduplicated_sql(SOURCES[match.group(1)])

    lines = []
    for line in sql.splitlines(keepends=True):  # comments may name the relation: left as written
        code, dashes, comment = line.partition("--")
        lines.append(DEDUPLICATED.sub(generated, code) + dashes + comment)
    return "".join(lines)


def parse_model(path: Path, root: Path = SQL_DIR) -> SqlModel:
    rel = path.relative_to(root)
    if len(rel.parts) != 2:
        raise ValueError(f"{path}: SQL models live one folder deep (<schema>/<table>.sql)")
    sql = expand_generated(path.read_text())
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise ValueError(f"{path}: cannot parse SQL: {exc}") from exc
    # CTE references carry no schema, so every schema-qualified table is a dependency
    deps = sorted({f"{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.db})
    params = sorted({p.this for p in tree.find_all(exp.Placeholder) if isinstance(p.this, str)})
    return SqlModel(path, rel.parts[0], path.stem, sql, tuple(deps), tuple(params), _description(sql))


@cache
def load_models(root: Path = SQL_DIR) -> dict[str, SqlModel]:
    models = [parse_model(p, root) for p in sorted(root.glob("*/*.sql"))]
    return {m.key: m for m in models}


def topo_order(models: Mapping[str, SqlModel], selected: Iterable[str] | None = None) -> list[SqlModel]:
    """Selected models (default all) in dependency order; external deps (raw.*) are ignored."""
    wanted = set(selected) if selected is not None else set(models)
    order: list[SqlModel] = []
    state: dict[str, int] = {}

    def visit(key: str, chain: tuple[str, ...]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            raise ValueError(f"dependency cycle: {' -> '.join((*chain, key))}")
        state[key] = 1
        for dep in models[key].deps:
            if dep in models and dep in wanted:
                visit(dep, (*chain, key))
        state[key] = 2
        order.append(models[key])

    for key in sorted(wanted):
        visit(key, ())
    return order


def run_model(con: duckdb.DuckDBPyConnection, model: SqlModel, params: Mapping[str, Any]) -> int:
    """(Re)build the model's table atomically; returns its row count."""
    missing = [p for p in model.params if p not in params]
    if missing:
        raise KeyError(f"{model.path}: parameters {missing} are not set")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
    body = model.sql.strip().rstrip(";")
    con.execute(f"CREATE OR REPLACE TABLE {model.schema}.{model.name} AS {body}", {p: params[p] for p in model.params})
    return con.execute(f"SELECT count(*) FROM {model.schema}.{model.name}").fetchall()[0][0]
