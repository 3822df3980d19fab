"""Training loops of the behaviour BERT (``ml/models/behaviour_bert.py``): (a) masked-token pretraining and
(b) fine-tuning on the churn label with early stopping on the eval_set log-loss.

Both take the ``BehaviourBertModel`` as ``model`` and fill its fitted state (``vocab_``, ``bert_config_``,
``pretrained_state_``, ``model_``, ``training_info_``); the estimator's ``pretrain`` / ``fit`` call them.
See the docstring of ``behaviour_bert.py`` for what they do.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import BertForMaskedLM, BertForSequenceClassification

from churn_assets.ml.models.base import as_label_array
from churn_assets.ml.models.bert_inference import _LogitModule
from churn_assets.ml.sequence import Vocabulary, mask_tokens
from churn_assets.ml.torch_utils import autocast, length_batches, linear_schedule, seed_everything

if TYPE_CHECKING:
    from churn_assets.ml.models.behaviour_bert import BehaviourBertModel

log = logging.getLogger("churn_assets.ml.models.behaviour_bert")  # same logger as before the split


def _no_decay(name: str) -> bool:
    return name.endswith(".bias") or "LayerNorm" in name or "layer_norm" in name


def _optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    decay = [p for n, p in model.named_parameters() if p.requires_grad and not _no_decay(n)]
    plain = [p for n, p in model.named_parameters() if p.requires_grad and _no_decay(n)]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}], lr=lr
    )


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def _logloss_auc(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score

    z = np.asarray(z, dtype=np.float64)
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    auc = float(roc_auc_score(y, z)) if len(np.unique(y)) == 2 else float("nan")
    return loss, auc


def pretrain_mlm(model: "BehaviourBertModel", texts: list[str]) -> None:
    """(a) Masked-token pretraining on ``texts``; builds the vocabulary on the first call, continues from
    the current encoder otherwise. Sets ``vocab_``, ``bert_config_``, ``pretrained_state_``."""
    p = model.params
    seed_everything(int(p["seed"]))
    rng = np.random.default_rng(int(p["seed"]))
    if model.vocab_ is None:
        model.vocab_ = Vocabulary.build(texts, min_count=int(p["min_count"]), max_size=p["max_vocab"])
        model.bert_config_ = model._make_config().to_dict()
    device = model.device
    mlm = BertForMaskedLM(model._config())
    if model.pretrained_state_ is not None:
        mlm.bert.load_state_dict(model.pretrained_state_, strict=False)
    info: dict[str, Any] = {"pretrain_epochs": 0, "pretrain_sequences": 0, "pretrain_seconds": 0.0}
    ids, mask = model._encode(texts)
    lengths = mask.sum(1)
    keep = np.flatnonzero(lengths > 1)  # [CLS] alone has nothing to predict
    if len(keep) > int(p["max_pretrain_rows"]):
        keep = np.sort(rng.choice(keep, int(p["max_pretrain_rows"]), replace=False))
    epochs = int(p["pretrain_epochs"])
    if epochs > 0 and len(keep):
        ids, mask, lengths = ids[keep], mask[keep], lengths[keep]
        with model._threads():
            mlm.to(device).train()
            bs = int(p["batch_size"])
            n_batches = -(-len(keep) // bs)
            opt = _optimizer(mlm, float(p["pretrain_lr"]), float(p["weight_decay"]))
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, linear_schedule(epochs * n_batches, float(p["warmup_ratio"]) * epochs * n_batches))
            started = time.perf_counter()
            for epoch in range(epochs):
                bar = model._progress(length_batches(lengths, bs, rng), n_batches,
                                      f"behaviour_bert pretrain {epoch + 1}/{epochs}")
                total, count = 0.0, 0
                for b in bar:
                    L = int(lengths[b].max())
                    inp, labels = mask_tokens(ids[b, :L], model.vocab_, float(p["mask_prob"]), rng)
                    sel = labels != -100
                    if not sel.any():
                        continue
                    inp_t = torch.from_numpy(inp).to(device)
                    att_t = torch.from_numpy(mask[b, :L]).to(device)
                    sel_t = torch.from_numpy(sel).to(device)
                    with autocast(device):
                        hidden = mlm.bert(input_ids=inp_t, attention_mask=att_t).last_hidden_state
                        logits = mlm.cls(hidden[sel_t])
                    loss = F.cross_entropy(logits.float(), torch.from_numpy(labels[sel]).to(device))
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(mlm.parameters(), 1.0)
                    opt.step()
                    sched.step()
                    total += float(loss.detach()) * len(b)
                    count += len(b)
                    bar.set_postfix(loss=f"{total / max(count, 1):.3f}", refresh=False)
                info["pretrain_last_loss"] = total / max(count, 1)
            seconds = time.perf_counter() - started
        info.update(pretrain_epochs=epochs, pretrain_sequences=int(len(keep)), pretrain_seconds=seconds,
                    pretrain_sequences_per_second=epochs * len(keep) / max(seconds, 1e-9))
    model.pretrained_state_ = _cpu_state(mlm.bert)
    model._pretrained_encoder = None
    model.training_info_.update(info)


def finetune(model: "BehaviourBertModel", texts: list[str], y_arr: np.ndarray,
             eval_texts: list[str] | None = None, eval_y: Any = None) -> None:
    """(b) Fine-tuning of encoder + pooler + classifier on the churn label, early stopping on the eval
    log-loss (``eval_texts``/``eval_y``) with ``patience``; the best epoch's weights are restored."""
    col = model.params["token_column"]
    p = model.params
    seed_everything(int(p["seed"]) + 1)
    rng = np.random.default_rng(int(p["seed"]) + 1)
    device = model.device
    rows = np.arange(len(texts))
    if len(rows) > int(p["max_train_rows"]):
        rows = np.sort(rng.choice(rows, int(p["max_train_rows"]), replace=False))
    ids, mask = model._encode([texts[i] for i in rows])
    yt = y_arr[rows]
    lengths = mask.sum(1)
    ev = None
    if eval_texts is not None:
        ev = (*model._encode(eval_texts), as_label_array(eval_y))

    clf = BertForSequenceClassification(model._config())
    missing, unexpected = clf.bert.load_state_dict(model.pretrained_state_, strict=False)
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise RuntimeError(f"pretrained encoder does not fit: missing={missing} unexpected={unexpected}")
    model.feature_names_ = [col]
    model._runner = None
    epochs, bs, patience = int(p["epochs"]), int(p["batch_size"]), int(p["patience"])
    n_batches = -(-len(rows) // bs)
    info: dict[str, Any] = {}
    with model._threads() as threads:
        clf.to(device)
        opt = _optimizer(clf, float(p["lr"]), float(p["weight_decay"]))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, linear_schedule(epochs * n_batches, float(p["warmup_ratio"]) * epochs * n_batches))
        best = {"loss": np.inf, "auc": float("nan"), "epoch": 0, "state": None}
        history, bad_epochs, epochs_run = [], 0, 0
        started = time.perf_counter()
        train_seconds = 0.0
        for epoch in range(epochs):
            clf.train()
            t0 = time.perf_counter()
            bar = model._progress(length_batches(lengths, bs, rng), n_batches,
                                  f"behaviour_bert fine-tune {epoch + 1}/{epochs}")
            total, count = 0.0, 0
            for b in bar:
                L = int(lengths[b].max())
                inp = torch.from_numpy(ids[b, :L]).to(device)
                att = torch.from_numpy(mask[b, :L]).to(device)
                target = torch.from_numpy(yt[b]).to(device)
                with autocast(device):
                    logits = clf(input_ids=inp, attention_mask=att).logits
                loss = F.cross_entropy(logits.float(), target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(clf.parameters(), 1.0)
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(b)
                count += len(b)
                bar.set_postfix(loss=f"{total / max(count, 1):.3f}", refresh=False)
            train_seconds += time.perf_counter() - t0
            epochs_run = epoch + 1
            record = {"epoch": epochs_run, "train_loss": total / max(count, 1)}
            if ev is not None:
                clf.eval()
                z = model._logits_with(_LogitModule(clf), ev[0], ev[1])
                vloss, vauc = _logloss_auc(z, ev[2])
                record.update(valid_loss=vloss, valid_auc=vauc)
                if vloss < best["loss"] - 1e-6:
                    best.update(loss=vloss, auc=vauc, epoch=epochs_run, state=_cpu_state(clf))
                    bad_epochs = 0
                else:
                    bad_epochs += 1
            history.append(record)
            log.info("behaviour_bert epoch %s: %s", epochs_run, record)
            if ev is not None and bad_epochs > patience - 1 and patience > 0:
                break
        if best["state"] is not None:
            clf.load_state_dict(best["state"])
        clf.eval()
        seconds = time.perf_counter() - started
    model.model_ = clf
    info.update(
        device=str(device), threads=int(threads), n_parameters=int(sum(t.numel() for t in clf.parameters())),
        vocab_size=len(model.vocab_), train_sequences=int(len(rows)), finetune_seconds=seconds,
        finetune_sequences_per_second=epochs_run * len(rows) / max(train_seconds, 1e-9),
        epochs_run=epochs_run, best_epoch=int(best["epoch"] or epochs_run),
        best_valid_loss=float(best["loss"]) if ev is not None else float("nan"),
        best_valid_auc=float(best["auc"]) if ev is not None else float("nan"),
        history=history,
    )
    info["seconds"] = float(model.training_info_.get("pretrain_seconds", 0.0)) + seconds
    model.training_info_.update(info)
