"""Inference speed of the behaviour BERT: eager PyTorch vs a frozen TorchScript trace (and, optionally,
torch.compile and ONNX Runtime when importable), in users per second, with the max abs difference of
the churn log-odds against eager.

    .venv/bin/python bench/bench_bert_inference.py                   # default-size model, 20k users
    .venv/bin/python bench/bench_bert_inference.py --model data/... --users 50000 --threads 2
    .venv/bin/python bench/bench_bert_inference.py --compile --onnx  # also torch.compile / ONNX Runtime

Without ``--model`` a default-size model is built on synthetic histories with no training (speed does
not depend on the weights; the equality check does not either). With ``inference="auto"``, ``predict_proba``
uses TorchScript on CPU only when the trace matches eager within 1e-5 and is >= 15% faster on a probe
batch; the last line says which one it picks on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from churn_assets.ml.models import create_model, load_model  # noqa: E402
from churn_assets.ml.models.behaviour_bert import _LogitModule  # noqa: E402
from churn_assets.ml.sequence.synthetic import synthetic_sequences  # noqa: E402
from churn_assets.ml.torch_utils import auto_threads  # noqa: E402


def timed(fn, model, ids, mask, repeats: int) -> tuple[float, np.ndarray]:
    model._logits_with(fn, ids[:256], mask[:256])  # warm-up (first-call compilation / allocation)
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = model._logits_with(fn, ids, mask)
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> int:
    args = _parse_args()
    threads = args.threads or auto_threads()
    torch.set_num_threads(threads)
    data = synthetic_sequences(args.users, seed=3)
    model = _model(args, data, threads)
    model.set_params(eval_batch_size=args.batch_size)
    ids, mask = model._encode(data["event_tokens"].tolist())
    print(
        f"device={model.torch_device} threads={threads} users={len(ids)} mean_len={mask.sum(1).mean():.1f} "
        f"batch={args.batch_size} params={sum(p.numel() for p in model.model_.parameters())}"
    )

    results: dict[str, tuple[float, float]] = {}
    eager = _LogitModule(model.model_).eval()
    t_eager, z_eager = timed(eager, model, ids, mask, args.repeats)
    results["eager"] = (len(ids) / t_eager, 0.0)
    _bench_torchscript(model, ids, mask, z_eager, args, results)
    if args.compile:
        _bench_compile(model, eager, ids, mask, z_eager, args, results)
    if args.onnx:
        _bench_onnx(model, eager, ids, mask, z_eager, args, results)

    _print_results(results)
    _print_auto_choice(model)
    return 0


def _parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="a saved behaviour_bert directory (default: build one)")
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: free cores)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--compile", action="store_true", help="also torch.compile (slow first call)")
    ap.add_argument("--onnx", action="store_true", help="also ONNX Runtime, when onnx/onnxruntime import")
    return ap.parse_args()


def _model(args, data, threads: int):
    """The saved model of --model, else a default-size one fitted without epochs on the first 2000 histories."""
    if args.model:
        return load_model(args.model)
    model = create_model("behaviour_bert", pretrain_epochs=0, epochs=0, progress=False, num_threads=threads)
    model.fit(data.iloc[:2000], data["churned"].iloc[:2000])
    return model


def _bench_torchscript(model, ids, mask, z_eager, args, results) -> None:
    t0 = time.perf_counter()
    traced = model._build_jit(*_probe(model))
    build = time.perf_counter() - t0
    if traced is None:
        print("torchscript: trace unavailable or outputs differ from eager by more than 1e-5")
    else:
        t_jit, z_jit = timed(traced, model, ids, mask, args.repeats)
        results["torchscript"] = (len(ids) / t_jit, float(np.abs(z_jit - z_eager).max()))
        print(f"torchscript: trace + freeze + check took {build:.2f}s")


def _bench_compile(model, eager, ids, mask, z_eager, args, results) -> None:
    try:
        compiled = torch.compile(eager, dynamic=True)
        t0 = time.perf_counter()
        t_c, z_c = timed(compiled, model, ids, mask, args.repeats)
        results["torch.compile"] = (len(ids) / t_c, float(np.abs(z_c - z_eager).max()))
        print(f"torch.compile: first calls + timing took {time.perf_counter() - t0:.1f}s")
    except Exception as exc:  # noqa: BLE001
        print(f"torch.compile unavailable: {type(exc).__name__}: {str(exc)[:200]}")


def _print_results(results: dict[str, tuple[float, float]]) -> None:
    print(f"\n{'backend':<14}{'users/s':>12}{'vs eager':>10}{'max |dz|':>12}")
    base = results["eager"][0]
    for name, (ups, diff) in results.items():
        print(f"{name:<14}{ups:>12,.0f}{ups / base:>9.2f}x{diff:>12.2e}")


def _print_auto_choice(model) -> None:
    """Which backend predict_proba picks with inference='auto' (its probe batch decides)."""
    model.set_params(inference="auto")
    model._runner = None
    model._runner_for()
    timing = getattr(model, "inference_timing_", None)
    extra = (
        f" (probe batch: eager {timing['eager'] * 1e3:.1f} ms, torchscript {timing['fast'] * 1e3:.1f} ms)"
        if timing
        else ""
    )
    print(f"\npredict_proba (inference='auto') on {model.torch_device.type} uses: {model.inference_backend_}{extra}")


def _probe(model):
    v = model.vocab_
    ids = np.random.default_rng(0).integers(
        v.n_special, max(len(v), v.n_special + 1), size=(16, int(model.params["max_len"]))
    )
    ids[:, 0] = v.cls_id
    return ids, np.ones_like(ids)


def _bench_onnx(model, eager, ids, mask, z_eager, args, results) -> None:
    try:
        import onnxruntime as ort  # noqa: F401
    except ImportError:
        print("onnxruntime not installed: ONNX Runtime skipped (not a project dependency)")
        return
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = f"{tmp}/bert.onnx"
            ex = (torch.from_numpy(ids[:4, :32]), torch.from_numpy(mask[:4, :32]))
            torch.onnx.export(
                eager,
                ex,
                path,
                input_names=["input_ids", "attention_mask"],
                output_names=["z"],
                dynamic_axes={"input_ids": {0: "b", 1: "l"}, "attention_mask": {0: "b", 1: "l"}, "z": {0: "b"}},
                dynamo=False,
            )
            so = ort.SessionOptions()
            so.intra_op_num_threads = torch.get_num_threads()
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

            def run(a, m):
                z = sess.run(None, {"input_ids": a.numpy(), "attention_mask": m.numpy()})[0]
                return torch.from_numpy(z)

            t, z = timed(run, model, ids, mask, args.repeats)
            results["onnxruntime"] = (len(ids) / t, float(np.abs(z - z_eager).max()))
    except Exception as exc:  # noqa: BLE001
        print(f"ONNX export / runtime failed: {type(exc).__name__}: {str(exc)[:300]}")


if __name__ == "__main__":
    raise SystemExit(main())
