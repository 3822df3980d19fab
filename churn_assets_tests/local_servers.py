"""Start and stop local servers (mlflow models serve, mlflow ui, dagster dev) on loopback.

Each server runs in its own process group (start_new_session), so stopping it by its PID's group also
stops the children it spawns (uvicorn workers, the Dagster daemon and code server). Used by the
serving test, the serving benchmark, the browser test, the live daemon test and scripts/ui.sh.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from churn_assets.app.instance import init_dagster_storage

HOST = "127.0.0.1"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment with the venv's bin first on PATH: mlflow shells out to uvicorn /
    gunicorn, and dagster dev starts the webserver and daemon from there."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _default_stop_signals() -> None:
    """In the child before exec: TERM, INT and HUP unblocked and at their default action. A blocked signal mask
    survives exec, and a thread of the test process (a library's worker) may have TERM blocked; the server,
    or a shell script that traps TERM, would then never see the TERM that stops it."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


def start_server(
    args: Sequence[str], env: Mapping[str, str], log: IO | Path, cwd: str | Path | None = None
) -> subprocess.Popen:
    """Start `args` in a new session (its own process group), output to `log` (file or path)."""
    out = open(log, "ab") if isinstance(log, (str, Path)) else log
    try:
        return subprocess.Popen(
            list(args),
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_default_stop_signals,
        )
    finally:
        if out is not log:
            out.close()  # the child holds its own copy of the descriptor


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 180.0, log: Path | None = None) -> None:
    """Poll `url` until it answers 200; fail early when the server process exits."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f}s (last: {last})\n{tail}")


def stop_server(proc: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """SIGTERM the server's process group, SIGKILL it if it has not exited in time."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pass
    try:  # children (uvicorn workers, dagster's daemon) that outlived their parent
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def model_server_args(model_uri: str, port: int, workers: int = 1) -> list[str]:
    return [
        str(VENV_BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        "local",
        "-h",
        HOST,
        "-p",
        str(port),
        "-w",
        str(workers),
    ]


def mlflow_ui_args(backend_uri: str, artifact_root: str, port: int) -> list[str]:
    return [
        str(VENV_BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        backend_uri,
        "--default-artifact-root",
        artifact_root,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def dagster_dev_args(port: int, workspace: str | Path) -> list[str]:
    return [str(VENV_BIN / "dagster"), "dev", "-w", str(workspace), "-h", HOST, "-p", str(port)]


def start_dagster_dev(
    home: str | Path,
    port: int,
    workspace: str | Path,
    env: Mapping[str, str],
    log: IO | Path,
    cwd: str | Path | None = None,
) -> subprocess.Popen:
    """`dagster dev` on the instance at `home` (DAGSTER_HOME, with its dagster.yaml), whose storage is
    created first (`init_dagster_storage`): the caller may open the same instance at once."""
    init_dagster_storage(home)
    return start_server(dagster_dev_args(port, workspace), {**env, "DAGSTER_HOME": str(home)}, log, cwd=cwd)
