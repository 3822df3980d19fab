"""Training loops of the behaviour BERT (``ml/models/behaviour_bert.py``): (a) masked-token pretraining and
(b) fine-tuning on the churn label with early stopping on the eval_set log-loss.

Both take the ``BehaviourBertModel`` as ``model`` and fill its fitted state (``vocab_``, ``bert_config_``,
``pretrained_state_``, ``model_``, ``training_info_``); the estimator's ``pretrain`` / ``fit`` call them.
See the docstring of ``behaviour_bert.py`` for what they do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import BertForMaskedLM, BertForSequenceClassification

from churn_assets.ml.models.base import as_label_array
from churn_assets.ml.models.bert_inference import _LogitModule
from churn_assets.ml.sequence import Vocabulary, mask_tokens
from churn_assets.ml.torch_training import LoopResult, LoopSpec, train_loop
from churn_assets.ml.torch_training import cpu_state as _cpu_state
from churn_assets.ml.torch_utils import length_batches, torch_seed

if TYPE_CHECKING:
    from churn_assets.ml.models.behaviour_bert import BehaviourBertModel


def _no_decay(name: str) -> bool:
    return name.endswith(".bias") or "LayerNorm" in name or "layer_norm" in name


def _param_groups(model: torch.nn.Module, lr: float, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on biases and LayerNorm weights."""
    decay = [p for n, p in model.named_parameters() if p.requires_grad and not _no_decay(n)]
    plain = [p for n, p in model.named_parameters() if p.requires_grad and _no_decay(n)]
    return [{"params": decay, "weight_decay": weight_decay, "lr": lr}, {"params": plain, "weight_decay": 0.0, "lr": lr}]


