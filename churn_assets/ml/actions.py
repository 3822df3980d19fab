"""Recommended retention action from a customer's risk tier and top reasons.

The rule table ``ACTION_RULES`` is read top to bottom; the first rule whose tier matches and whose
reason kinds intersect the customer's reason kinds (or that needs no particular kind) wins:

    tier            reason kinds among the top reasons     action
    high            service (complaints, late deliveries,  service follow-up call
                    low ratings, returns/refunds)
    high            price (discount share, searches        personal coupon
                    without purchase)
    high, medium    engagement (dropping visits, no        personalised recommendations e-mail
                    recent visit, fewer clicks/searches)
    high            any                                    personal coupon
    medium          any                                    loyalty reminder
    low             any                                    no action

Reason kinds come from the catalogue in ``reasons.py`` (``kind_of(feature)``). Pass another table as
``rules=`` to change the policy without touching code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from churn_assets.ml.reasons import kind_of
from churn_assets.ml.tiers import assign_tiers  # noqa: F401  (re-exported for convenience)


@dataclass(frozen=True)
class ActionRule:
    tiers: frozenset[str]
    kinds: frozenset[str] | None  # None: matches whatever the reasons are
    action: str


def rule(tiers: Iterable[str], kinds: Iterable[str] | None, action: str) -> ActionRule:
    return ActionRule(frozenset(tiers), None if kinds is None else frozenset(kinds), action)


NO_ACTION = "no action"

ACTION_RULES: tuple[ActionRule, ...] = (
    rule({"high"}, {"service"}, "service follow-up call"),
    rule({"high"}, {"price"}, "personal coupon"),
    rule({"high", "medium"}, {"engagement"}, "personalised recommendations e-mail"),
    rule({"high"}, None, "personal coupon"),
    rule({"medium"}, None, "loyalty reminder"),
    rule({"low"}, None, NO_ACTION),
)


def reason_kinds(reasons: Sequence[Any] | None) -> set[str]:
    """Kinds of a reason list: dicts with "kind" (or "feature"), or bare feature names."""
    kinds: set[str] = set()
    for r in reasons or ():
        if isinstance(r, str):
            kinds.add(kind_of(r))
        elif isinstance(r, dict):
            kinds.add(r.get("kind") or kind_of(str(r.get("feature", ""))))
    return kinds


def recommend_action(
    tier: str, reasons: Sequence[Any] | None = None, rules: Sequence[ActionRule] = ACTION_RULES
) -> str:
    kinds = reason_kinds(reasons)
    for r in rules:
        if tier in r.tiers and (r.kinds is None or r.kinds & kinds):
            return r.action
    return NO_ACTION


def recommend_actions(
    tiers: Sequence[str], reasons: Sequence[Sequence[Any]], rules: Sequence[ActionRule] = ACTION_RULES
) -> list[str]:
    if len(tiers) != len(reasons):
        raise ValueError("tiers and reasons must have the same length")
    return [recommend_action(t, r, rules) for t, r in zip(tiers, reasons, strict=False)]
