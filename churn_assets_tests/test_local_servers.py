"""The server helpers: stopping a server stops its whole process group; a dead server fails fast; a Dagster
instance whose storage was created first opens from several processes at once."""

import multiprocessing
import os
import sys
import time

import pytest

from churn_assets.app.instance import write_dagster_yaml
from churn_assets_tests.local_servers import (
    HOST,
    free_port,
    init_dagster_storage,
    server_env,
    start_server,
    stop_server,
    wait_http,
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0); it is gone for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stop_server_ends_the_children_too(tmp_path):
    # the server exits on SIGTERM but leaves a child that ignores it (as a stuck worker would)
    # (the child reports its pid once it ignores SIGTERM)
    child_code = "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(os.getpid(), flush=True); time.sleep(300)"
    script = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child_code!r}]); time.sleep(300)"
    log = tmp_path / "server.log"
    proc = start_server([sys.executable, "-c", script], server_env(), log)
    deadline = time.monotonic() + 30
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(log.read_text().split()[0])
    assert os.getpgid(child) == proc.pid  # the child is in the server's own process group
    assert os.getpgid(proc.pid) != os.getpgid(0)  # ...which is not the test's
    stop_server(proc, timeout_s=5)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.returncode is not None and not alive(child)


def test_wait_http_reports_a_server_that_exits(tmp_path):
    log = tmp_path / "server.log"
    proc = start_server([sys.executable, "-c", "print('cannot bind'); raise SystemExit(3)"], server_env(), log)
    with pytest.raises(RuntimeError, match="code 3") as err:
        wait_http(f"http://{HOST}:{free_port()}/ping", proc, timeout_s=30, log=log)
    assert "cannot bind" in str(err.value)


def test_server_env_puts_the_venv_first():
    env = server_env({"EXTRA": "1"})
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
    assert env["EXTRA"] == "1"


def open_instance_at_once(home: str, barrier, results) -> None:
    import dagster as dg

    barrier.wait()
    try:
        dg.DagsterInstance.from_config(home).dispose()
        results.put("ok")
    except Exception as exc:  # reported to the test, which shows it
        results.put(f"{type(exc).__name__}: {exc}")


def test_a_dagster_home_with_its_storage_opens_from_several_processes_at_once(tmp_path):
    # a test opening the instance while `dagster dev` starts on it: on a fresh home, both would create the
    # SQLite storage and one could fail with `UNIQUE constraint failed: alembic_version.version_num`
    import dagster  # noqa: F401  (imported once here, so the forked openers start together)

    home = tmp_path / "dagster_home"
    write_dagster_yaml(home)
    init_dagster_storage(home)
    init_dagster_storage(home)  # a second call on an existing storage is harmless
    ctx = multiprocessing.get_context("fork")
    n = 4
    barrier, results = ctx.Barrier(n), ctx.Queue()
    openers = [ctx.Process(target=open_instance_at_once, args=(str(home), barrier, results)) for _ in range(n)]
    for p in openers:
        p.start()
    try:
        outcomes = [results.get(timeout=120) for _ in openers]
    finally:
        for p in openers:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    assert outcomes == ["ok"] * n
