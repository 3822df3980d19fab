"""How ``ReviewSentimentModel.fit`` (``ml/text.py``) fits its candidates and keeps the best on held-out reviews."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from churn_assets.ml.languages import dominant_language

if TYPE_CHECKING:
    from churn_assets.ml.text import ReviewSentimentModel

log = logging.getLogger(__name__)

# the languages the packaged all-MiniLM-L6-v2 was trained on; a model_path of the user's is tried on any language
PACKAGED_ENCODER_LANGUAGES = frozenset({"en"})
_MIN_PER_CLASS = 5  # held-out reviews per class needed to compare candidates at all
_STACK_FOLDS = 5


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def validation_split(y: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) row indices; an empty validation when a class is too small to split."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    n_valid = int(round(len(y) * float(share)))
    per_class = np.bincount(y, minlength=2)
    if share <= 0 or n_valid < 2 * _MIN_PER_CLASS or per_class.min() < 2 * _MIN_PER_CLASS:
        return rows, rows[:0]
    train, valid = train_test_split(rows, test_size=n_valid, random_state=int(seed), stratify=y)
    return np.sort(train), np.sort(valid)


def stack(p_tfidf: np.ndarray, p_encoder: np.ndarray, y: np.ndarray, seed: int) -> tuple[dict, float]:
    """A logistic regression over both candidates' held-out logits: its weights, and its AUC cross-validated
    within those held-out reviews (the stacker never scores a review it was fitted on)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from churn_assets.ml.text import logit

    X = np.column_stack([logit(p_tfidf), logit(p_encoder)])
    folds = min(_STACK_FOLDS, int(np.bincount(y, minlength=2).min()))
    cv = StratifiedKFold(folds, shuffle=True, random_state=int(seed))
    oof = cross_val_predict(LogisticRegression(), X, y, cv=cv, method="predict_proba")[:, 1]
    final = LogisticRegression().fit(X, y)
    weights = {"coef": final.coef_[0].tolist(), "intercept": float(final.intercept_[0])}
    return weights, _auc(y, oof)


def encoder_skip_reason(model: ReviewSentimentModel, language: str) -> str | None:
    if model.model_path is None and language not in PACKAGED_ENCODER_LANGUAGES:
        return (
            f"the packaged all-MiniLM-L6-v2 reads English and the reviews are mostly '{language}'; "
            "set model_path to a local multilingual model to try an encoder"
        )
    return None


def fit_candidates(model: ReviewSentimentModel, texts: list[str], y: np.ndarray) -> None:
    """Fit the candidates on the training part, score them on the held-out part, keep the best."""
    from churn_assets.ml.text_tfidf import TfidfReviewClassifier

    model.language_ = dominant_language(texts) if model.language == "auto" else str(model.language)
    train, valid = validation_split(y, model.validation_share, model.seed)
    tr_texts, va_texts = [texts[i] for i in train], [texts[i] for i in valid]
    y_tr, y_va = y[train], y[valid]
    wanted = [c for c in ("tfidf", "encoder", "stacked") if c in model.candidates]
    skipped: dict[str, str] = {}
    valid_scores: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    if "encoder" in wanted and (why := encoder_skip_reason(model, model.language_)):
        skipped["encoder"] = why
    # stacking needs both base models; asked for alone it still fits them
    need_tfidf = "tfidf" in wanted or "stacked" in wanted
    need_encoder = ("encoder" in wanted or "stacked" in wanted) and "encoder" not in skipped
    if need_tfidf:
        t = time.perf_counter()
        model.tfidf_ = TfidfReviewClassifier(language=model.language_, seed=model.seed).fit(tr_texts, y_tr)
        seconds["tfidf"] = time.perf_counter() - t
        if len(valid):
            valid_scores["tfidf"] = model.tfidf_.predict_proba(va_texts)[:, 1]
    if need_encoder:
        t = time.perf_counter()
        eval_set = (va_texts, y_va) if len(valid) else None
        model.encoder_model_ = model.encoder().fit(tr_texts, y_tr, eval_set=eval_set)
        seconds["encoder"] = time.perf_counter() - t
        if len(valid):
            valid_scores["encoder"] = model.encoder_model_.predict_bad(va_texts)
    aucs = {name: _auc(y_va, p) for name, p in valid_scores.items()}
    if "stacked" in wanted:
        if "tfidf" in valid_scores and "encoder" in valid_scores:
            model.stacker_, aucs["stacked"] = stack(valid_scores["tfidf"], valid_scores["encoder"], y_va, model.seed)
        else:
            skipped["stacked"] = skipped.get("encoder") or "too few held-out reviews to fit the stacker"
    model.candidates_ = {name: aucs[name] for name in wanted if name in aucs}
    model.skipped_ = skipped
    model.selected_ = _select(model, wanted, skipped)
    if model.selected_ == "tfidf" and len(valid):  # the winner alone: refit on every review
        model.tfidf_ = TfidfReviewClassifier(language=model.language_, seed=model.seed).fit(texts, y)
    log.info("review-text candidates (held-out AUC): %s; selected %s", model.candidates_, model.selected_)
    model.training_info_ = _training_info(model, len(train), len(valid), seconds)


def _select(model: ReviewSentimentModel, wanted: list[str], skipped: dict[str, str]) -> str:
    """The candidate with the best held-out AUC; ties (and a missing comparison) go to the simpler one."""
    assert model.candidates_ is not None
    scored = {k: v for k, v in model.candidates_.items() if np.isfinite(v)}
    if scored:
        best = max(scored.values())
        return next(name for name in wanted if scored.get(name) == best)
    fitted = [name for name in wanted if name not in skipped and name != "stacked"]
    if not fitted:
        raise ValueError(f"no review-text candidate could be fitted: {skipped}")
    return fitted[0]


def _training_info(model: ReviewSentimentModel, n_train: int, n_valid: int, seconds: dict[str, float]) -> dict:
    info: dict = {
        "selected": model.selected_,
        "language": model.language_,
        "train_texts": n_train,
        "validation_texts": n_valid,
        **{f"valid_roc_auc_{k}": v for k, v in (model.candidates_ or {}).items()},
        **{f"fit_seconds_{k}": v for k, v in seconds.items()},
    }
    if model.tfidf_ is not None:
        info["tfidf_C"] = model.tfidf_.C_
    enc = model.encoder_model_
    if enc is not None and enc.training_info_:
        info.update({f"encoder_{k}": v for k, v in enc.training_info_.items()})
        info["device"] = enc.training_info_.get("device", "")
    return info
