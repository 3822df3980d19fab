"""The champion rule: best on validation, and it must beat the current champion on the same test window."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    name: str
    valid_auc: float
    test_auc: float
    run_id: str = ""
    model_uri: str = ""


@dataclass(frozen=True)
class ChampionDecision:
    challenger: Candidate
    champion_test_auc: float | None  # the current champion re-scored on this test window; None = no champion
    promote: bool
    reason: str


def decide_champion(
    candidates: list[Candidate], champion_test_auc: float | None, min_gain: float = 0.0
) -> ChampionDecision:
    if not candidates:
        raise ValueError("no candidate models to choose a champion from")
    best = max(candidates, key=lambda c: (c.valid_auc, c.test_auc))
    if champion_test_auc is None:
        return ChampionDecision(best, None, True, f"{best.name} is best on validation and there is no champion yet")
    if best.test_auc > champion_test_auc + min_gain:
        return ChampionDecision(
            best,
            champion_test_auc,
            True,
            f"{best.name} (test AUC {best.test_auc:.4f}) beats the champion ({champion_test_auc:.4f}) on the same test window",
        )
    return ChampionDecision(
        best,
        champion_test_auc,
        False,
        f"{best.name} (test AUC {best.test_auc:.4f}) does not beat the champion ({champion_test_auc:.4f}); champion kept",
    )
