"""A small template grammar for English review, complaint and question texts (vectorized).

The wording carries information the rating does not: a 3-4 star review that says "arrived two weeks
late" or "support never answered" belongs to a customer with a (latent) grievance, while a 3-4 star
review with a product-only remark ("the colour is a bit off") does not. Both share the same sentence
frames, openers and closers, and positive texts reuse words like "delivery" and "arrived", so a text
model has to read the phrase, not spot a keyword. On top, `text_phrasings` mixes in wording that a bag of
words cannot separate: negation on both sides ("not bad at all" / "not great"), sarcasm in low-rated texts
("Great, another {p} that broke after a day.") and complaints hidden near the end of long positive reviews.
"""

from __future__ import annotations

import numpy as np

from churn_assets.simulate import text_phrasings as P

# topics of a text
PRAISE, MIXED_OK, QUALITY, PRICE, GRIEVANCE_DELIVERY, GRIEVANCE_SUPPORT = 0, 1, 2, 3, 4, 5
C_DELIVERY, C_SUPPORT, C_QUALITY, C_REFUND, C_CANCEL = 10, 11, 12, 13, 14
QUESTION = 20

PRODUCTS = (
    ("headphones", "charger", "phone case", "keyboard", "speaker", "smartwatch", "usb cable", "mouse"),
    ("jacket", "dress", "sneakers", "jeans", "scarf", "shirt", "hoodie", "boots"),
    ("lamp", "pillow", "frying pan", "curtains", "storage box", "kettle", "towel set", "vase"),
    ("face cream", "shampoo", "perfume", "lipstick", "serum", "hand soap", "hair oil", "sunscreen"),
    ("yoga mat", "running shoes", "dumbbells", "water bottle", "bike helmet", "tennis racket", "backpack"),
    ("book", "novel", "cookbook", "notebook", "comic", "travel guide", "calendar"),
    ("puzzle", "board game", "building set", "plush toy", "toy car", "doll", "kite"),
    ("coffee beans", "green tea", "olive oil", "snack box", "pasta", "chocolate", "spice set"),
)

