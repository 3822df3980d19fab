"""Inference helpers of the behaviour BERT (``ml/models/behaviour_bert.py``): the exportable logit graph,
batched log-odds by length, the frozen TorchScript trace with its equality and speed checks, mean-pooled
embeddings and token-family occlusion. The estimator's methods call these.

Inference is batched by length under ``torch.inference_mode``. ``inference="auto"`` uses a frozen
TorchScript trace of the classifier on CPU only when it reproduces the eager outputs within 1e-5 (full,
padded and shorter probe batches) and is at least 15% faster (median of 5 runs on a probe batch of
128 full-length rows); otherwise eager. On CUDA:
eager with bf16 autocast. ``inference="jit"`` forces the trace (when it passes the check).
``bench/bench_bert_inference.py`` compares eager, TorchScript, torch.compile and ONNX Runtime: on the
2-core CPU of development all ran at the eager speed or slower for the default size (the work is in MKL
matmuls and SDPA, not Python overhead), so ``auto`` ends up eager there.

Explanations (``contributions``): occlusion by token family (``ml/sequence/families.py``): all tokens of
one family (complaints, late deliveries, low ratings, searches, orders, sessions, pauses, ...) are
hidden and the drop of the churn logit is the family's contribution, column ``seq_<family>`` (reason
texts in ``ml/reason_templates.py``). Rows without a family's tokens get 0. ``occlusion="delete"`` (default)
removes the tokens ("as if these events had not happened"); ``"mask"`` replaces them by [MASK]. Delete
is the default: the fine-tuned classifier never sees [MASK] in training, so masked inputs are out of
distribution and spread credit onto families that carry no signal. In the order-rule test (churn iff
the complaint comes before the order; filler: sessions, searches), mean contributions over churners
were orders +11.9 / sessions +0.04 / searches 0.00 with delete, but orders +10.4 / sessions +2.1 /
searches +1.3 with mask. Occlusion is not additive: with
``include_bias`` the ``bias`` column is the per-row remainder, logit - sum of contributions.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from transformers import BertForSequenceClassification, BertModel

from churn_assets.ml.sequence import Vocabulary
from churn_assets.ml.torch_utils import autocast, length_batches

log = logging.getLogger("churn_assets.ml.models.behaviour_bert")  # same logger as before the split

JIT_TOLERANCE = 1e-5


class _LogitModule(torch.nn.Module):
    """(input_ids, attention_mask) -> churn log-odds, float32 (the exportable inference graph)."""

    def __init__(self, clf: BertForSequenceClassification) -> None:
        super().__init__()
        self.clf = clf

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits = self.clf(input_ids=input_ids, attention_mask=attention_mask).logits.float()
        return logits[:, 1] - logits[:, 0]


def logits_with(fn, ids: np.ndarray, mask: np.ndarray, device: torch.device, batch_size: int) -> np.ndarray:
    """Batched log-odds of ``fn`` (sorted by length, each batch trimmed to its longest row)."""
    out = np.empty(len(ids), dtype=np.float64)
    lengths = mask.sum(1)
    with torch.inference_mode():
        for b in length_batches(lengths, int(batch_size)):
            L = int(lengths[b].max())
            inp = torch.from_numpy(ids[b, :L]).to(device)
            att = torch.from_numpy(mask[b, :L]).to(device)
            with autocast(device):
                z = fn(inp, att)
            out[b] = z.float().cpu().numpy()
    return out


def build_jit(
    eager: torch.nn.Module, probe_ids: np.ndarray, probe_mask: np.ndarray, pad_id: int, device: torch.device
) -> tuple[Any, float | None]:
    """(frozen TorchScript trace or None, max abs difference to eager or None when tracing failed).

    The trace is None when tracing fails or differs from eager by more than ``JIT_TOLERANCE``. The trace
    example contains padded rows (so the attention-mask path is what gets recorded) and the check covers
    full, padded and shorter batches of other sizes.
    """
    from transformers.utils import logging as hf_logging

    padded_ids, padded_mask = probe_ids.copy(), probe_mask.copy()
    L = probe_ids.shape[1]
    padded_ids[::2, max(1, L // 2) :] = pad_id
    padded_mask[::2, max(1, L // 2) :] = 0
    checks = [
        (probe_ids, probe_mask),
        (padded_ids, padded_mask),
        (padded_ids[:3, : max(2, L // 2 + 1)], padded_mask[:3, : max(2, L // 2 + 1)]),
    ]
    verbosity = hf_logging.get_verbosity()
    try:
        hf_logging.set_verbosity_error()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ex = (torch.from_numpy(padded_ids[:4]).to(device), torch.from_numpy(padded_mask[:4]).to(device))
            traced = torch.jit.trace(eager, ex, check_trace=False, strict=False)
            traced = torch.jit.freeze(traced.eval())
        worst = 0.0
        with torch.inference_mode():
            for a_np, m_np in checks:
                a = torch.from_numpy(np.ascontiguousarray(a_np)).to(device)
                m = torch.from_numpy(np.ascontiguousarray(m_np)).to(device)
                worst = max(worst, float((eager(a, m) - traced(a, m)).abs().max()))
        return (traced if worst <= JIT_TOLERANCE else None), worst
    except Exception as exc:  # tracing is an optimisation only
        log.info("behaviour_bert: TorchScript trace unavailable (%s); using eager", exc)
        return None, None
    finally:
        hf_logging.set_verbosity(verbosity)


def probe_batch(vocab: Vocabulary, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed synthetic probe (128 rows of random ordinary tokens, full length): the jit check does not
    depend on the data of the first call."""
    probe_ids = np.random.default_rng(0).integers(
        vocab.n_special, max(len(vocab), vocab.n_special + 1), size=(128, int(max_len))
    )
    probe_ids[:, 0] = vocab.cls_id
    return probe_ids, np.ones_like(probe_ids)


