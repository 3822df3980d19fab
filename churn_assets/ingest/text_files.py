"""Text input files (CSV, JSON lines; gzip-compressed or not), checked in one streaming pass before they are
parsed, by the landing-file reader and the export reader alike: the gzip stream is whole, the text is UTF-8
(a byte order mark is fine), and no line is longer than MAX_LINE_SIZE bytes. The pass also says whether the
file mixes line ends (CR-LF with LF, or the old Mac lone CR): Python's csv module reads those, DuckDB's CSV
reader does not, so the export reader parses an LF copy (`lf_copy`) of such a file.

Line numbers count CR-LF, LF and a lone CR as one line end each, as Python's csv module and editors do.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from churn_assets.warehouse.contract import MAX_LINE_SIZE

CHUNK = 1 << 20
csv.field_size_limit(MAX_LINE_SIZE)  # Python's csv module, for both readers (process-wide; its default is 131,072)


class TextFileError(ValueError):
    """A text file that cannot be used: the problem, and the line where it is (None: the whole file)."""

    def __init__(self, problem: str, line: int | None = None):
        super().__init__(f"line {line}: {problem}" if line else problem)
        self.problem, self.line = problem, line


def one_line(exc: BaseException) -> str:
    """The first line of an error message, control characters as "?": for a one-line error of our own."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return "".join(c if c.isprintable() else "?" for c in first)


def open_binary(path: Path) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def open_text(path: Path) -> io.TextIOWrapper:
    """A file checked by scan_text, as text: UTF-8 (a byte order mark dropped), line ends as they are (for
    Python's csv module, which counts CR-LF, LF and CR as one line end each)."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", newline="")


def _chunks(path: Path, size: int) -> Iterator[bytes]:
    """The file's (decompressed) bytes in pieces that never split a CR-LF."""
    carry = b""
    with open_binary(path) as fh:
        while chunk := fh.read(size):
            data = carry + chunk
            carry = data[-1:] if data.endswith(b"\r") else b""
            yield data[: len(data) - len(carry)]
    if carry:
        yield carry


def _line_ends(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def scan_text(path: Path, limit: int = MAX_LINE_SIZE) -> bool:
    """Check the file (see the module docstring); True when it mixes line ends or uses lone CRs.
    Raises TextFileError naming the line of the first problem."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, run, crlf, lone_cr, bare_lf = 1, 0, 0, 0, 0  # run: bytes since the last line end
    try:
        for data in _chunks(path, min(CHUNK, limit)):
            pending = decoder.getstate()[0]
            try:
                decoder.decode(data)
            except UnicodeDecodeError as exc:
                at = line + _line_ends(data[: max(exc.start - len(pending), 0)])
                raise TextFileError("not UTF-8 text; re-save the file as UTF-8", at) from None
            ends = [i for i in (data.find(b"\r"), data.find(b"\n")) if i >= 0]
            if run + (min(ends) if ends else len(data)) > limit:
                raise TextFileError(f"a line longer than the limit of {limit:,} bytes", line)
            if ends:
                run = len(data) - 1 - max(data.rfind(b"\r"), data.rfind(b"\n"))
            else:
                run += len(data)
            n = data.count(b"\r\n")
            crlf, lone_cr, bare_lf = crlf + n, lone_cr + data.count(b"\r") - n, bare_lf + data.count(b"\n") - n
            line += _line_ends(data)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # a multi-byte character cut off by the end of the file
        raise TextFileError("not UTF-8 text; re-save the file as UTF-8", line) from None
    except (EOFError, OSError, zlib.error) as exc:
        what = "truncated or corrupt gzip file" if path.name.lower().endswith(".gz") else "cannot be read"
        raise TextFileError(f"{what} ({exc})") from None
    return lone_cr > 0 or (crlf > 0 and bare_lf > 0)


@contextmanager
def lf_copy(path: Path) -> Iterator[Path]:
    """An uncompressed copy of the file with every line end written as LF, in a temporary folder; the
    line numbers stay the same."""
    with tempfile.TemporaryDirectory(prefix="churn_lf_") as folder:
        copy = Path(folder) / path.name.removesuffix(".gz").removesuffix(".GZ")
        with open(copy, "wb") as out:
            for data in _chunks(path, CHUNK):
                out.write(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        yield copy
