"""Review-text model: reads a bad experience in what a customer wrote, with whichever reader is best on the shop's
own reviews.

    from churn_assets.ml.text import ReviewSentimentModel
    m = ReviewSentimentModel().fit(texts, ratings)   # target: bad experience = rating <= 2 (or 0/1 labels, 1 = bad)
    m.selected_, m.candidates_                        # e.g. "stacked", {"tfidf": 0.91, "encoder": 0.88, "stacked": 0.93}
    p_bad = m.predict_bad(texts)                      # shape (n,); predict_proba: (n, 2), column 1
    m.save(path); m = ReviewSentimentModel.load(path)
    ReviewSentimentModel(model_path="/models/paraphrase-multilingual-MiniLM-L12-v2",  # any local encoder
                         encoder_params={"epochs": 2, "fine_tune_layers": 4})       # see ml/text_encoder.py

``fit`` holds out ``validation_share`` of the reviews (stratified) and fits three candidates on the rest:

- ``tfidf``: TF-IDF word + character n-grams and logistic regression (``ml/text_tfidf.py``); character n-grams
  alone for languages written without spaces (Chinese, Japanese, Korean);
- ``encoder``: a pretrained BERT-family encoder, fine-tuned (``ml/text_encoder.py``; early stopping on the
  held-out reviews). The packaged all-MiniLM-L6-v2 reads English only, so it is skipped (``skipped_`` says why)
  when the shop's dominant language is not English; point ``model_path`` at a local multilingual model to
  use one;
- ``stacked``: a logistic regression over both candidates' logits, trained on their held-out predictions
  (which neither saw in training); its own AUC is cross-validated within the held-out reviews.

It keeps the candidate with the best held-out ROC AUC (ties go to the simpler one, in the order above):
``selected_`` names it, ``candidates_`` holds each candidate's held-out AUC, ``language_`` the dominant
language. When TF-IDF alone wins it is refitted on all the reviews. ``candidate_scores(texts)`` gives
every fitted candidate's P(bad) (before saving; the saved form keeps what the winner needs).

Saved form (a directory): ``text_model.json`` (parameters, selection, training info), plus the winner's parts:
``tfidf.joblib``; ``encoder/`` and ``head.safetensors``; both for ``stacked`` (its weights are in the JSON).
A directory saved by earlier versions (an encoder alone) still loads.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin

log = logging.getLogger(__name__)

BAD_RATING_MAX = 2
STATE_JSON = "text_model.json"
TFIDF_FILE = "tfidf.joblib"
CANDIDATES = ("tfidf", "encoder", "stacked")


def bad_experience(ratings: ArrayLike) -> np.ndarray:
    """The target from star ratings: 1 when the rating is <= 2 (of 5)."""
    r = np.asarray(ratings, dtype="float64")
    if np.isnan(r).any():
        raise ValueError("ratings contain missing values")
    return (r <= BAD_RATING_MAX).astype(np.int64)


def review_target(ratings_or_labels: ArrayLike) -> np.ndarray:
    """1 = bad experience: 0/1 labels are taken as they are (1 = bad), star ratings become ``bad_experience``."""
    r = np.asarray(ratings_or_labels, dtype="float64")
    if len(r) and not np.isnan(r).any() and set(np.unique(r).tolist()) <= {0.0, 1.0} and (r == 0).any():
        return r.astype(np.int64)
    return bad_experience(r)


def clean_texts(texts: Sequence[Any]) -> list[str]:
    out = []
    for t in texts:
        if t is None or (isinstance(t, float) and t != t):
            out.append("")
        else:
            out.append(str(t))
    return out


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class ReviewSentimentModel(ClassifierMixin, BaseEstimator):
    # fitted state (class-level None: an unfitted model's __dict__ holds its parameters only)
    selected_: str | None = None
    candidates_: dict[str, float] | None = None
    skipped_: dict[str, str] | None = None
    language_: str | None = None
    tfidf_: Any = None
    encoder_model_: Any = None
    stacker_: dict[str, Any] | None = None
    training_info_: dict[str, Any] | None = None

    def __init__(
        self,
        candidates: Sequence[str] = CANDIDATES,
        validation_share: float = 0.2,
        language: str = "auto",
        model_path: str | None = None,
        encoder_params: dict[str, Any] | None = None,
        seed: int = 7,
        progress: bool = True,
    ) -> None:
        self.candidates = candidates
        self.validation_share = validation_share
        self.language = language
        self.model_path = model_path
        self.encoder_params = encoder_params
        self.seed = seed
        self.progress = progress

    def __sklearn_is_fitted__(self) -> bool:
        return self.selected_ is not None

    @property
    def classes_(self) -> np.ndarray:
        if not self.__sklearn_is_fitted__():
            raise AttributeError("ReviewSentimentModel: classes_ exists after fit")
        return np.array([0, 1])

    def encoder(self):
        """The unfitted encoder candidate: ``encoder_params`` plus this model's ``model_path``, seed and progress."""
        from churn_assets.ml.text_encoder import EncoderReviewClassifier

        shared = {"model_path": self.model_path, "seed": self.seed, "progress": self.progress}
        return EncoderReviewClassifier(**{**(self.encoder_params or {}), **shared})

    # ---- fit --------------------------------------------------------------------------------
    def fit(self, texts: Sequence[Any], ratings: Sequence[Any]) -> ReviewSentimentModel:
        from churn_assets.ml.text_selection import fit_candidates

        unknown = set(self.candidates) - set(CANDIDATES)
        if unknown or not self.candidates:
            raise ValueError(f"candidates must be a non-empty subset of {CANDIDATES}, got {list(self.candidates)}")
        texts = clean_texts(texts)
        y = review_target(ratings)
        if len(texts) != len(y):
            raise ValueError(f"{len(texts)} texts but {len(y)} ratings")
        if len(np.unique(y)) < 2:
            raise ValueError("the ratings hold a single class (need both rating <= 2 and > 2)")
        started = time.perf_counter()
        fit_candidates(self, texts, y)
        assert self.training_info_ is not None
        self.training_info_["fit_seconds"] = time.perf_counter() - started
        return self

    # ---- predict ----------------------------------------------------------------------------
    def candidate_scores(self, texts: Sequence[Any]) -> dict[str, np.ndarray]:
        """P(bad experience) per text from every fitted candidate (the stacker needs both base models)."""
        texts = clean_texts(texts)
        out: dict[str, np.ndarray] = {}
        if self.tfidf_ is not None:
            out["tfidf"] = self.tfidf_.predict_proba(texts)[:, 1]
        if self.encoder_model_ is not None:
            out["encoder"] = self.encoder_model_.predict_bad(texts)
        if self.stacker_ is not None and "tfidf" in out and "encoder" in out:
            out["stacked"] = self.stacked(out["tfidf"], out["encoder"])
        return out

    def stacked(self, p_tfidf: np.ndarray, p_encoder: np.ndarray) -> np.ndarray:
        assert self.stacker_ is not None
        w = np.asarray(self.stacker_["coef"], dtype=np.float64)
        z = self.stacker_["intercept"] + w[0] * logit(p_tfidf) + w[1] * logit(p_encoder)
        return 1.0 / (1.0 + np.exp(-z))

    def predict_bad(self, texts: Sequence[Any]) -> np.ndarray:
        """P(bad experience) per text from the selected candidate, shape (n,)."""
        if not self.__sklearn_is_fitted__():
            raise RuntimeError("ReviewSentimentModel: call fit or load first")
        texts = clean_texts(texts)
        if not texts:
            return np.empty(0, dtype=np.float64)
        if self.selected_ == "tfidf":
            return self.tfidf_.predict_proba(texts)[:, 1]
        if self.selected_ == "encoder":
            return self.encoder_model_.predict_bad(texts)
        return self.stacked(self.tfidf_.predict_proba(texts)[:, 1], self.encoder_model_.predict_bad(texts))

    def predict_proba(self, texts: Sequence[Any]) -> np.ndarray:
        """(n, 2): column 0 = P(good), column 1 = P(bad experience)."""
        p = self.predict_bad(texts)
        return np.column_stack([1.0 - p, p])

    def predict(self, texts: Sequence[Any]) -> np.ndarray:
        """1 = bad experience (P(bad) >= 0.5)."""
        return (self.predict_bad(texts) >= 0.5).astype(np.int64)

    # ---- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        import joblib

        if not self.__sklearn_is_fitted__():
            raise RuntimeError("ReviewSentimentModel: call fit first")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state: dict[str, Any] = {
            "class": "churn_assets.ml.text:ReviewSentimentModel",
            "params": {**self.get_params(), "candidates": list(self.candidates)},
            "selected": self.selected_,
            "candidates": self.candidates_,
            "skipped": self.skipped_,
            "language": self.language_,
            "training_info": self.training_info_,
        }
        if self.selected_ in ("tfidf", "stacked"):
            joblib.dump(self.tfidf_, path / TFIDF_FILE)
        if self.selected_ in ("encoder", "stacked"):
            state["encoder"] = self.encoder_model_.save(path)
        if self.selected_ == "stacked":
            state["stacker"] = self.stacker_
        (path / STATE_JSON).write_text(json.dumps(state, indent=2, default=str))
        return path

    @classmethod
    def load(cls, path: str | Path) -> ReviewSentimentModel:
        import joblib

        from churn_assets.ml.text_encoder import EncoderReviewClassifier

        path = Path(path)
        state = json.loads((path / STATE_JSON).read_text())
        if "selected" not in state:  # saved before the selection: a fine-tuned encoder alone
            state = {"selected": "encoder", "encoder": state, "params": {}, "training_info": state.get("training_info")}
        known = cls().get_params()
        params = {k: v for k, v in state.get("params", {}).items() if k in known}
        if "candidates" in params:
            params["candidates"] = tuple(params["candidates"])  # a tuple, as constructed (JSON has lists)
        obj = cls(**params)
        obj.selected_ = state["selected"]
        obj.candidates_ = state.get("candidates") or {}
        obj.skipped_ = state.get("skipped") or {}
        obj.language_ = state.get("language")
        obj.training_info_ = state.get("training_info") or {}
        if obj.selected_ in ("tfidf", "stacked"):
            obj.tfidf_ = joblib.load(path / TFIDF_FILE)
        if obj.selected_ in ("encoder", "stacked"):
            obj.encoder_model_ = EncoderReviewClassifier.load(path, state["encoder"])
        obj.stacker_ = state.get("stacker")
        return obj
