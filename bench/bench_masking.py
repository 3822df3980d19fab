"""Time the ingestion's e-mail / phone masking (churn_assets/ingest/privacy.py) in DuckDB.

    python bench/bench_masking.py --rows 1000000
    python bench/bench_masking.py --rows 1000000 --privacy-file /tmp/old_privacy.py   # another version

Texts are review-like sentences (words, prices, dates, order numbers), one in ten with an e-mail
address or a phone number. Prints rows, wall seconds, CPU seconds (steadier on a busy machine) and rows
per wall second for the masking query alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import time

import duckdb
import numpy as np

WORDS = "produto chegou rápido muito bom entrega atrasou pedido qualidade ótima recomendo loja veio errado".split()
EXTRAS = ["R$ 129,90", "em 03/05/2024", "pedido #12345", "2 unidades", "às 10:30", "19.99", "desde 2019"]
PII = ["joao.silva@gmail.com", "+55 11 91234-5678", "(11) 98765-4321", "11912345678", "joao at gmail dot com"]


def texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        words = list(rng.choice(WORDS, size=int(rng.integers(4, 25))))
        words.insert(int(rng.integers(0, len(words))), EXTRAS[i % len(EXTRAS)])
        if i % 10 == 0:
            words.insert(int(rng.integers(0, len(words))), PII[(i // 10) % len(PII)])
        out.append(" ".join(words))
    return out


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_mask_sql(path: str | None):
    if path is None:
        from churn_assets.ingest.privacy import mask_pii_sql

        return mask_pii_sql
    spec = importlib.util.spec_from_file_location("privacy_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.mask_pii_sql


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--privacy-file", default=None, help="a privacy.py to time instead of the installed one")
    args = p.parse_args(argv)
    mask_pii_sql = load_mask_sql(args.privacy_file)
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    con.execute("CREATE TABLE t AS SELECT unnest($texts) AS text", {"texts": texts(args.rows)})
    start, cpu_start = time.perf_counter(), cpu_seconds()
    masked = con.execute(
        f"SELECT count(*) FILTER (WHERE m LIKE '%[email]%'), count(*) FILTER (WHERE m LIKE '%[phone]%') "
        f"FROM (SELECT {mask_pii_sql('text')} AS m FROM t)"
    ).fetchall()[0]
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    result = {
        "rows": args.rows,
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "rows_per_s": round(args.rows / seconds),
        "with_email": masked[0],
        "with_phone": masked[1],
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
