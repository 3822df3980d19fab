"""Behaviour BERT: a small BERT over each user's event-token history, pretrained with masked tokens,
then fine-tuned on the churn label. Registered lazily as ``behaviour_bert`` (torch loads on first use).

    m = create_model("behaviour_bert", epochs=3).pretrain(all_users["event_tokens"])   # label-free
    m.fit(X_train, y_train, eval_set=(X_valid, y_valid))
    p = m.predict_proba(X_test)[:, 1]; e = m.embed(X_test); c = m.contributions(X_test)

Input: only the ``event_tokens`` column (``token_column``) of X: space-separated tokens, oldest first
(see ``ml/sequence``). Every other column is ignored; ``feature_names_ == [token_column]``.

Model: ``transformers.BertForSequenceClassification`` (2 labels; churn log-odds = logit[1] - logit[0])
built from a ``BertConfig`` over our own vocabulary, nothing downloaded. Default size (hidden 64,
2 layers, 2 heads, feed-forward 128, max_len 128, ~90k parameters) trains in a few minutes on one or
two CPU cores; pass bigger sizes on a GPU. Attention-probability dropout is 0 by default: it is a
quarter of the CPU time of a training step at this size and buys nothing here.

Training (``fit``):
  (a) masked-token pretraining (``BertForMaskedLM``; 15% of tokens, 80/10/10) for ``pretrain_epochs``
      on the sequences passed to ``pretrain(texts)``, or on X itself when ``pretrain`` was not called.
      The vocabulary is built from the first sequences seen (``min_count``). The encoder state after
      pretraining is kept (``pretrained_state_``): it never saw a label, the hybrid model uses it.
  (b) fine-tuning of encoder + pooler + classifier on the churn label (cross-entropy, AdamW, linear
      warm-up/decay), at most ``max_train_rows`` random training rows, ``epochs`` epochs, early
      stopping on the eval_set log-loss with ``patience``; the best epoch's weights are restored.
  Batches group sequences of similar length and are trimmed to their longest sequence.
  Device: CUDA when available (bf16 autocast), else CPU (``num_threads``, auto = free cores).
  Seeds: ``seed`` drives local generators (numpy ``default_rng``; torch inside ``fork_rng``), so the
  process's global RNG state is left as it was. ``training_info_`` holds device, seconds,
  sequences/second, epochs run, best epoch and best valid loss / AUC (for MLflow).

Embedding (``embed``): mean of the last hidden state over the non-[PAD] positions ([CLS] included), of
the fine-tuned encoder (``source="finetuned"``) or of the label-free pretrained one
(``source="pretrained"``). Mean pooling rather than the [CLS] pooler output, because the pooler is not
trained by masked-token pretraining and the mean is defined for both encoders.

Inference (batched by length, ``inference="auto" | "eager" | "jit"``) and explanations (``contributions``:
occlusion by token family, ``occlusion="delete" | "mask"``) are described in ``ml/models/bert_inference.py``.

Saved state (directory): ``model.json`` (base), ``behaviour_bert.json`` (BertConfig, families, training
info), ``vocab.json``, ``model.safetensors`` (classifier) and ``pretrained_encoder.safetensors``. A model
that was only pretrained can be saved too (no ``model.safetensors``; it loads unfitted, for ``embed``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertForSequenceClassification, BertModel

from churn_assets.ml.models.base import ChurnModel, as_label_array, proba_matrix
from churn_assets.ml.models.bert_inference import (
    _LogitModule,
    build_jit,
    logits_with,
    mean_pooled,
    occlusion_contributions,
    probe_batch,
    time_median,
)
from churn_assets.ml.models.bert_training import _cpu_state, finetune, pretrain_mlm
from churn_assets.ml.models.registry import register_model
from churn_assets.ml.sequence import TokenFamilies, Vocabulary
from churn_assets.ml.torch_utils import cpu_threads, pick_device

STATE_JSON = "behaviour_bert.json"
VOCAB_JSON = "vocab.json"
WEIGHTS = "model.safetensors"
PRETRAINED_WEIGHTS = "pretrained_encoder.safetensors"


def _texts_of(X: pd.DataFrame | Sequence[str], column: str) -> list[str]:
    if isinstance(X, pd.DataFrame):
        if column not in X.columns:
            warnings.warn(f"behaviour_bert: column {column!r} missing; every sequence is empty", stacklevel=3)
            return [""] * len(X)
        s = X[column]
    else:
        s = pd.Series(list(X), dtype=object)
    return ["" if (v is None or (isinstance(v, float) and v != v) or v is pd.NA) else str(v) for v in s.tolist()]


@register_model("behaviour_bert")
class BehaviourBertModel(ChurnModel):
    default_params = {
        "features": None,
        "exclude": None,  # not used: the only input is token_column
        "token_column": "event_tokens",
        # size
        "max_len": 128,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 128,
        "dropout": 0.1,
        "attention_dropout": 0.0,
        # vocabulary
        "min_count": 2,
        "max_vocab": 5000,
        # (a) masked-token pretraining
        "pretrain_epochs": 1,
        "pretrain_lr": 1e-3,
        "mask_prob": 0.15,
        "max_pretrain_rows": 15_000,
        # (b) fine-tuning
        "epochs": 3,
        "batch_size": 64,
        "lr": 1e-3,
        "weight_decay": 0.01,
        "warmup_ratio": 0.05,
        "patience": 1,
        "max_train_rows": 15_000,
        # runtime
        "eval_batch_size": 512,
        "seed": 7,
        "progress": True,
        "device": "auto",
        "num_threads": None,
        "inference": "auto",  # auto | eager | jit
        "token_families": None,  # None = sequence.DEFAULT_FAMILIES; or {feature_name: [glob, ...]}
        "occlusion": "delete",  # contributions: delete the family's tokens, or replace them by [MASK]
    }

    # fitted state (class-level None: an unfitted model's __dict__ holds its parameters only)
    vocab_: Vocabulary | None = None
    bert_config_: dict | None = None
    model_: BertForSequenceClassification | None = None
    pretrained_state_: dict[str, torch.Tensor] | None = None
    families_: TokenFamilies | None = None
    training_info_: dict[str, Any] | None = None
    _runner: Any = None  # inference callable (eager module or TorchScript), built lazily
    _pretrained_encoder: BertModel | None = None

    # ---- small helpers --------------------------------------------------------------------
    @property
    def torch_device(self) -> torch.device:
        """The ``device`` parameter resolved ("auto": CUDA when available)."""
        return pick_device(self.device)

    @property
    def contribution_names_(self) -> list[str]:
        if self.families_ is None:
            raise AttributeError("behaviour_bert: contribution_names_ exists after pretrain or fit")
        return self.families_.names

    # fitted state where it must be there (RuntimeError otherwise)
    def _fitted_vocab(self) -> Vocabulary:
        if self.vocab_ is None:
            raise RuntimeError("behaviour_bert: call pretrain or fit first")
        return self.vocab_

    def _fitted_families(self) -> TokenFamilies:
        if self.families_ is None:
            raise RuntimeError("behaviour_bert: call pretrain or fit first")
        return self.families_

    def _fitted_pretrained_state(self) -> dict[str, torch.Tensor]:
        if self.pretrained_state_ is None:
            raise RuntimeError("behaviour_bert: call pretrain or fit first")
        return self.pretrained_state_

    def _fitted_model(self) -> BertForSequenceClassification:
        if self.model_ is None:
            raise RuntimeError("behaviour_bert: call fit first")
        return self.model_

    def _threads(self):
        return cpu_threads(self.num_threads, self.torch_device)

    def _encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self._fitted_vocab().encode(texts, int(self.max_len))

    def _make_config(self) -> BertConfig:
        p = self.params
        vocab = self._fitted_vocab()
        # num_labels goes through PreTrainedConfig's **kwargs, which its dataclass_transform typing leaves out
        return BertConfig(  # type: ignore[call-arg]
            vocab_size=len(vocab),
            hidden_size=int(p["hidden_size"]),
            num_hidden_layers=int(p["num_hidden_layers"]),
            num_attention_heads=int(p["num_attention_heads"]),
            intermediate_size=int(p["intermediate_size"]),
            hidden_act="gelu",
            hidden_dropout_prob=float(p["dropout"]),
            attention_probs_dropout_prob=float(p["attention_dropout"]),
            max_position_embeddings=int(p["max_len"]),
            type_vocab_size=1,
            pad_token_id=vocab.pad_id,
            num_labels=2,
        )

    def _config(self) -> BertConfig:
        if self.bert_config_ is None:
            raise RuntimeError("behaviour_bert: call pretrain or fit first")
        return BertConfig.from_dict(self.bert_config_)

    # ---- (a) masked-token pretraining (loop in bert_training.py) ---------------------------------
    def pretrain(self, texts: Sequence[str] | pd.Series | pd.DataFrame) -> BehaviourBertModel:
        """Masked-token pretraining on label-free sequences (a DataFrame: its ``token_column``).

        Builds the vocabulary on the first call. Calling it again continues from the current encoder.
        """
        texts = _texts_of(texts, self.token_column) if isinstance(texts, pd.DataFrame) else _texts_of(list(texts), "")
        self._check_params()
        pretrain_mlm(self, texts)
        return self

    def _check_params(self) -> None:
        """Validation that sklearn's contract keeps out of __init__; also sets the token families."""
        if self.inference not in ("auto", "eager", "jit"):
            raise ValueError("inference must be auto, eager or jit")
        if self.occlusion not in ("delete", "mask"):
            raise ValueError("occlusion must be delete or mask")
        self.families_ = TokenFamilies.from_dict({"families": self.token_families} if self.token_families else None)

    # ---- (b) fine-tuning (loop with early stopping in bert_training.py) ------------------------
    def fit(self, X: pd.DataFrame, y: Any, eval_set: tuple[pd.DataFrame, Any] | None = None):
        col = self.token_column
        texts = _texts_of(X, col)
        y_arr = as_label_array(y)
        if len(y_arr) != len(texts):
            raise ValueError(f"X has {len(texts)} rows but y has {len(y_arr)}")
        if len(np.unique(y_arr)) < 2:
            raise ValueError("behaviour_bert: training labels have a single class")
        self._check_params()
        if self.vocab_ is None or self.pretrained_state_ is None:
            self.pretrain(texts)
        eval_texts, eval_y = None, None
        if eval_set is not None:
            Xv, eval_y = eval_set
            eval_texts = _texts_of(Xv, col)
        finetune(self, texts, y_arr, eval_texts, eval_y)
        return self

    # ---- inference (helpers in bert_inference.py) ----------------------------------------------
    def _logits_with(self, fn, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Batched log-odds of ``fn`` (sorted by length, each batch trimmed to its longest row)."""
        return logits_with(fn, ids, mask, self.torch_device, int(self.eval_batch_size))

    def _eager_runner(self):
        return _LogitModule(self._fitted_model()).eval()

    def _build_jit(self, probe_ids: np.ndarray, probe_mask: np.ndarray):
        """A frozen TorchScript trace, or None when tracing fails or differs from eager (> 1e-5)."""
        traced, worst = build_jit(
            self._eager_runner(), probe_ids, probe_mask, self._fitted_vocab().pad_id, self.torch_device
        )
        if worst is not None:
            self.jit_max_abs_diff_ = worst
        return traced

    def _runner_for(self):
        """The inference callable: TorchScript when ``inference="jit"``, or with ``"auto"`` on CPU when the
        trace matches eager within 1e-5 AND is at least 15% faster on a probe batch; eager otherwise."""
        mode = self.inference
        if self._runner is None:
            runner, backend = self._eager_runner(), "eager"
            if mode == "jit" or (mode == "auto" and self.torch_device.type == "cpu"):
                probe_ids, probe_mask = probe_batch(self._fitted_vocab(), int(self.max_len))
                traced = self._build_jit(probe_ids, probe_mask)
                if traced is not None and (mode == "jit" or self._faster(traced, runner, probe_ids, probe_mask)):
                    runner, backend = traced, "jit"
            self._runner = runner
            self.inference_backend_ = backend
        return self._runner

    def _faster(self, fast, eager, ids: np.ndarray, mask: np.ndarray, margin: float = 0.85) -> bool:
        """True when ``fast`` beats ``eager`` by the margin (median of 5 interleaved timed runs)."""
        med = time_median(fast, eager, ids, mask, self.torch_device)
        self.inference_timing_ = med
        return med["fast"] < margin * med["eager"]

    def _logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._logits_with(self._runner_for(), ids, mask)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Churn log-odds per row."""
        self._check_fitted()
        with self._threads():
            ids, mask = self._encode(_texts_of(X, self.token_column))
            return self._logits(ids, mask)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        z = self.decision_function(X)
        return proba_matrix(1.0 / (1.0 + np.exp(-z)))

    def _predict_p1(self, X) -> np.ndarray:  # base-class hook (unused: predict_proba is overridden)
        return self.predict_proba(X)[:, 1]

    def _pretrained_bert(self) -> BertModel:
        if self._pretrained_encoder is None:
            enc = BertModel(self._config(), add_pooling_layer=False)
            enc.load_state_dict(self._fitted_pretrained_state(), strict=True)
            # PreTrainedModel.to is functools.wraps(Module.to), whose typeshed type does not bind self
            self._pretrained_encoder = enc.to(self.torch_device).eval()  # type: ignore[arg-type]
        return self._pretrained_encoder

    def embed(self, X: pd.DataFrame | Sequence[str], source: str = "finetuned") -> np.ndarray:
        """(n, hidden_size) user embeddings: mean of the last hidden state over non-[PAD] positions.

        ``source="finetuned"``: the churn-fine-tuned encoder; ``"pretrained"``: the label-free encoder
        after masked-token pretraining (available after ``pretrain`` alone).
        """
        if source == "finetuned":
            self._check_fitted()
            bert = self._fitted_model().bert
        elif source == "pretrained":
            if self.pretrained_state_ is None:
                raise RuntimeError("behaviour_bert: call pretrain or fit first")
            bert = self._pretrained_bert()
        else:
            raise ValueError("source must be 'finetuned' or 'pretrained'")
        texts = _texts_of(X, self.token_column) if isinstance(X, pd.DataFrame) else _texts_of(X, "")
        with self._threads():
            ids, mask = self._encode(texts)
            return mean_pooled(bert, ids, mask, self.torch_device, int(self.eval_batch_size), int(self.hidden_size))

    # ---- explanations (occlusion in bert_inference.py) -----------------------------------------
    def contributions(self, X: pd.DataFrame, include_bias: bool = False) -> pd.DataFrame:
        """Per-row log-odds contribution of each token family (occlusion by [MASK]), ``seq_*`` columns."""
        self._check_fitted()
        names = self.contribution_names_
        with self._threads():
            ids, mask = self._encode(_texts_of(X, self.token_column))
            base = self._logits(ids, mask)
            vocab = self._fitted_vocab()
            fam = self._fitted_families().vocab_families(vocab)[ids]  # (n, L), -1 = special / none
            C = occlusion_contributions(self._logits, ids, base, fam, len(names), vocab, self.occlusion)

        df = pd.DataFrame(C, index=X.index, columns=names)
        if include_bias:
            df["bias"] = base - C.sum(1)
        return df

    # ---- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save a fitted model, or a pretrained-only one (enough for ``embed(source="pretrained")``)."""
        if self.feature_names_ is None and self.pretrained_state_ is not None:
            self.feature_names_ = [self.token_column]
            try:
                return super().save(path)
            finally:
                self.feature_names_ = None
        return super().save(path)

    def _save_state(self, path: Path) -> None:
        self._fitted_vocab().save(path / VOCAB_JSON)
        if self.model_ is not None:
            save_file(_cpu_state(self.model_), str(path / WEIGHTS))
        save_file(self._fitted_pretrained_state(), str(path / PRETRAINED_WEIGHTS))
        info = dict(self.training_info_ or {})
        (path / STATE_JSON).write_text(
            json.dumps(
                {
                    "bert_config": self.bert_config_,
                    "families": self._fitted_families().to_dict(),
                    "training_info": info,
                },
                indent=1,
                default=float,
            )
        )

    @classmethod
    def _load_state(cls, path: Path) -> BehaviourBertModel:
        meta = json.loads((path / "model.json").read_text())
        state = json.loads((path / STATE_JSON).read_text())
        obj = cls(**meta["params"])
        fine_tuned = (path / WEIGHTS).exists()
        obj.feature_names_ = meta["feature_names"] if fine_tuned else None
        obj.vocab_ = Vocabulary.load(path / VOCAB_JSON)
        obj.bert_config_ = state["bert_config"]
        obj.families_ = TokenFamilies.from_dict(state["families"])
        obj.training_info_ = state.get("training_info", {})
        if fine_tuned:
            clf = BertForSequenceClassification(obj._config())
            clf.load_state_dict(load_file(str(path / WEIGHTS)), strict=True)
            obj.model_ = clf.to(obj.torch_device).eval()  # type: ignore[arg-type]  # as in _pretrained_bert
        obj.pretrained_state_ = load_file(str(path / PRETRAINED_WEIGHTS))
        return obj

    def __getstate__(self) -> dict:  # pickling (e.g. copy.deepcopy) skips the TorchScript runner
        d = dict(super().__getstate__())
        d.pop("_runner", None)
        d.pop("_pretrained_encoder", None)
        return d
