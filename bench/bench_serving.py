"""Real-time scoring: latency and throughput of `mlflow models serve` on the champion alias.

Simulates a small shop, runs the pipeline through the Dagster jobs up to the champion (gradient-boosted
trees by default), starts `mlflow models serve -m models:/churn_model@champion --env-manager local` on
loopback, then measures
  * single-request latency (one user's feature row per request, one keep-alive connection, sequential):
    p50 / p99 / mean over --requests requests after --warmup;
  * batch throughput: rows per second for each --batch size (median of --repeats requests);
  * the same batches scored in-process by the pyfunc (no HTTP), for the serving overhead.

    python bench/bench_serving.py
    python bench/bench_serving.py --users 3000 --requests 1000 --batch 100 --batch 1000 --batch 5000
"""

import argparse
import http.client
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb
import mlflow
import numpy as np
import pandas as pd

from churn_assets.defs.build import build_definitions
from churn_assets.defs.resources import MlflowTracking
from churn_assets.ingest.landing_files import landing_days
from churn_assets.simulate import ShopConfig, simulate_shop
from churn_assets_tests.local_servers import (
    HOST,
    free_port,
    model_server_args,
    server_env,
    start_server,
    stop_server,
    wait_http,
)
from churn_assets_tests.pipeline_fixtures import ingest_range, run_job

SMALL_TEXT_MODEL = {"max_train_texts": 300, "fine_tune_layers": 1, "epochs": 1, "batch_size": 32, "max_len": 64}


def train_champion(base: Path, users: int, days: int, model: str) -> pd.DataFrame:
    """Simulate, ingest, build, train; returns the newest as-of date's feature rows."""
    simulate_shop(base, ShopConfig(n_users=users, n_days=days, seed=7))
    defs, instance = build_definitions(base), dg.DagsterInstance.ephemeral()
    landing = landing_days(base / "landing")
    ingest_range(defs, instance, landing[0], landing[-1], landing=base / "landing")
    run_job(defs, "build_job", instance, run_config={"ops": {"ml__review_negativity": {"config": SMALL_TEXT_MODEL}}})
    run_job(defs, "train_job", instance, run_config={"ops": {"ml__trained_models": {"config": {"models": [model]}}}})
    with duckdb.connect(str(base / "churn.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT * FROM marts.user_features WHERE as_of_date = (SELECT max(as_of_date) FROM marts.user_features)"
        ).df()


def payload(frame: pd.DataFrame) -> bytes:
    return json.dumps(
        {"dataframe_split": json.loads(frame.to_json(orient="split", index=False, date_format="iso"))}
    ).encode()


def post(conn: http.client.HTTPConnection, body: bytes) -> list:
    conn.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"/invocations answered {resp.status}: {data[:500]!r}")
    return json.loads(data)["predictions"]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main(argv: list[str] | None = None) -> dict:
    a = _parse_args(argv)
    batches = a.batch or [100, 1000]
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="bench_serving_") as tmp:
        base = Path(tmp)
        tracking, columns, rows = _champion_rows(base, a, max(batches))
        port = free_port()
        log = base / "serve.log"
        env = server_env({"MLFLOW_TRACKING_URI": tracking.resolved_uri()})
        server = start_server(model_server_args(tracking.champion_uri(), port), env, log)
        try:
            t0 = time.monotonic()
            wait_http(f"http://{HOST}:{port}/ping", server, timeout_s=300, log=log)
            startup_s = time.monotonic() - t0
            conn = http.client.HTTPConnection(HOST, port, timeout=300)
            latencies = _time_singles(conn, rows, a.warmup, a.requests)
            batch_results = _time_batches(conn, rows, batches, a.repeats, tracking.champion_uri())
            conn.close()
        finally:
            stop_server(server)

    result = {
        "users": a.users,
        "days": a.days,
        "model": a.model,
        "feature_columns": len(columns),
        "cpus": os.cpu_count(),
        "server_startup_s": startup_s,
        "requests": a.requests,
        "single_p50_ms": percentile(latencies, 50),
        "single_p99_ms": percentile(latencies, 99),
        "single_mean_ms": statistics.fmean(latencies),
        "batches": batch_results,
        "load_avg_before": load_before[0],
        "load_avg_after": os.getloadavg()[0],
    }
    _print_result(result)
    print(json.dumps(result))
    return result


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--days", type=int, default=150)
    p.add_argument("--model", default="gbt", help="the model trained (it becomes the champion)")
    p.add_argument("--requests", type=int, default=500, help="single-row requests timed")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--batch", type=int, action="append", help="batch sizes (default 100 and 1000)")
    p.add_argument("--repeats", type=int, default=7, help="requests per batch size")
    return p.parse_args(argv)


