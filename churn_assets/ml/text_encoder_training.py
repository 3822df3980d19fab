"""Fitting ``EncoderReviewClassifier`` (``ml/text_encoder.py``): sample, load, size, fine-tune, early-stop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from churn_assets.ml.text_encoder import EncoderReviewClassifier


def _labels(y: Sequence[int]) -> np.ndarray:
    arr = np.asarray(y, dtype=np.int64)
    if not set(np.unique(arr).tolist()) <= {0, 1}:
        raise ValueError("EncoderReviewClassifier: labels must be 0/1 (1 = bad experience)")
    return arr


def fit_encoder(
    model: EncoderReviewClassifier,
    texts: Sequence[str],
    y: Sequence[int],
    eval_set: tuple[Sequence[str], Sequence[int]] | None,
) -> EncoderReviewClassifier:
    from churn_assets.ml.text import clean_texts
    from churn_assets.ml.text_encoder import auto_max_len, default_model_path
    from churn_assets.ml.torch_utils import cpu_threads, torch_seed

    texts = clean_texts(texts)
    y_arr = _labels(y)
    if len(texts) != len(y_arr):
        raise ValueError(f"{len(texts)} texts but {len(y_arr)} labels")
    if len(np.unique(y_arr)) < 2:
        raise ValueError("EncoderReviewClassifier: the labels hold a single class")
    rng = np.random.default_rng(int(model.seed))
    rows = np.arange(len(texts))
    if len(rows) > int(model.max_train_texts):
        rows = np.sort(rng.choice(rows, int(model.max_train_texts), replace=False))
    texts_fit, y_fit = [texts[i] for i in rows], y_arr[rows].astype(np.float32)

    path = model.model_path or default_model_path()
    with torch_seed(int(model.seed)):  # loading (fresh weights), head init, dropout: no global reseeding
        model._load_pretrained(path)
        if model.max_len == "auto":
            counts = np.fromiter(map(len, model._token_ids(texts_fit)), dtype=np.int64, count=len(texts_fit))
            prefix, suffix = model._special_tokens()
            model.max_len_ = auto_max_len(counts + len(prefix) + len(suffix))
        else:
            model.max_len_ = int(model.max_len)
        trainable_layers = model.unfreeze_top_layers()
        _init_head(model, y_fit)
        with cpu_threads(None, model.device) as threads:
            res, groups = _train(model, texts_fit, y_fit, trainable_layers, rng, eval_set)
    model.source_model_ = path
    best = res.best or {}
    model.training_info_ = {
        "device": str(model.device),
        "threads": int(threads),
        "fit_seconds": res.seconds,
        "train_texts": int(len(rows)),
        "epochs_run": int(res.epochs_run),
        "stopped_by_time_budget": bool(
            model.max_train_seconds is not None and res.seconds >= float(model.max_train_seconds)
        ),
        "best_epoch": int(best.get("epoch", res.epochs_run)),
        "valid_loss": float(best.get("valid_loss", float("nan"))),
        "train_texts_per_second": res.epochs_run * len(rows) / max(res.train_seconds, 1e-9),
        "train_loss": res.epoch_losses[-1] if res.epoch_losses else float("nan"),
        "max_len": int(model.max_len_),
        "fine_tuned_layers": len(trainable_layers),
        "trainable_parameters": int(sum(p.numel() for g in groups for p in g["params"])),
        "bad_share": float(y_fit.mean()),
    }
    return model


def _init_head(model: EncoderReviewClassifier, y_fit: np.ndarray) -> None:
    import torch

    model.head_ = model._new_head()
    base = 0.5 if model.class_weight == "balanced" else float(np.clip(y_fit.mean(), 1e-3, 1 - 1e-3))
    with torch.no_grad():
        model.head_.weight.normal_(0.0, 0.02)
        model.head_.bias.fill_(float(np.log(base / (1 - base))))  # start at the (weighted) base rate
    model.encoder_.to(model.device)
    model.head_.to(model.device)


def _pos_weight(model: EncoderReviewClassifier, y_fit: np.ndarray):
    import torch

    if model.class_weight != "balanced":
        return None
    positives = float(y_fit.sum())
    return torch.tensor((len(y_fit) - positives) / max(positives, 1.0), device=model.device)


def _train(
    model: EncoderReviewClassifier,
    texts_fit: list[str],
    y_fit: np.ndarray,
    trainable_layers: list,
    rng: np.random.Generator,
    eval_set: tuple[Sequence[str], Sequence[int]] | None,
) -> tuple[Any, list[dict[str, Any]]]:
    import torch
    import torch.nn.functional as F

    from churn_assets.ml.torch_training import LoopSpec, train_loop
    from churn_assets.ml.torch_utils import length_batches

    device, bs, lr = model.device, int(model.batch_size), float(model.lr)
    seqs = model._tokenize(texts_fit)
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    pos_weight = _pos_weight(model, y_fit)
    enc_params = [p for p in model.encoder_.parameters() if p.requires_grad]
    # the fresh head learns at 30x the encoder's rate
    groups = [{"params": list(model.head_.parameters()), "lr": max(30 * lr, 1e-3), "weight_decay": 0.0}]
    if enc_params:
        groups.append({"params": enc_params, "lr": lr, "weight_decay": 0.01})

    def batch_loss(b: np.ndarray):
        z = model._logits(*model._batch(seqs, b))
        target = torch.from_numpy(y_fit[b]).to(device)
        return F.binary_cross_entropy_with_logits(z.float(), target, pos_weight=pos_weight)

    def train_mode() -> None:
        model.encoder_.eval()  # frozen layers without dropout ...
        for layer in trainable_layers:
            layer.train()  # ... the fine-tuned ones with it
        model.head_.train()

    spec = LoopSpec(
        epochs=int(model.epochs),
        n_batches=-(-len(seqs) // bs),
        warmup_ratio=0.1,
        desc="review text fine-tune",
        progress=bool(model.progress),
        patience=int(model.patience),
        max_seconds=None if model.max_train_seconds is None else float(model.max_train_seconds),
    )
    res = train_loop(
        torch.nn.ModuleList([model.encoder_, model.head_]),
        groups,
        lambda: length_batches(lengths, bs, rng),
        batch_loss,
        spec,
        device,
        evaluate=_validation(model, eval_set, pos_weight) if eval_set is not None else None,
        train_mode=train_mode,
    )
    return res, groups


def _validation(model: EncoderReviewClassifier, eval_set: tuple[Sequence[str], Sequence[int]], pos_weight):
    """Validation loss (the same weighted loss as in training) and ROC AUC, for early stopping."""
    import torch
    import torch.nn.functional as F
    from sklearn.metrics import roc_auc_score

    texts_valid, y_valid = list(eval_set[0]), _labels(eval_set[1])

    def evaluate() -> dict[str, float]:
        p = np.clip(model.predict_bad(texts_valid), 1e-7, 1 - 1e-7)
        logits = torch.from_numpy(np.log(p / (1 - p)))
        target = torch.from_numpy(y_valid.astype(np.float64))
        weight = None if pos_weight is None else pos_weight.detach().cpu().double()
        loss = float(F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight))
        both = len(np.unique(y_valid)) == 2
        return {"valid_loss": loss, "valid_auc": float(roc_auc_score(y_valid, p)) if both else float("nan")}

    return evaluate