OPENERS = (
    "",
    "",
    "",
    "Honestly, ",
    "Well, ",
    "So, ",
    "Ordered this for my partner. ",
    "Second order here. ",
    "Bought this as a gift. ",
    "First time buying from this shop. ",
    "Update: ",
    "Quick review: ",
    "I was looking for this for a while. ",
    "Got it last week. ",
)
CLOSERS = (
    "",
    "",
    "",
    " Thanks.",
    " Just my two cents.",
    " That is all.",
    " Keep that in mind.",
    " Ordered on a weekday, if that matters.",
    " Posting this for other buyers.",
)
PRAISE_MAIN = (
    "Love the {p}.",
    "Great {p}, exactly as described.",
    "The {p} works perfectly.",
    "Really happy with this {p}.",
    "Excellent quality {p}.",
    "The {p} exceeded my expectations.",
    "Would buy this {p} again.",
    "Best {p} I have owned.",
    "The {p} looks even better in person.",
    "Wonderful {p}.",
    "Fantastic service and a lovely {p}.",
    "Perfect, exactly as described.",
)
PRAISE_EXTRA = (
    "",
    "",
    " Fast delivery too.",
    " Arrived quickly and well packed.",
    " Highly recommend.",
    " My family loves it.",
    " Good value for money.",
    " The delivery was on time.",
    " Nice packaging as well.",
    " No complaints at all.",
    " Just what I needed.",
    " Worked perfectly from the first day.",
)
OK_MAIN = (
    "The {p} is okay",
    "The {p} is decent",
    "The {p} does the job",
    "Fine {p} overall",
    "The {p} is alright for the price",
    "Not bad, the {p} is usable",
    "The {p} is as expected",
    "The {p} itself is fine",
    "Good {p} in general",
) + P.NEGATED_OK_MAIN
MINOR = (
    "the colour is a bit different from the photos",
    "it is smaller than I thought",
    "the material feels a little thin",
    "the instructions could be clearer",
    "the size runs slightly large",
    "it smells a bit at first",
    "it could last longer",
    "the design is rather plain",
    "nothing special really",
    "it is heavier than expected",
    "the finish has a tiny scratch",
    "the buttons feel cheap",
    "it is not worth the full price",
    "I would not recommend it for heavy use",
    "it was not great at first",
)
GRIEVANCE_DELIVERY_TEXT = (
    "it arrived two weeks late",
    "the parcel was damaged when it came",
    "the courier left it at the wrong address",
    "tracking said delivered but it only showed up days later",
    "the box was crushed in transit",
    "delivery took forever",
    "I waited ages for the parcel",
    "half of the order was missing from the box",
    "it came a week after the promised date",
    "the courier never rang the bell and took it back",
    "my orders never arrived on time",
    "the delivery was not on time at all",
)
GRIEVANCE_SUPPORT_TEXT = (
    "support never answered my emails",
    "customer service was useless when I asked about it",
    "nobody from support replied to my question",
    "the help chat kept sending me in circles",
    "I had to contact support three times",
    "the support team closed my ticket without an answer",
    "the hotline put me on hold for an hour",
    "customer service promised a call back that never came",
    "support was not helpful at all",
    "customer service was not great either",
)
QUALITY_MAIN = (
    "The {p} broke after a week.",
    "The {p} stopped working after two days.",
    "Cheap material, the {p} fell apart.",
    "The {p} looks nothing like the pictures.",
    "Poor quality {p}.",
    "The {p} is flimsy and uncomfortable.",
    "The {p} is not what I ordered in terms of quality.",
)
QUALITY_EXTRA = (" Very disappointed.", " Not worth the money.", " Would not buy again.", " Avoid.", "", " Sad.")
PRICE_MAIN = (
    "The {p} is good but a bit pricey.",
    "Only bought the {p} because of the discount.",
    "Decent {p} for the price.",
    "The {p} costs more than in other shops.",
    "Fair price for the {p}.",
    "Not worth the full price, but the {p} is fine.",
)
COMPLAINT = {
    C_DELIVERY: (
        "About my {p}: {g}.",
        "Order problem: {g}.",
        "Not acceptable, {g}.",
        "Second time this happens: {g}.",
        "I want a solution, {g}.",
    ),
    C_SUPPORT: (
        "About my {p} order: {s}.",
        "Really frustrated, {s}.",
        "Not acceptable, {s}.",
        "Complaint: {s}.",
    ),
    C_QUALITY: (
        "The {p} arrived broken.",
        "The {p} is defective.",
        "Wrong size {p} was sent.",
        "The {p} does not work at all.",
    ),
    C_REFUND: (
        "Still waiting for my refund for the {p}.",
        "The return process for the {p} is a nightmare.",
        "I sent the {p} back two weeks ago and heard nothing.",
        "Where is my money for the returned {p}?",
    ),
    C_CANCEL: (
        "My {p} order was cancelled without any explanation.",
        "Why was my order cancelled?",
        "The shop cancelled my {p} order twice.",
    ),
}
QUESTIONS = (
    "Does the {p} come in other sizes?",
    "Is the {p} compatible with older models?",
    "When will the {p} be back in stock?",
    "Can I change the delivery address for my order?",
    "How long does delivery usually take?",
    "Is there a warranty on the {p}?",
    "Can I pay the {p} by invoice?",
    "Is the {p} suitable as a gift?",
    "Do you ship the {p} abroad?",
    "What material is the {p} made of?",
)