def _champion_rows(base: Path, a: argparse.Namespace, min_rows: int) -> tuple[MlflowTracking, list[str], pd.DataFrame]:
    """Train the champion; returns the tracking, the champion's input columns and at least min_rows feature rows."""
    started = time.monotonic()
    rows = train_champion(base, a.users, a.days, a.model)
    print(f"[bench] shop simulated and champion trained in {time.monotonic() - started:.0f}s; {len(rows)} feature rows")
    tracking = MlflowTracking.local(base)
    tracking.setup()
    info = mlflow.models.get_model_info(tracking.champion_uri())
    columns = info.signature.inputs.input_names()
    # integer counts as doubles, as in the signature (MLflow will not cast int64 to float64 by itself)
    rows = rows[columns].apply(lambda c: c.astype("float64") if pd.api.types.is_integer_dtype(c) else c)
    while len(rows) < min_rows:  # repeat users when the shop has fewer active users than a batch
        rows = pd.concat([rows, rows], ignore_index=True)
    return tracking, columns, rows


def _time_singles(conn: http.client.HTTPConnection, rows: pd.DataFrame, warmup: int, requests: int) -> list[float]:
    """Milliseconds of each of `requests` sequential one-row requests, after `warmup` untimed ones."""
    singles = [payload(rows.iloc[[i % len(rows)]]) for i in range(warmup + requests)]
    for body in singles[:warmup]:
        post(conn, body)
    latencies = []
    for body in singles[warmup:]:
        t = time.perf_counter()
        answer = post(conn, body)
        latencies.append((time.perf_counter() - t) * 1000)
        assert len(answer) == 1 and 0 <= answer[0]["churn_probability"] <= 1
    return latencies


def _time_batches(
    conn: http.client.HTTPConnection, rows: pd.DataFrame, batches: list[int], repeats: int, model_uri: str
) -> dict:
    """Per batch size: the median of `repeats` requests over HTTP, and of the same batch scored in-process."""
    batch_results = {}
    pyfunc = mlflow.pyfunc.load_model(model_uri)
    for size in batches:
        frame = rows.head(size)
        body = payload(frame)
        times, local = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            answer = post(conn, body)
            times.append(time.perf_counter() - t)
            assert len(answer) == size
            t = time.perf_counter()
            pyfunc.predict(frame)
            local.append(time.perf_counter() - t)
        batch_results[size] = {
            "http_median_s": statistics.median(times),
            "http_rows_per_s": size / statistics.median(times),
            "in_process_rows_per_s": size / statistics.median(local),
            "payload_kib": len(body) / 1024,
        }
    return batch_results


def _print_result(result: dict) -> None:
    print(
        f"== mlflow models serve, champion {result['model']}, {result['feature_columns']} input columns, "
        f"{result['cpus']} CPUs"
    )
    print(f"   server ready in {result['server_startup_s']:.1f}s")
    print(
        f"   single row: p50 {result['single_p50_ms']:.1f} ms, p99 {result['single_p99_ms']:.1f} ms, "
        f"mean {result['single_mean_ms']:.1f} ms over {result['requests']} requests"
    )
    for size, r in result["batches"].items():
        print(
            f"   batch {size:>5}: {r['http_rows_per_s']:,.0f} rows/s over HTTP ({r['http_median_s'] * 1000:.0f} ms per request, "
            f"{r['payload_kib']:.0f} KiB), {r['in_process_rows_per_s']:,.0f} rows/s in-process"
        )
    print(f"   load average (1 min) before {result['load_avg_before']:.1f}, after {result['load_avg_after']:.1f}")


if __name__ == "__main__":
    main()
