"""Small torch helpers shared by the behaviour BERT and the review-text model (imports torch).

* ``pick_device("auto")``: CUDA when ``torch.cuda.is_available()``, else CPU; same code on both.
* ``autocast(device)``: bf16 autocast on CUDA, a no-op on CPU.
* ``torch_seed(seed)``: a block with torch's RNG (CPU and CUDA) seeded, the caller's RNG state restored
  after it, so that fitting a model never reseeds the process.
* ``cpu_threads(n)``: a context manager that sets ``torch.set_num_threads`` and restores it. With
  ``n=None`` it picks ``auto_threads()``: the cores not already busy (1-minute load average), at least
  one, at most torch's default. On a small shared machine, OpenMP with more threads than free cores is
  many times SLOWER than one thread (threads spin at barriers while a core is taken), so this matters.
* ``linear_schedule``: linear warm-up then linear decay to zero (a LambdaLR factor).
* ``length_batches``: "sortish" batches of row indices grouped by sequence length (less padding).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import torch


def pick_device(device: str | torch.device | None = "auto") -> torch.device:
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def torch_seed(seed: int):
    """Seed torch (weight init, dropout) for the block only: fork_rng restores the global state after it."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


def auto_threads() -> int:
    default = torch.get_num_threads()
    n_cpu = os.cpu_count() or 1
    try:
        # the load average counts this process too: only load beyond one runnable thread is someone else's
        busy = max(0, int(os.getloadavg()[0] + 0.5) - 1)
    except (AttributeError, OSError):
        busy = 0
    return max(1, min(default, n_cpu - busy, n_cpu))


@contextlib.contextmanager
def cpu_threads(n: int | None, device: torch.device | None = None):
    """Run the block with ``n`` intra-op threads (auto when None); nothing changes on CUDA."""
    if device is not None and device.type != "cpu":
        yield torch.get_num_threads()
        return
    before = torch.get_num_threads()
    n = auto_threads() if n is None else max(1, int(n))
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def linear_schedule(total_steps: int, warmup_steps: float):
    total_steps = max(1, int(total_steps))
    warmup_steps = max(0, min(int(warmup_steps), total_steps - 1))

    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def length_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None = None, pool: int = 50
) -> Iterator[np.ndarray]:
    """Batches of row indices with similar lengths.

    With ``rng`` (training): shuffle, cut into pools of ``pool`` batches, sort each pool by length,
    batch, and shuffle the batch order. Without (inference): all rows sorted by length, in order.
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    if n == 0:
        return iter(())
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return iter([order[i : i + batch_size] for i in range(0, n, batch_size)])
    perm = rng.permutation(n)
    batches: list[np.ndarray] = []
    step = batch_size * pool
    for s in range(0, n, step):
        chunk = perm[s : s + step]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return iter([batches[i] for i in rng.permutation(len(batches))])