def _logloss_auc(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score

    z = np.asarray(z, dtype=np.float64)
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    auc = float(roc_auc_score(y, z)) if len(np.unique(y)) == 2 else float("nan")
    return loss, auc


def _loop_spec(p: dict[str, Any], epochs: int, n_rows: int, desc: str, patience: int = 0) -> LoopSpec:
    bs = int(p["batch_size"])
    return LoopSpec(
        epochs=epochs,
        n_batches=-(-n_rows // bs),
        warmup_ratio=float(p["warmup_ratio"]),
        desc=desc,
        progress=bool(p["progress"]),
        patience=patience,
    )


def pretrain_mlm(model: BehaviourBertModel, texts: list[str]) -> None:
    """(a) Masked-token pretraining on ``texts``; builds the vocabulary on the first call, continues from
    the current encoder otherwise. Sets ``vocab_``, ``bert_config_``, ``pretrained_state_``."""
    p = model.params
    rng = np.random.default_rng(int(p["seed"]))
    if model.vocab_ is None:
        model.vocab_ = Vocabulary.build(texts, min_count=int(p["min_count"]), max_size=p["max_vocab"])
        model.bert_config_ = model._make_config().to_dict()
    vocab = model._fitted_vocab()
    info: dict[str, Any] = {"pretrain_epochs": 0, "pretrain_sequences": 0, "pretrain_seconds": 0.0}
    ids, mask = model._encode(texts)
    lengths = mask.sum(1)
    keep = np.flatnonzero(lengths > 1)  # [CLS] alone has nothing to predict
    if len(keep) > int(p["max_pretrain_rows"]):
        keep = np.sort(rng.choice(keep, int(p["max_pretrain_rows"]), replace=False))
    ids, mask, lengths = ids[keep], mask[keep], lengths[keep]
    epochs = int(p["pretrain_epochs"])
    with torch_seed(int(p["seed"])):  # weight init and dropout, without reseeding the process
        mlm = BertForMaskedLM(model._config())
        if model.pretrained_state_ is not None:
            mlm.bert.load_state_dict(model.pretrained_state_, strict=False)
        if epochs > 0 and len(keep):
            device = model.torch_device

            def batch_loss(b: np.ndarray) -> torch.Tensor | None:
                L = int(lengths[b].max())
                inp, labels = mask_tokens(ids[b, :L], vocab, float(p["mask_prob"]), rng)
                sel = labels != -100
                if not sel.any():
                    return None
                sel_t = torch.from_numpy(sel).to(device)
                hidden = mlm.bert(
                    input_ids=torch.from_numpy(inp).to(device), attention_mask=torch.from_numpy(mask[b, :L]).to(device)
                ).last_hidden_state
                return F.cross_entropy(mlm.cls(hidden[sel_t]).float(), torch.from_numpy(labels[sel]).to(device))

            with model._threads():
                # PreTrainedModel.to is functools.wraps(Module.to), whose typeshed type does not bind self
                mlm.to(device)  # type: ignore[arg-type]
                res = train_loop(
                    mlm,
                    _param_groups(mlm, float(p["pretrain_lr"]), float(p["weight_decay"])),
                    lambda: length_batches(lengths, int(p["batch_size"]), rng),
                    batch_loss,
                    _loop_spec(p, epochs, len(keep), "behaviour_bert pretrain"),
                    device,
                )
            info.update(
                pretrain_epochs=epochs,
                pretrain_sequences=int(len(keep)),
                pretrain_seconds=res.seconds,
                pretrain_last_loss=res.epoch_losses[-1],
                pretrain_sequences_per_second=epochs * len(keep) / max(res.seconds, 1e-9),
            )
    model.pretrained_state_ = _cpu_state(mlm.bert)
    model._pretrained_encoder = None
    model.training_info_ = {**(model.training_info_ or {}), **info}


def _classifier(model: BehaviourBertModel) -> BertForSequenceClassification:
    """A churn classifier whose encoder starts from the pretrained state."""
    clf = BertForSequenceClassification(model._config())
    missing, unexpected = clf.bert.load_state_dict(model._fitted_pretrained_state(), strict=False)
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise RuntimeError(f"pretrained encoder does not fit: missing={missing} unexpected={unexpected}")
    return clf


def finetune(
    model: BehaviourBertModel,
    texts: list[str],
    y_arr: np.ndarray,
    eval_texts: list[str] | None = None,
    eval_y: Any = None,
) -> None:
    """(b) Fine-tuning of encoder + pooler + classifier on the churn label, early stopping on the eval
    log-loss (``eval_texts``/``eval_y``) with ``patience``; the best epoch's weights are restored."""
    p = model.params
    rng = np.random.default_rng(int(p["seed"]) + 1)
    device = model.torch_device
    rows = np.arange(len(texts))
    if len(rows) > int(p["max_train_rows"]):
        rows = np.sort(rng.choice(rows, int(p["max_train_rows"]), replace=False))
    ids, mask = model._encode([texts[i] for i in rows])
    yt = y_arr[rows]
    lengths = mask.sum(1)
    ev = None if eval_texts is None else (*model._encode(eval_texts), as_label_array(eval_y))
    model.feature_names_ = [p["token_column"]]
    model._runner = None

    def batch_loss(b: np.ndarray) -> torch.Tensor:
        L = int(lengths[b].max())
        logits = clf(
            input_ids=torch.from_numpy(ids[b, :L]).to(device), attention_mask=torch.from_numpy(mask[b, :L]).to(device)
        ).logits
        return F.cross_entropy(logits.float(), torch.from_numpy(yt[b]).to(device))

    def evaluate() -> dict[str, float]:
        assert ev is not None  # evaluate is passed to train_loop only with an eval set
        vloss, vauc = _logloss_auc(model._logits_with(_LogitModule(clf), ev[0], ev[1]), ev[2])
        return {"valid_loss": vloss, "valid_auc": vauc}

    with torch_seed(int(p["seed"]) + 1), model._threads() as threads:
        clf = _classifier(model).to(device)  # type: ignore[arg-type]  # as mlm.to above
        res = train_loop(
            clf,
            _param_groups(clf, float(p["lr"]), float(p["weight_decay"])),
            lambda: length_batches(lengths, int(p["batch_size"]), rng),
            batch_loss,
            _loop_spec(p, int(p["epochs"]), len(rows), "behaviour_bert fine-tune", int(p["patience"])),
            device,
            evaluate=evaluate if ev is not None else None,
        )
    model.model_ = clf
    model.training_info_ = {
        **(model.training_info_ or {}),
        **_finetune_info(model, res, int(threads), len(rows), ev is not None),
    }


def _finetune_info(
    model: BehaviourBertModel, res: LoopResult, threads: int, n_rows: int, evaluated: bool
) -> dict[str, Any]:
    best = res.best or {}
    nan = float("nan")
    info = dict(
        device=str(model.torch_device),
        threads=threads,
        n_parameters=int(sum(t.numel() for t in model._fitted_model().parameters())),
        vocab_size=len(model._fitted_vocab()),
        train_sequences=int(n_rows),
        finetune_seconds=res.seconds,
        finetune_sequences_per_second=res.epochs_run * n_rows / max(res.train_seconds, 1e-9),
        epochs_run=res.epochs_run,
        best_epoch=int(best.get("epoch") or res.epochs_run),
        best_valid_loss=float(best.get("valid_loss", np.inf)) if evaluated else nan,
        best_valid_auc=float(best.get("valid_auc", nan)) if evaluated else nan,
        history=res.history,
    )
    info["seconds"] = float((model.training_info_ or {}).get("pretrain_seconds", 0.0)) + res.seconds
    return info