def time_median(fast, eager, ids: np.ndarray, mask: np.ndarray, device: torch.device) -> dict[str, float]:
    """Median seconds of ``fast`` and ``eager`` over 5 interleaved timed runs (after one warm-up each)."""
    a, m = torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)
    times: dict[str, list[float]] = {"fast": [], "eager": []}
    with torch.inference_mode():
        fast(a, m), eager(a, m)
        for _ in range(5):
            for name, fn in (("eager", eager), ("fast", fast)):
                t = time.perf_counter()
                fn(a, m)
                times[name].append(time.perf_counter() - t)
    return {k: float(np.median(v)) for k, v in times.items()}


def mean_pooled(
    bert: BertModel, ids: np.ndarray, mask: np.ndarray, device: torch.device, batch_size: int, hidden_size: int
) -> np.ndarray:
    """(n, hidden_size): mean of the last hidden state over the non-[PAD] positions, batched by length."""
    lengths = mask.sum(1)
    out = np.empty((len(ids), int(hidden_size)), dtype=np.float32)
    bert.eval()
    with torch.inference_mode():
        for b in length_batches(lengths, int(batch_size)):
            L = int(lengths[b].max())
            inp = torch.from_numpy(ids[b, :L]).to(device)
            att = torch.from_numpy(mask[b, :L]).to(device)
            with autocast(device):
                h = bert(input_ids=inp, attention_mask=att).last_hidden_state.float()
            m = att.unsqueeze(-1).float()
            out[b] = ((h * m).sum(1) / m.sum(1).clamp(min=1.0)).cpu().numpy()
    return out


def _occlude(ids: np.ndarray, hit: np.ndarray, vocab: Vocabulary, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Hide the ``hit`` positions: replaced by [MASK], or deleted (later tokens move left, [PAD] after)."""
    if how == "mask":
        out = ids.copy()
        out[hit] = vocab.mask_id
        return out, (out != vocab.pad_id).astype(np.int64)
    keep = ~hit & (ids != vocab.pad_id)
    order = np.argsort(~keep, axis=1, kind="stable")  # kept positions first, in their order
    out = np.take_along_axis(ids, order, axis=1)
    kept = np.take_along_axis(keep, order, axis=1)
    out[~kept] = vocab.pad_id
    return out, kept.astype(np.int64)


def occlusion_contributions(
    logits: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ids: np.ndarray,
    base: np.ndarray,
    fam: np.ndarray,
    n_families: int,
    vocab: Vocabulary,
    how: str,
) -> np.ndarray:
    """(n, n_families): drop of the log-odds ``base`` when all tokens of a family are hidden (``fam``: the
    family index of each position, -1 = special / none). Rows without a family's tokens get 0."""
    C = np.zeros((len(ids), n_families))
    for f in range(n_families):
        hit = fam == f
        rows = np.flatnonzero(hit.any(1))
        if not len(rows):
            continue
        occ_ids, occ_mask = _occlude(ids[rows], hit[rows], vocab, how)
        C[rows, f] = base[rows] - logits(occ_ids, occ_mask)
    return C
