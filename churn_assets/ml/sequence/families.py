"""Token families: groups of event tokens that a reason can name (complaints, late deliveries, ...).

The behaviour BERT explains a prediction by occlusion: all tokens of one family are replaced by
[MASK] and the drop in the churn logit is that family's contribution (``seq_<family>`` features,
with plain-words texts in ``ml/reasons.py``).

A family is a list of glob patterns (``fnmatch``) over token strings; the first family whose pattern
matches a token owns it, and tokens matched by none belong to ``seq_other``. The defaults follow the
tokens written by ``features/user_event_tokens.sql``; pass your own mapping for other vocabularies.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence

import numpy as np

from churn_assets.ml.sequence.vocab import Vocabulary

OTHER = "seq_other"

# feature name -> glob patterns (first match wins, so order matters)
DEFAULT_FAMILIES: dict[str, list[str]] = {
    "seq_complaints": ["complaint*"],
    "seq_late_delivery": ["delivered_late*", "late*"],
    "seq_low_ratings": ["review_r1", "review_r2"],
    "seq_reviews": ["review_*", "question*"],
    "seq_returns": ["order_cancelled", "order_refunded", "order_returned", "cancel*", "refund*", "return*"],
    "seq_orders": ["order_*", "amt_*", "cat_*", "delivered*", "purchase*"],
    "seq_searches": ["search*"],
    "seq_carts": ["add_to_cart*", "cart*", "favourite*", "wishlist*"],
    "seq_sessions": ["login*", "logout*", "page_view*", "click*", "session*", "visit*"],
    "seq_pauses": ["gap_*"],
    "seq_last_activity": ["now_*"],
}


class TokenFamilies:
    def __init__(self, families: Mapping[str, Sequence[str]] | None = None, other: bool = True) -> None:
        fams = dict(DEFAULT_FAMILIES if families is None else families)
        self.families: dict[str, list[str]] = {k: list(v) for k, v in fams.items()}
        self.other = bool(other)
        self._regex = {
            k: re.compile("|".join(fnmatch.translate(p) for p in v)) if v else None for k, v in self.families.items()
        }

    @classmethod
    def default(cls) -> TokenFamilies:
        return cls(None)

    @property
    def names(self) -> list[str]:
        return list(self.families) + ([OTHER] if self.other else [])

    def family_of(self, token: str) -> str | None:
        for name, rx in self._regex.items():
            if rx is not None and rx.match(token):
                return name
        return OTHER if self.other else None

    def vocab_families(self, vocab: Vocabulary) -> np.ndarray:
        """Family index (position in ``names``) per vocabulary id; -1 for special tokens / no family."""
        index = {name: i for i, name in enumerate(self.names)}
        out = np.full(len(vocab), -1, dtype=np.int64)
        for i, tok in enumerate(vocab.tokens):
            if i < vocab.n_special:
                continue
            fam = self.family_of(tok)
            if fam is not None:
                out[i] = index[fam]
        return out

    def to_dict(self) -> dict:
        return {"families": self.families, "other": self.other}

    @classmethod
    def from_dict(cls, d: Mapping | None) -> TokenFamilies:
        if not d:
            return cls.default()
        return cls(d.get("families"), d.get("other", True))
