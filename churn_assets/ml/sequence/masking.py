"""BERT-style masking of token ids for masked-token pretraining."""

from __future__ import annotations

import numpy as np

from churn_assets.ml.sequence.vocab import Vocabulary

IGNORE_INDEX = -100


def mask_tokens(
    input_ids: np.ndarray, vocab: Vocabulary, prob: float = 0.15, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(masked_ids, labels)`` for masked-token pretraining.

    Each non-special position ([PAD] and [CLS] are never chosen; [MASK] / [UNK] neither) is chosen with
    probability ``prob``; a chosen token becomes [MASK] 80% of the time, a random ordinary token 10%,
    and stays unchanged 10%. ``labels`` holds the original id at chosen positions and -100 (ignored by
    the loss) everywhere else. The input array is not modified.
    """
    if not 0.0 <= prob <= 1.0:
        raise ValueError("prob must be in [0, 1]")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    ids = np.asarray(input_ids)
    candidates = ids >= vocab.n_special  # excludes [PAD] [CLS] [MASK] [UNK]
    chosen = candidates & (rng.random(ids.shape) < prob)
    labels = np.where(chosen, ids, IGNORE_INDEX).astype(np.int64)
    out = ids.astype(np.int64, copy=True)
    u = rng.random(ids.shape)
    to_mask = chosen & (u < 0.8)
    to_random = chosen & (u >= 0.8) & (u < 0.9)
    out[to_mask] = vocab.mask_id
    n_ordinary = len(vocab) - vocab.n_special
    if n_ordinary > 0 and to_random.any():
        out[to_random] = rng.integers(vocab.n_special, len(vocab), size=int(to_random.sum()))
    return out, labels
