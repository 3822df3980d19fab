"""Review phrasings that a bag of words cannot separate (tables for `text.py`).

- **Negation.** Happy customers use negated bad words ("not bad at all", "never had a problem with it",
  "nothing broke") and unhappy ones negated good words ("not great", "would not recommend", "not worth
  it", "never arrived on time"): the same content words on both sides of the rating.
- **Sarcasm.** Low-rated texts that open with praise words ("Great, another {p} that broke after a day.
  Just what I needed.").
- **A complaint hidden in a long positive review.** Several praise sentences, then the grievance near the
  end ("... Sadly it arrived two weeks late."). The rating still comes from the simulator's rating logic.

Shares (of the texts of each kind) are here too, so the mix can be read in one place.
"""

from __future__ import annotations

# shares of the relevant texts that use these phrasings
P_NEGATED_PRAISE = 0.15  # PRAISE reviews (ratings 4-5): "not bad at all"
P_FRAME_PRAISE = 0.25  # PRAISE reviews: "I would not say the {p} is flimsy." / "... is sturdy."
P_SARCASM = 0.2  # reviews rated 1-2 (product or grievance)
P_NEGATED_LOW = 0.15  # reviews rated 1-2: "not great", "would not recommend"
P_FRAME_LOW = 0.25  # product reviews rated 1-2: "I would not say the {p} is sturdy." / "... is flimsy."
P_HIDDEN = 0.25  # grievance reviews: the complaint near the end of a long positive text
P_TWO_GRIEVANCES = 0.3  # hidden delivery complaints that add a support one

# positive: negated bad words (no delivery or support wording: that marks a grievance)
NEGATED_PRAISE_MAIN = (
    "Not bad at all, the {p} is great.",
    "Never had a problem with the {p}.",
    "No complaints, nothing broke and the {p} still works like new.",
    "I was not disappointed with the {p}, not one bit.",
    "The {p} is not cheap or flimsy at all.",
    "Nothing wrong with the {p}, not a single issue.",
    "I cannot say anything bad about the {p}.",
    "The {p} did not fall apart like my old one, no regrets.",
    "I was not sure it would be worth it, but the {p} is great.",
)
NEGATED_PRAISE_EXTRA = (
    "",
    "",
    " Would not hesitate to recommend this shop.",
    " Could not be happier.",
    " Nothing to complain about.",
    " Not a single problem so far.",
)
# both sides: "I would say the {p} is flimsy." (low) and "I would not say the {p} is flimsy." (praise); each
# frame and each adjective occurs at both ends of the rating, so only their combination tells the side
AFFIRMED_FRAMES = (
    "I would say the {p} is {a}.",
    "I can say the {p} is {a}.",
    "I really think the {p} is {a}.",
    "I must say the {p} is {a}.",
)
NEGATED_FRAMES = (
    "I would not say the {p} is {a}.",
    "I cannot say the {p} is {a}.",
    "I really do not think the {p} is {a}.",
    "I would never say the {p} is {a}.",
)
AFFIRMED_FRAME_EXTRA = ("", "", " No doubt about it.", " Really.")
NEGATED_FRAME_EXTRA = ("", "", " Quite the opposite.", " Far from it.")
GOOD_ADJ = ("great", "comfortable", "well made", "worth the money", "sturdy", "good quality")
BAD_ADJ = ("bad", "flimsy", "cheap", "uncomfortable", "a waste of money", "poor quality")
# negative: negated good words
NEGATED_BAD_MAIN = (
    "Not great, the {p} is not what I hoped for.",
    "Would not recommend the {p}.",
    "The {p} is not worth it.",
    "Not happy with the {p} at all.",
    "The {p} does not work as described.",
    "Not good quality, the {p} never worked properly.",
    "I would never buy this {p} again.",
    "I cannot say I love the {p}.",
    "The {p} is not great and not worth the money.",
)
NEGATED_BAD_EXTRA = (
    "",
    " Would not recommend.",
    " Not worth it.",
    " Not great.",
    " Never again.",
    " Not impressed.",
)
NEGATED_LOW_LEAD = (
    "Not great. ",
    "Would not recommend this shop. ",
    "Not worth the wait. ",
    "Not happy at all. ",
    "Never again. ",
)
# 3-4 stars: "not great, not terrible" (lead-ins of "..., but <minor remark>.")
NEGATED_OK_MAIN = (
    "Not great, not terrible, the {p}",
    "The {p} is not amazing",
    "The {p} is not the best I have had",
)
# low-rated: praise words carrying a bad experience
SARCASM_QUALITY = (
    "Great, another {p} that broke after a day. Just what I needed.",
    "Love it when a brand new {p} falls apart in a week.",
    "Amazing quality, the {p} lasted two whole days.",
    "Excellent, the {p} stopped working the first time I used it.",
    "Perfect, exactly as described. If the description said broken.",
    "Wow, what a {p}. Worked perfectly for almost an hour.",
)
SARCASM_DELIVERY = (
    "Wonderful, waited three weeks for this {p}.",
    "Great, the {p} arrived a week after I needed it. Fast delivery indeed.",
    "Fantastic delivery, the box looked like someone sat on it.",
    "Perfect timing, the {p} showed up long after the birthday.",
    "Love how the delivery date keeps moving. Still waiting.",
)
# sarcastic lead-ins of a grievance ("Wonderful, it arrived two weeks late.")
SARCASM_OPENERS = ("Wonderful", "Fantastic service", "Great", "Perfect", "Brilliant", "Just what I needed")
SARCASM_SUPPORT = (
    "Fantastic service, nobody answered.",
    "Great service, five emails and not a single reply.",
    "Wonderful, support closed my ticket without reading it.",
    "Excellent customer service, if you like waiting on hold.",
    "Love the help chat, it answers every question with the same link.",
)
# long positive reviews: praise sentences without delivery or support wording, then the complaint
LONG_PRAISE = (
    "The {p} feels solid and well made.",
    "It looks exactly like the photos.",
    "My family loves it.",
    "Setup took five minutes.",
    "The colour is lovely.",
    "It is comfortable and easy to use.",
    "Good value for money.",
    "I use it every day.",
    "Quality is better than I expected.",
    "It is a real upgrade over my old one.",
)
HIDDEN_LEAD = (" Sadly ", " Unfortunately ", " The only thing: ", " One problem though: ", " But ")
HIDDEN_TAIL = ("", "", "", " Otherwise a lovely {p}.", " Shame, because the {p} is great.")
