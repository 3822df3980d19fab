"""scripts/ui.sh (`make ui`): a TERM to the script stops everything it started (slow: it starts dagster dev and the
MLflow UI on loopback)."""

import os
import signal
import time
from pathlib import Path

import pytest

from churn_assets_tests.local_servers import HOST, free_port, server_env, start_server, wait_http

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def session_processes(sid: int) -> dict[int, str]:
    """Live processes (zombies aside) of session `sid`: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile
            continue
        state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == sid and state not in ("Z", "X"):
            found[int(entry.name)] = cmdline
    return found


def kill_session(sid: int, timeout_s: float = 30) -> None:
    """SIGKILL every process of session `sid`, again for any started meanwhile, until none is left."""
    deadline = time.monotonic() + timeout_s
    while (left := session_processes(sid)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)


def test_a_term_to_ui_sh_stops_dagster_dev_and_mlflow_with_all_their_processes(tmp_path):
    base = tmp_path / "data"
    dagster_port, mlflow_port = free_port(), free_port()
    env = server_env(
        {
            "CHURN_DATA_DIR": str(base),
            "DAGSTER_HOME": str(base / "dagster_home"),
            "DAGSTER_PORT": str(dagster_port),
            "MLFLOW_PORT": str(mlflow_port),
        }
    )
    log = tmp_path / "ui.log"
    # a new session: every process the script starts, in whatever process group, keeps its session id
    script = start_server(["bash", str(REPO / "scripts" / "ui.sh")], env, log, cwd=tmp_path)
    try:
        wait_http(f"http://{HOST}:{dagster_port}/server_info", script, timeout_s=300, log=log)
        wait_http(f"http://{HOST}:{mlflow_port}/health", script, timeout_s=180, log=log)
        started = " ".join(session_processes(script.pid).values())
        parts = ("dagster dev", "dagster_webserver", "dagster._daemon", "dagster code-server", "mlflow ui", "uvicorn")
        for part in parts:
            assert part in started, f"no {part!r} process among {started}"
        assert (base / "mlflow" / "mlflow.db").exists() and (base / "dagster_home" / "dagster.yaml").exists()

        script.send_signal(signal.SIGTERM)
        script.wait(timeout=90)  # TERM to each server's process group, KILL for what is left after a grace
        assert script.returncode == 143, log.read_text(errors="replace")[-3000:]
        # the script exits only once its servers have stopped: none of their processes outlives it
        left = session_processes(script.pid)
        assert not left, f"still running after the script exited: {left}\n{log.read_text(errors='replace')[-3000:]}"
    finally:
        kill_session(script.pid)
        script.wait(timeout=30)
