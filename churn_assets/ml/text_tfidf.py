"""The classic review-text candidate: TF-IDF n-grams + logistic regression, with C chosen by cross-validation.

    m = TfidfReviewClassifier().fit(texts, y)          # y: 1 = bad experience
    p_bad = m.predict_proba(texts)[:, 1]

Features: word 1-2-grams plus character n-grams within word boundaries (2-5) for languages written with
spaces; character 1-3-grams for text written without spaces between words (Chinese, Japanese, Korean),
where a "word" is a whole clause. ``language="auto"`` decides from the texts (``ml/languages.py``).
Both vectorizers use sublinear term frequency. ``C="auto"`` picks the inverse regularisation strength from
``C_GRID`` by stratified 3-fold cross-validated ROC AUC on the training texts (``GridSearchCV``),
then refits on all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import FeatureUnion

from churn_assets.ml.languages import dominant_language, is_unspaced
from churn_assets.ml.text import clean_texts

C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def tfidf_features(unspaced: bool) -> FeatureUnion:
    """The vectorizer: word + character-in-word n-grams, or character n-grams alone for unspaced scripts."""
    if unspaced:
        return FeatureUnion([("char", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True))])
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")),
            (
                "char",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, lowercase=True),
            ),
        ]
    )


class TfidfReviewClassifier(ClassifierMixin, BaseEstimator):
    """TF-IDF n-grams + logistic regression (sklearn contract; ``classes_`` = [0, 1], 1 = bad)."""

    vectorizer_: Any = None
    classifier_: Any = None
    language_: str | None = None
    C_: float | None = None

    def __init__(self, C: float | str = "auto", language: str = "auto", seed: int = 7) -> None:
        self.C = C
        self.language = language
        self.seed = seed

    def __sklearn_is_fitted__(self) -> bool:
        return self.classifier_ is not None

    @property
    def classes_(self) -> np.ndarray:
        if self.classifier_ is None:
            raise AttributeError("TfidfReviewClassifier: classes_ exists after fit")
        return np.array([0, 1])

    def fit(self, texts: Sequence[Any], y: ArrayLike) -> TfidfReviewClassifier:
        from sklearn.model_selection import StratifiedKFold

        texts = clean_texts(texts)
        y_arr = np.asarray(y, dtype=np.int64)
        if len(np.unique(y_arr)) < 2:
            raise ValueError("TfidfReviewClassifier: the labels hold a single class")
        self.language_ = dominant_language(texts) if self.language == "auto" else str(self.language)
        self.vectorizer_ = tfidf_features(is_unspaced(self.language_))
        X = self.vectorizer_.fit_transform(texts)
        folds = min(3, int(np.bincount(y_arr, minlength=2).min()))
        if self.C == "auto" and folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=int(self.seed))
            search = GridSearchCV(
                LogisticRegression(solver="liblinear", max_iter=2000, random_state=int(self.seed)),
                {"C": list(C_GRID)},
                cv=cv,
                scoring="roc_auc",
            )
            self.classifier_ = search.fit(X, y_arr).best_estimator_
            self.C_ = float(search.best_params_["C"])
        else:
            self.C_ = 4.0 if self.C == "auto" else float(self.C)
            self.classifier_ = LogisticRegression(
                C=self.C_, solver="liblinear", max_iter=2000, random_state=int(self.seed)
            ).fit(X, y_arr)
        return self

    def predict_proba(self, texts: Sequence[Any]) -> np.ndarray:
        if self.classifier_ is None:
            raise RuntimeError("TfidfReviewClassifier: call fit first")
        p = self.classifier_.predict_proba(self.vectorizer_.transform(clean_texts(texts)))[:, 1]
        return np.column_stack([1.0 - p, p])

    def predict(self, texts: Sequence[Any]) -> np.ndarray:
        return (self.predict_proba(texts)[:, 1] >= 0.5).astype(np.int64)
