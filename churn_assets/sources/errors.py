"""The one exception a source adapter raises when an input cannot be used at all."""

from __future__ import annotations

from pathlib import Path


class SourceError(ValueError):
    """An input file or mapping that cannot be used: the message is one line naming file, kind, column
    and (where it applies) row. Row-level problems are not errors: they are set aside with a reason."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        kind: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ):
        where = []
        if path is not None:
            where.append(str(path))
        if kind is not None:
            where.append(f"kind {kind}")
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.path, self.kind, self.column, self.row = path, kind, column, row