def _pick(options: tuple[str, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    arr = np.asarray(options)
    return arr[rng.integers(0, len(arr), size=n)]


def product_names(category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(len(category))
    out = np.empty(len(category), dtype=object)
    for c, names in enumerate(PRODUCTS):  # loop over 8 categories, not over rows
        sel = category == c
        out[sel] = np.asarray(names)[(u[sel] * len(names)).astype(int)]
    return out.astype(str)


def _cap(s: np.ndarray) -> np.ndarray:
    return np.strings.add(np.strings.upper(np.strings.slice(s, 0, 1)), np.strings.slice(s, 1, None))


def _ok_but(n: int, tail: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.strings.add(np.strings.add(_pick(OK_MAIN, n, rng), ", but "), np.strings.add(tail, "."))


def _join(*parts: np.ndarray | str) -> np.ndarray:
    out = np.asarray(parts[0]).astype(str)
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out


def _distinct_picks(options: tuple[str, ...], n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """k different options per row (steps of 1 .. (len-1)//(k-1) from a random start never wrap around)."""
    arr = np.asarray(options)
    idx = rng.integers(0, len(arr), size=n)
    out = [arr[idx]]
    for _ in range(k - 1):
        idx = idx + rng.integers(1, (len(arr) - 1) // (k - 1) + 1, size=n)
        out.append(arr[idx % len(arr)])
    return out


def _opinion_frame(meant: tuple[str, ...], opposite: tuple[str, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """Half "I would say the {p} is <meant>.", half "I would not say the {p} is <opposite>.": frames and
    adjectives occur on both sides of the rating, only their combination tells them apart."""
    negated = rng.random(n) < 0.5
    frame = np.where(negated, _pick(P.NEGATED_FRAMES, n, rng), _pick(P.AFFIRMED_FRAMES, n, rng))
    extra = np.where(negated, _pick(P.NEGATED_FRAME_EXTRA, n, rng), _pick(P.AFFIRMED_FRAME_EXTRA, n, rng))
    adjective = np.where(negated, _pick(opposite, n, rng), _pick(meant, n, rng))
    return _join(np.strings.replace(frame, "{a}", adjective), extra)


def _mix(u: np.ndarray, shares: tuple[float, ...], choices: list[np.ndarray], default: np.ndarray) -> np.ndarray:
    """choices[k] where u falls in the k-th share (cumulative), else default."""
    return np.select([u < c for c in np.cumsum(shares)], choices, default)


def _topic_bodies(topic: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Texts of the topics without a grievance; some praise says it with negated bad words, some product
    complaints with negated good words or sarcasm."""
    u = rng.random(n)
    praise = _mix(
        u,
        (P.P_NEGATED_PRAISE, P.P_FRAME_PRAISE),
        [
            _join(_pick(P.NEGATED_PRAISE_MAIN, n, rng), _pick(P.NEGATED_PRAISE_EXTRA, n, rng)),
            _opinion_frame(P.GOOD_ADJ, P.BAD_ADJ, n, rng),
        ],
        _join(_pick(PRAISE_MAIN, n, rng), _pick(PRAISE_EXTRA, n, rng)),
    )
    quality = _mix(
        u,
        (P.P_SARCASM, P.P_NEGATED_LOW, P.P_FRAME_LOW),
        [
            _pick(P.SARCASM_QUALITY, n, rng),
            _join(_pick(P.NEGATED_BAD_MAIN, n, rng), _pick(P.NEGATED_BAD_EXTRA, n, rng)),
            _opinion_frame(P.BAD_ADJ, P.GOOD_ADJ, n, rng),
        ],
        _join(_pick(QUALITY_MAIN, n, rng), _pick(QUALITY_EXTRA, n, rng)),
    )
    body = np.empty(n, dtype=object)
    candidates = {PRAISE: praise, MIXED_OK: _ok_but(n, _pick(MINOR, n, rng), rng), QUALITY: quality}
    candidates[PRICE] = _pick(PRICE_MAIN, n, rng)
    for code, text in candidates.items():
        body[topic == code] = text[topic == code]
    return body


def _hidden_complaint(topic: np.ndarray, grievance_text: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A long positive review with the grievance near the end."""
    n = len(topic)
    second, third = _distinct_picks(P.LONG_PRAISE, n, 2, rng)
    first = _join(_pick(PRAISE_MAIN, n, rng), " ", second)
    praise = np.where(rng.random(n) < 0.5, first, _join(first, " ", third))
    also_support = (topic == GRIEVANCE_DELIVERY) & (rng.random(n) < P.P_TWO_GRIEVANCES)
    grievance = np.where(
        also_support, _join(grievance_text, " and ", _pick(GRIEVANCE_SUPPORT_TEXT, n, rng)), grievance_text
    )
    return _join(praise, _pick(P.HIDDEN_LEAD, n, rng), grievance, ".", _pick(P.HIDDEN_TAIL, n, rng))


def _grievance_bodies(
    topic: np.ndarray, rating: np.ndarray, grievance_text: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Texts of grievance reviews by rating: plain, hidden in praise, and (rated 1-2) sarcastic or negated."""
    n = len(topic)
    u = rng.random(n)
    plain_low = _join(_cap(grievance_text), ".", _pick(QUALITY_EXTRA, n, rng))
    written = np.where(topic == GRIEVANCE_SUPPORT, _pick(P.SARCASM_SUPPORT, n, rng), _pick(P.SARCASM_DELIVERY, n, rng))
    sarcasm = np.where(rng.random(n) < 0.5, written, _join(_pick(P.SARCASM_OPENERS, n, rng), ", ", grievance_text, "."))
    negated = _join(_pick(P.NEGATED_LOW_LEAD, n, rng), _cap(grievance_text), ".")
    hidden = _hidden_complaint(topic, grievance_text, rng)
    low = _mix(u, (P.P_SARCASM, P.P_HIDDEN, P.P_NEGATED_LOW), [sarcasm, hidden, negated], plain_low)
    mid = np.where(u < P.P_HIDDEN, hidden, _ok_but(n, grievance_text, rng))
    high = np.where(u < P.P_HIDDEN, hidden, _join(_pick(PRAISE_MAIN, n, rng), " Only downside: ", grievance_text, "."))
    return np.select([rating <= 2, rating <= 4], [low, mid], high)


def review_texts(topic: np.ndarray, rating: np.ndarray, category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One text per row; `topic` is one of PRAISE .. GRIEVANCE_SUPPORT."""
    n = len(topic)
    if n == 0:
        return np.array([], dtype=str)
    grievance_text = np.where(
        topic == GRIEVANCE_SUPPORT, _pick(GRIEVANCE_SUPPORT_TEXT, n, rng), _pick(GRIEVANCE_DELIVERY_TEXT, n, rng)
    )
    griev = (topic == GRIEVANCE_DELIVERY) | (topic == GRIEVANCE_SUPPORT)
    body = np.where(griev, _grievance_bodies(topic, rating, grievance_text, rng), _topic_bodies(topic, n, rng))
    opener = _pick(OPENERS, n, rng)
    body = body.astype(str)
    lower_first = np.strings.endswith(opener, ", ") & ~np.strings.startswith(body, "I ")
    body = np.where(
        lower_first,
        np.strings.add(np.strings.lower(np.strings.slice(body, 0, 1)), np.strings.slice(body, 1, None)),
        body,
    )
    text = np.strings.add(np.strings.add(opener, body), _pick(CLOSERS, n, rng))
    return _fill_products(text, category, rng)


def complaint_texts(topic: np.ndarray, category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(topic)
    if n == 0:
        return np.array([], dtype=str)
    text = np.empty(n, dtype=object)
    for code, frames in COMPLAINT.items():
        sel = topic == code
        text[sel] = _pick(frames, int(sel.sum()), rng)
    text = text.astype(str)
    text = np.strings.replace(text, "{g}", _pick(GRIEVANCE_DELIVERY_TEXT, n, rng))
    text = np.strings.replace(text, "{s}", _pick(GRIEVANCE_SUPPORT_TEXT, n, rng))
    text = np.strings.add(text, _pick(("", "", " Please help.", " I expect an answer.", " Thanks."), n, rng))
    return _fill_products(text, category, rng)


def question_texts(category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _fill_products(_pick(QUESTIONS, len(category), rng), category, rng)


def _fill_products(text: np.ndarray, category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if len(text) == 0:
        return text.astype(str)
    return np.strings.replace(text.astype(str), "{p}", product_names(category, rng))
