"""Vocabulary of event tokens: build from training sequences, encode to fixed-size id arrays, JSON I/O.

Ids are deterministic: the special tokens first (``[PAD]``=0, ``[CLS]``=1, ``[MASK]``=2, ``[UNK]``=3),
then the tokens seen at least ``min_count`` times by descending count, ties by token string.
Tokens outside the vocabulary encode to ``[UNK]``.

``encode(texts, max_len)`` returns ``(input_ids, attention_mask)``, both int64 arrays of shape
``(n, max_len)``: ``[CLS]`` in column 0, then the LATEST ``max_len - 1`` tokens of each sequence in
their original (oldest first) order, ``[PAD]`` on the right. Empty / missing sequences are just
``[CLS]``. Works in chunks so that ~100k sequences of 128 tokens encode in a couple of seconds
without building one Python string per token of the whole input at once.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

PAD, CLS, MASK, UNK = "[PAD]", "[CLS]", "[MASK]", "[UNK]"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, CLS, MASK, UNK)
_CHUNK = 8192


def _as_text(t: Any) -> str:
    """A sequence cell as a str ('' for None / NaN / pd.NA)."""
    if isinstance(t, str):
        return t
    if t is None:
        return ""
    try:
        if t != t:  # NaN
            return ""
    except (TypeError, ValueError):  # pd.NA
        return ""
    return str(t)


class _Lookup(dict):
    """token -> id with [UNK] for anything else (``__missing__`` keeps ``map(d.__getitem__)`` fast)."""

    def __init__(self, mapping: dict[str, int], unk: int) -> None:
        super().__init__(mapping)
        self.unk = unk

    def __missing__(self, key: str) -> int:
        return self.unk


class Vocabulary:
    def __init__(self, tokens: Sequence[str], counts: dict[str, int] | None = None, min_count: int = 1) -> None:
        tokens = list(tokens)
        if tuple(tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary starts with the special tokens {SPECIAL_TOKENS}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("duplicate tokens in the vocabulary")
        self.tokens: list[str] = tokens
        self.counts: dict[str, int] = dict(counts or {})
        self.min_count = int(min_count)
        self.index = _Lookup({t: i for i, t in enumerate(tokens)}, tokens.index(UNK))

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def build(cls, texts: Iterable[Any], min_count: int = 2, max_size: int | None = None) -> Vocabulary:
        """Count the tokens of ``texts`` (an iterable of space-separated token strings)."""
        counter: Counter[str] = Counter()
        for chunk in _chunks(texts, _CHUNK):
            counter.update(itertools.chain.from_iterable(_as_text(t).split() for t in chunk))
        for s in SPECIAL_TOKENS:
            counter.pop(s, None)
        kept = sorted(((t, c) for t, c in counter.items() if c >= min_count), key=lambda tc: (-tc[1], tc[0]))
        if max_size is not None:
            kept = kept[: max(0, int(max_size) - len(SPECIAL_TOKENS))]
        return cls(list(SPECIAL_TOKENS) + [t for t, _ in kept], {t: c for t, c in kept}, min_count)

    # ---- ids --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def cls_id(self) -> int:
        return 1

    @property
    def mask_id(self) -> int:
        return 2

    @property
    def unk_id(self) -> int:
        return 3

    @property
    def n_special(self) -> int:
        return len(SPECIAL_TOKENS)

    def id_of(self, token: str) -> int:
        return self.index[token]

    def decode(self, ids: Sequence[int], skip_special: bool = True) -> str:
        """Ids back to a token string (``[UNK]`` for unknown tokens; specials dropped by default)."""
        out = [self.tokens[int(i)] for i in ids]
        if skip_special:
            out = [t for t in out if t not in (PAD, CLS, MASK)]
        return " ".join(out)

    def encode(self, texts: Iterable[Any], max_len: int = 128) -> tuple[np.ndarray, np.ndarray]:
        """``(input_ids, attention_mask)`` of shape (n, max_len): [CLS] + latest tokens, padded right."""
        if max_len < 2:
            raise ValueError("max_len must be at least 2 ([CLS] and one token)")
        keep = max_len - 1
        texts = list(texts) if not isinstance(texts, (list, tuple, np.ndarray)) else texts
        n = len(texts)
        ids = np.zeros((n, max_len), dtype=np.int64)
        ids[:, 0] = self.cls_id
        lookup = self.index.__getitem__
        for start in range(0, n, _CHUNK):
            chunk = texts[start : start + _CHUNK]
            pieces = [_as_text(t).split()[-keep:] for t in chunk]
            lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
            total = int(lengths.sum())
            if total == 0:
                continue
            flat = np.fromiter(map(lookup, itertools.chain.from_iterable(pieces)), dtype=np.int64, count=total)
            rows = np.repeat(np.arange(start, start + len(pieces)), lengths)
            offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
            cols = 1 + np.arange(total) - offsets
            ids[rows, cols] = flat
        mask = (ids != self.pad_id).astype(np.int64)
        return ids, mask

    # ---- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "counts": self.counts, "min_count": self.min_count}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        return cls(d["tokens"], d.get("counts"), d.get("min_count", 1))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens, min_count={self.min_count})"


def _chunks(items: Iterable[Any], size: int):
    it = iter(items)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk
