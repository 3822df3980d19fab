"""Event sequences as token ids for the behaviour BERT (pure numpy; no torch import here).

    vocab = Vocabulary.build(train["event_tokens"], min_count=2)
    ids, mask = vocab.encode(X["event_tokens"], max_len=128)   # [CLS] + latest tokens, padded right
    inputs, labels = mask_tokens(ids, vocab, prob=0.15, rng=np.random.default_rng(0))
    families = TokenFamilies.default()                          # token families for occlusion reasons

A token string is the ``event_tokens`` column produced by ``features/user_event_tokens.sql``:
space-separated tokens, oldest first (``gap_d3 login search order_paid amt_5 cat_books ...``).
Tokens are opaque here; only ``families.py`` knows what some of them mean.
"""

from churn_assets.ml.sequence.families import DEFAULT_FAMILIES, TokenFamilies
from churn_assets.ml.sequence.masking import mask_tokens
from churn_assets.ml.sequence.vocab import CLS, MASK, PAD, SPECIAL_TOKENS, UNK, Vocabulary

__all__ = [
    "Vocabulary",
    "mask_tokens",
    "TokenFamilies",
    "DEFAULT_FAMILIES",
    "PAD",
    "CLS",
    "MASK",
    "UNK",
    "SPECIAL_TOKENS",
]
