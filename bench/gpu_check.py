"""GPU check for the behaviour BERT: a fixed number of training steps on CUDA with synthetic sequences.

    .venv/bin/python bench/gpu_check.py                       # 200 pretrain + 200 fine-tune steps
    .venv/bin/python bench/gpu_check.py --steps 500 --batch-size 512 --hidden 256 --layers 4 --heads 4

Runs the real ``BehaviourBertModel.pretrain`` / ``fit`` code (bf16 autocast on CUDA) with
``max_pretrain_rows = max_train_rows = steps * batch_size`` and one epoch each, then scores the
sequences, and prints steps/s, sequences/s and the peak GPU memory. Without CUDA it says so and
exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="behaviour BERT training steps on CUDA")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--max-len", type=int, default=128)
    return ap.parse_args()


def make_model(args: argparse.Namespace, n: int):
    """The behaviour BERT under test: one epoch of pretraining and of fine-tuning over `n` sequences, on CUDA."""
    from churn_assets.ml.models import create_model

    return create_model(
        "behaviour_bert",
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=4 * args.hidden,
        max_len=args.max_len,
        batch_size=args.batch_size,
        eval_batch_size=4 * args.batch_size,
        pretrain_epochs=1,
        epochs=1,
        max_pretrain_rows=n,
        max_train_rows=n,
        progress=False,
        device="cuda",
    )


def print_results(args: argparse.Namespace, n: int, info: dict, score_s: float, peak: float) -> None:
    steps = -(-n // args.batch_size)
    print(
        f"model: hidden {args.hidden}, {args.layers} layers, {args.heads} heads, max_len {args.max_len}, "
        f"{info['n_parameters']:,} parameters, batch {args.batch_size}, device {info['device']}"
    )
    for phase, secs in (("pretrain (MLM)", info["pretrain_seconds"]), ("fine-tune", info["finetune_seconds"])):
        print(f"{phase:<15} {steps} steps in {secs:6.1f}s: {steps / secs:7.1f} steps/s, {n / secs:9,.0f} sequences/s")
    print(f"{'scoring':<15} {n} sequences in {score_s:6.1f}s: {n / score_s:9,.0f} sequences/s")
    print(f"peak GPU memory {peak:,.0f} MiB")


def main() -> int:
    args = parse_args()

    import torch

    if not torch.cuda.is_available():
        print(
            f"no CUDA device visible to torch {torch.__version__} "
            f"(built with CUDA {torch.version.cuda or 'none'}): GPU check skipped"
        )
        return 0

    from churn_assets.ml.sequence.synthetic import synthetic_sequences

    n = args.steps * args.batch_size
    t0 = time.perf_counter()
    data = synthetic_sequences(n, seed=0, max_tokens=args.max_len - 1)
    print(f"{torch.cuda.get_device_name(0)}; {n} synthetic sequences made in {time.perf_counter() - t0:.1f}s")
    model = make_model(args, n)
    torch.cuda.reset_peak_memory_stats()
    model.pretrain(data["event_tokens"])
    model.fit(data, data["churned"])
    torch.cuda.synchronize()
    info = model.training_info_
    t0 = time.perf_counter()
    model.predict_proba(data)
    torch.cuda.synchronize()
    score_s = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20
    print_results(args, n, info, score_s, peak)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
