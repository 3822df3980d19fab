"""The review grammar's hard phrasings (negation, sarcasm, complaints hidden in long praise) appear at sensible
shares and only on the side of the rating they belong to; the link between topic, rating and grievance
wording stays. Generated directly from `review_texts` with a seed, without a shop."""

from __future__ import annotations

import re

import numpy as np
import pytest

from churn_assets.simulate import text as T
from churn_assets.simulate import text_phrasings as P
from churn_assets.simulate.signals import GRIEVANCE_PATTERN

N = 6_000
TOPICS = (T.PRAISE, T.MIXED_OK, T.QUALITY, T.PRICE, T.GRIEVANCE_DELIVERY, T.GRIEVANCE_SUPPORT)
GRIEVANCES = T.GRIEVANCE_DELIVERY_TEXT + T.GRIEVANCE_SUPPORT_TEXT


def _alt(options) -> str:
    return "(?:" + "|".join(re.escape(o) for o in options) + ")"


def _frames(templates, adjectives=None) -> re.Pattern:
    """Any of `templates` with any product (and any of `adjectives` for {a}), anywhere, any first-letter case."""
    parts = []
    for t in templates:
        pat = re.escape(t.strip()).replace(re.escape("{p}"), r"[a-z ]+?")
        if adjectives is not None:
            pat = pat.replace(re.escape("{a}"), _alt(adjectives))
        parts.append("(?i:" + pat[0] + ")" + pat[1:] if pat[0].isalpha() else pat)
    return re.compile("|".join(parts))


SARCASM = re.compile(
    _frames(P.SARCASM_QUALITY + P.SARCASM_DELIVERY + P.SARCASM_SUPPORT).pattern
    + rf"|(?i:{_alt(P.SARCASM_OPENERS)}), {_alt(GRIEVANCES)}\."
)
NEGATED_PRAISE = _frames(P.NEGATED_PRAISE_MAIN)
NEGATED_BAD = _frames(P.NEGATED_BAD_MAIN)
PRAISE_FRAME = re.compile(
    _frames(P.AFFIRMED_FRAMES, P.GOOD_ADJ).pattern + "|" + _frames(P.NEGATED_FRAMES, P.BAD_ADJ).pattern
)
LOW_FRAME = re.compile(
    _frames(P.AFFIRMED_FRAMES, P.BAD_ADJ).pattern + "|" + _frames(P.NEGATED_FRAMES, P.GOOD_ADJ).pattern
)
HIDDEN = re.compile(rf"(?<=\.){_alt(P.HIDDEN_LEAD)}{_alt(GRIEVANCES)}")


def _reviews(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every topic at every rating the simulator gives it (orders.feedback_frame), in equal numbers."""
    rng = np.random.default_rng(seed)
    topic = np.asarray(TOPICS)[rng.integers(0, len(TOPICS), N)]
    rating = np.select(
        [topic == T.PRAISE, topic == T.QUALITY, (topic == T.MIXED_OK) | (topic == T.PRICE)],
        [rng.integers(4, 6, N), rng.integers(1, 3, N), rng.integers(3, 5, N)],
        rng.integers(1, 6, N),
    )
    texts = T.review_texts(topic, rating, rng.integers(0, len(T.PRODUCTS), N), rng)
    return topic, rating, texts


@pytest.fixture(scope="module")
def reviews():
    return _reviews(seed=11)


def _has(pattern: re.Pattern, texts: np.ndarray) -> np.ndarray:
    return np.array([bool(pattern.search(t)) for t in texts])


def test_review_texts_are_deterministic_with_a_seed():
    assert (_reviews(seed=5)[2] == _reviews(seed=5)[2]).all()
    assert (_reviews(seed=5)[2] != _reviews(seed=6)[2]).mean() > 0.9


# phrasing: (pattern, the only ratings it may carry, the texts its share is of, share bounds)
CASES = {
    "sarcasm": (SARCASM, (1, 2), "low", (0.12, 0.3)),
    "negated bad words": (NEGATED_PRAISE, (4, 5), "praise", (0.08, 0.25)),
    "negated good words": (NEGATED_BAD, (1, 2), "quality", (0.08, 0.25)),
    "frame meaning praise": (PRAISE_FRAME, (4, 5), "praise", (0.15, 0.35)),
    "frame meaning complaint": (LOW_FRAME, (1, 2), "quality", (0.15, 0.35)),
}


@pytest.mark.parametrize("name", CASES)
def test_phrasing_appears_only_on_its_side_of_the_rating(reviews, name):
    topic, rating, texts = reviews
    pattern, ratings, share_of, share = CASES[name]
    has = _has(pattern, texts)
    assert set(np.unique(rating[has])) <= set(ratings), (name, texts[has & ~np.isin(rating, ratings)][:5])
    base = {"low": rating <= 2, "praise": topic == T.PRAISE, "quality": topic == T.QUALITY}[share_of]
    assert share[0] <= has[base].mean() <= share[1], (name, has[base].mean())


def test_frames_use_the_same_words_on_both_sides(reviews):
    """Bag of words cannot tell: each frame and each adjective occurs in praise and in complaints."""
    _, rating, texts = reviews
    for words in P.GOOD_ADJ + P.BAD_ADJ + ("I would not say the", "I would say the"):
        hit = np.array([words in t for t in texts])
        hit &= _has(PRAISE_FRAME, texts) | _has(LOW_FRAME, texts)
        assert (rating[hit] <= 2).any() and (rating[hit] >= 4).any(), words


def test_complaints_hidden_in_long_praise_keep_the_grievance(reviews):
    topic, rating, texts = reviews
    hidden = _has(HIDDEN, texts)
    griev = (topic == T.GRIEVANCE_DELIVERY) | (topic == T.GRIEVANCE_SUPPORT)
    assert not hidden[~griev].any(), texts[hidden & ~griev][:5]
    for r in range(1, 6):  # at every rating the rating logic gives a grievance review
        assert 0.12 <= hidden[griev & (rating == r)].mean() <= 0.4, r
    # long: at least two sentences (praise) before the complaint
    before = [t[: HIDDEN.search(t).start() + 1] for t in texts[hidden]]
    assert all(b.count(". ") >= 1 for b in before), [b for b in before if b.count(". ") < 1][:5]
    # grievance wording stays in every grievance review (3-4 stars: what text_signal looks for), never elsewhere
    mid = (rating >= 3) & (rating <= 4)
    says = np.array([bool(re.search(GRIEVANCE_PATTERN, t, flags=re.IGNORECASE)) for t in texts])
    assert says[griev & mid].all(), texts[griev & mid & ~says][:5]
    assert not says[~griev & mid].any(), texts[~griev & mid & says][:5]
