"""Review-text models on real and simulated review corpora: every candidate of ``ReviewSentimentModel`` (TF-IDF,
encoder, stacked), its selection and the plain word 1-2-gram TF-IDF baseline, on the same held-out reviews.

    python bench/bench_text_models.py                          # every corpus in bench/review_corpora.py + simulated
    python bench/bench_text_models.py --corpus simulated --train 4000 --test 1000
    python bench/bench_text_models.py --set fine_tune_layers=4 --set truncation=head   # one configuration change

Per corpus it draws ``--train + --test`` reviews (stratified, seed 7), fits on ``--train`` and prints the
held-out ROC AUC of each candidate, of the selection and of the baseline, the selected candidate and the fit
time. ``--json FILE`` writes the rows. Real corpora come from packages (see bench/review_corpora.py for the
install commands); the simulated one is a fresh simulated shop's rated reviews.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def simulated_reviews(n_users: int = 20000, n_days: int = 150, seed: int = 7) -> pd.DataFrame:
    """The rated reviews of a fresh simulated shop (text, rating, language)."""
    import duckdb

    from churn_assets.simulate import ShopConfig, simulate_shop

    with tempfile.TemporaryDirectory() as tmp:
        simulate_shop(Path(tmp), ShopConfig(n_users=n_users, n_days=n_days, seed=seed))
        files = f"{tmp}/landing/reviews/*.parquet"
        df = duckdb.sql(
            f"SELECT text, TRY_CAST(rating AS INTEGER) AS rating FROM read_parquet('{files}', union_by_name = true) "
            "WHERE kind = 'review' AND text IS NOT NULL AND TRY_CAST(rating AS INTEGER) BETWEEN 1 AND 5"
        ).df()
    return df.assign(language="en")


def load_corpus(name: str) -> pd.DataFrame:
    if name == "simulated":
        return simulated_reviews()
    import review_corpora

    return review_corpora.load(name)


def corpus_names() -> list[str]:
    try:
        import review_corpora
    except ImportError:
        return ["simulated"]
    return [*review_corpora.CORPORA, "simulated"]


def sample(df: pd.DataFrame, n: int, seed: int = 7) -> pd.DataFrame:
    """At most ``n`` reviews, stratified by the target (rating <= 2)."""
    if len(df) <= n:
        return df.reset_index(drop=True)
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(df, train_size=n, random_state=seed, stratify=(df["rating"] <= 2).astype(int))
    return keep.reset_index(drop=True)


def parse_settings(pairs: list[str]) -> dict:
    out: dict = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def main() -> None:
    from churn_assets.ml.text_evaluation import evaluate_text_models

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", help="corpus name (repeatable); default: all")
    ap.add_argument("--train", type=int, default=4000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE", help="ReviewSentimentModel param")
    ap.add_argument("--json", type=Path, help="write the result rows here")
    args = ap.parse_args()
    params = {"progress": False, **parse_settings(args.set)}
    rows = []
    for name in args.corpus or corpus_names():
        df = sample(load_corpus(name), args.train + args.test)
        started = time.perf_counter()
        res = evaluate_text_models(
            df["text"].tolist(), df["rating"].tolist(), test_size=args.test / len(df), seed=7, **params
        )
        res = {"corpus": name, "rows": len(df), "wall_seconds": time.perf_counter() - started, **res}
        rows.append(res)
        aucs = {k.removeprefix("test_roc_auc_"): round(v, 4) for k, v in res.items() if k.startswith("test_roc_auc_")}
        valid = {k.removeprefix("valid_roc_auc_"): round(v, 4) for k, v in res.items() if k.startswith("valid_roc")}
        print(
            f"{name}: language {res['language']}, {res['n_train']} train / {res['n_test']} test, bad share "
            f"{res['test_bad_share']:.2f}; held-out AUC {aucs}; validation AUC {valid}; selected "
            f"{res['selected']}; fit {res['fit_seconds']:.0f} s",
            flush=True,
        )
    print(f"settings: {params}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=lambda v: float(v) if np.isscalar(v) else str(v)))


if __name__ == "__main__":
    main()
