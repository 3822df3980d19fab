"""The one torch training loop of ``ml/``: the review-text fine-tune (``ml/text.py``) and the behaviour
BERT's masked-token pretraining and churn fine-tune (``ml/models/bert_training.py``) all run it.

AdamW over the caller's parameter groups, linear warm-up/decay per step, bf16 autocast on CUDA, gradient
clipping, a tqdm bar per epoch, optional stop after ``max_steps`` / ``max_seconds``. With ``evaluate``,
the metric it returns is checked after every epoch (lower is better): the best epoch's weights are kept
and restored at the end, and training stops after ``patience`` epochs without an improvement.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from churn_assets.ml.torch_utils import autocast, linear_schedule

log = logging.getLogger(__name__)


@dataclass
class LoopSpec:
    epochs: int
    n_batches: int  # per epoch, for the schedule and the progress bar
    warmup_ratio: float
    desc: str = "training"
    progress: bool = True
    clip_norm: float = 1.0
    patience: int = 0  # epochs without improvement before stopping; 0 = never stop early
    min_delta: float = 1e-6  # an improvement must beat the best metric by this much
    metric: str = "valid_loss"  # the key of ``evaluate()``'s dict that early stopping watches
    max_steps: int | None = None
    max_seconds: float | None = None


@dataclass
class LoopResult:
    epochs_run: int = 0
    steps: int = 0
    epoch_losses: list[float] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None  # the best epoch's record (with ``evaluate``)
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    train_seconds: float = 0.0  # in the training steps, without evaluation
    seconds: float = 0.0


def cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def _keep_if_best(module: torch.nn.Module, record: dict[str, Any], result: LoopResult, spec: LoopSpec) -> bool:
    """Keep the epoch's record and a CPU copy of its weights when the metric improved."""
    best = np.inf if result.best is None else result.best[spec.metric]
    if not record[spec.metric] < best - spec.min_delta:
        return False
    result.best, result.best_state = dict(record), cpu_state(module)
    return True


def train_loop(
    module: torch.nn.Module,
    param_groups: list[dict[str, Any]],
    batches: Callable[[], Iterable[np.ndarray]],
    batch_loss: Callable[[np.ndarray], torch.Tensor | None],
    spec: LoopSpec,
    device: torch.device,
    evaluate: Callable[[], dict[str, float]] | None = None,
    train_mode: Callable[[], None] | None = None,
) -> LoopResult:
    """Train ``module`` and return what happened; it ends in eval mode, with the best weights when
    ``evaluate`` is given. ``batches()`` yields one epoch's row-index batches; ``batch_loss(rows)`` is the
    mean loss of a batch (None skips it); ``train_mode()`` sets train/eval modes before every epoch
    (default ``module.train()``)."""
    opt = torch.optim.AdamW(param_groups)
    total = spec.epochs * spec.n_batches
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_schedule(total, spec.warmup_ratio * total))
    params = [p for g in param_groups for p in g["params"]]
    result, bad_epochs, started = LoopResult(), 0, time.perf_counter()
    for epoch in range(spec.epochs):
        (train_mode or module.train)()
        t0 = time.perf_counter()
        bar = tqdm(
            batches(),
            total=spec.n_batches,
            desc=f"{spec.desc} {epoch + 1}/{spec.epochs}",
            disable=not spec.progress,
            leave=False,
            mininterval=1.0,
        )
        loss_sum, count = 0.0, 0
        for rows in bar:
            with autocast(device):
                loss = batch_loss(rows)
            if loss is None:
                continue
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, spec.clip_norm)
            opt.step()
            sched.step()
            result.steps += 1
            loss_sum += float(loss.detach()) * len(rows)
            count += len(rows)
            bar.set_postfix(loss=f"{loss_sum / max(count, 1):.3f}", refresh=False)
            if _out_of_budget(result, spec, started):
                break
        result.train_seconds += time.perf_counter() - t0
        result.epochs_run = epoch + 1
        result.epoch_losses.append(loss_sum / max(count, 1))
        record: dict[str, Any] = {"epoch": result.epochs_run, "train_loss": result.epoch_losses[-1]}
        if evaluate is not None:
            module.eval()
            record.update(evaluate())
            bad_epochs = 0 if _keep_if_best(module, record, result, spec) else bad_epochs + 1
        result.history.append(record)
        log.info("%s epoch %s: %s", spec.desc, result.epochs_run, record)
        if (evaluate is not None and spec.patience > 0 and bad_epochs >= spec.patience) or _out_of_budget(
            result, spec, started
        ):
            break
    if result.best_state is not None:
        module.load_state_dict(result.best_state)
        result.best_state = None  # the weights are in the module now
    module.eval()
    result.seconds = time.perf_counter() - started
    return result


def _out_of_budget(result: LoopResult, spec: LoopSpec, started: float) -> bool:
    if spec.max_steps is not None and result.steps >= spec.max_steps:
        return True
    return spec.max_seconds is not None and time.perf_counter() - started >= spec.max_seconds
