"""Behaviour BERT fit time (MLM pretraining + fine-tuning) of two checkouts, measured alternately in one run.

    .venv/bin/python bench/bench_bert_fit.py --reference /path/to/older/checkout [--users 6000] [--repeats 2]

Each fit runs in a fresh interpreter with the checkout first on sys.path (same synthetic histories, 2 threads);
prints per-repeat seconds and the ratio this checkout / reference. Used to check that the shared training loop
(ml/torch_training.py) costs nothing against the three loops it replaced.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
FIT = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from churn_assets.ml.models.registry import create_model
from churn_assets.ml.sequence.synthetic import synthetic_sequences
data = synthetic_sequences(int(sys.argv[2]), seed=3)
m = create_model("behaviour_bert", pretrain_epochs=1, epochs=1, progress=False, num_threads=2, max_train_rows=3000)
t = time.perf_counter()
m.fit(data, data["churned"])
info = m.training_info_
print(json.dumps({"seconds": time.perf_counter() - t, "pretrain": info["pretrain_seconds"], "finetune": info["finetune_seconds"]}))
"""


def fit_seconds(checkout: Path, users: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", FIT, str(checkout), str(users)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, required=True, help="another checkout of churn_assets")
    parser.add_argument("--users", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"this": [], "reference": []}
    for i in range(args.repeats):
        for name, path in (("reference", args.reference.resolve()), ("this", HERE)):
            r = fit_seconds(path, args.users)
            runs[name].append(r)
            print(
                f"repeat {i + 1} {name:9s} fit {r['seconds']:.1f} s (pretrain {r['pretrain']:.1f}, finetune {r['finetune']:.1f})"
            )
    this, ref = (statistics.median(r["seconds"] for r in runs[k]) for k in ("this", "reference"))
    print(f"median fit: this {this:.1f} s, reference {ref:.1f} s, ratio {this / ref:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
