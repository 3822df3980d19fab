"""The review-text model against the classic baseline: ``tfidf_baseline`` (word 1-2-gram TF-IDF + logistic
regression with a fixed C, the script a user would write; same target: a bad experience, rating <= 2) and
``evaluate_text_models``, which fits ``ReviewSentimentModel`` on one stratified split and returns the held-out
ROC AUC of each of its candidates, of its selection and of the baseline."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from churn_assets.ml.text import ReviewSentimentModel, clean_texts, review_target


def tfidf_baseline(
    train_texts: Sequence[str], train_ratings: Sequence[int], test_texts: Sequence[str], C: float = 4.0
) -> np.ndarray:
    """P(bad experience) for ``test_texts`` from word 1-2-gram TF-IDF + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    y = review_target(train_ratings)
    test = clean_texts(test_texts)
    if len(np.unique(y)) < 2:
        return np.full(len(test), float(y.mean()) if len(y) else 0.5)
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, strip_accents="unicode")
    Xtr = vec.fit_transform(clean_texts(train_texts))
    clf = LogisticRegression(C=C, max_iter=2000)
    clf.fit(Xtr, y)
    return clf.predict_proba(vec.transform(test))[:, 1]


def evaluate_text_models(
    texts: Sequence[str], ratings: Sequence[Any], test_size: float = 0.3, seed: int = 7, **model_params: Any
) -> dict[str, Any]:
    """Fit ``ReviewSentimentModel`` on one stratified split and score it on the rest: the held-out ROC AUC
    of every candidate it fitted, of the one it selected, and of the word 1-2-gram TF-IDF baseline.

    Returns (flat, for MLflow) ``test_roc_auc_<candidate>``, ``test_roc_auc_selected``,
    ``test_roc_auc_baseline``, ``valid_roc_auc_<candidate>`` (the selection's own figures), ``selected``,
    ``language``, ``n_train``, ``n_test``, ``test_bad_share``, ``fit_seconds`` and
    ``predict_texts_per_second``. ``model_params`` go to ``ReviewSentimentModel`` (``seed`` is shared).
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    texts = clean_texts(texts)
    ratings = list(ratings)
    y = review_target(ratings)
    idx = np.arange(len(texts))
    stratify = y if np.bincount(y, minlength=2).min() >= 2 else None
    tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=stratify)
    tr_texts, te_texts = [texts[i] for i in tr], [texts[i] for i in te]
    tr_ratings = [ratings[i] for i in tr]
    model = ReviewSentimentModel(seed=seed, **model_params).fit(tr_texts, tr_ratings)
    info = model.training_info_ or {}
    y_te = y[te]

    def auc(p: np.ndarray) -> float:
        return float(roc_auc_score(y_te, p)) if len(np.unique(y_te)) == 2 else float("nan")

    t = time.perf_counter()
    p_selected = model.predict_bad(te_texts)
    pred_seconds = time.perf_counter() - t
    out: dict[str, Any] = {f"test_roc_auc_{k}": auc(p) for k, p in model.candidate_scores(te_texts).items()}
    out["test_roc_auc_selected"] = auc(p_selected)
    out["test_roc_auc_baseline"] = auc(tfidf_baseline(tr_texts, tr_ratings, te_texts))
    out.update({f"valid_roc_auc_{k}": v for k, v in (model.candidates_ or {}).items()})
    return {
        **out,
        "selected": model.selected_,
        "language": model.language_,
        "n_train": int(len(tr)),
        "n_test": int(len(te)),
        "test_bad_share": float(y_te.mean()),
        "fit_seconds": float(info.get("fit_seconds", float("nan"))),
        "predict_texts_per_second": len(te) / max(pred_seconds, 1e-9),
    }
