#!/usr/bin/env bash
# Dagster UI (dagster dev, daemon included) and MLflow UI side by side. Ctrl-C (INT), TERM or HUP to this
# script stops both, with everything they started, before the script exits: each server's process group gets
# TERM, and KILL for whatever is left after UI_STOP_GRACE_S seconds (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
export PATH="$BIN:$PATH"  # mlflow shells out to uvicorn / gunicorn from the venv
export CHURN_DATA_DIR="${CHURN_DATA_DIR:-$PWD/data}"
export DAGSTER_HOME="${DAGSTER_HOME:-$CHURN_DATA_DIR/dagster_home}"
STOP_GRACE_S="${UI_STOP_GRACE_S:-10}"
mkdir -p "$CHURN_DATA_DIR/mlflow/artifacts"
# dagster.yaml (kept if there is one) and the instance's storage, created before dagster dev opens it
"$BIN/python" -c "import os, pathlib
from churn_assets.app.instance import ensure_dagster_home, init_dagster_storage
init_dagster_storage(ensure_dagster_home(pathlib.Path(os.environ['DAGSTER_HOME'])))"

SERVER_GROUPS=" "  # with job control on, a background job's PID is its process group's ID

# any process of the servers' groups still running (zombies, which hold nothing, aside)
servers_left() {
  ps -A -o pgid= -o stat= | awk -v groups="$SERVER_GROUPS" \
    'index(groups, " " $1 " ") && $2 !~ /^[ZX]/ { left = 1 } END { exit !left }'
}

# until no process of the servers' groups is left (0), or $1 seconds have passed (1)
wait_for_servers() {
  local deadline=$((SECONDS + $1))
  while servers_left; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

stop_servers() {
  trap '' INT TERM HUP  # a second Ctrl-C does not cut the stop short; it is bounded anyway
  trap - EXIT
  local pgid
  SERVER_GROUPS="$SERVER_GROUPS$(jobs -p | tr '\n' ' ')"  # a job started just before the signal, too
  [ -n "${SERVER_GROUPS// /}" ] || return 0
  echo "Stopping the Dagster and MLflow UIs..." >&2
  # the whole group: dagster dev stops its webserver, daemon and code servers on TERM (or INT) to the group
  for pgid in $SERVER_GROUPS; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  wait_for_servers "$STOP_GRACE_S" && return 0
  echo "Killing what is left after ${STOP_GRACE_S}s" >&2
  for pgid in $SERVER_GROUPS; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
  wait_for_servers 5 || echo "Some server processes are still running: process groups$SERVER_GROUPS" >&2
}
# `wait` returns as soon as a trapped signal arrives; the trap then exits, and the EXIT trap stops the servers
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

set -m  # job control: each background job gets its own process group, and dagster dev then honours SIGTERM
mlflow ui --backend-store-uri "sqlite:///$CHURN_DATA_DIR/mlflow/mlflow.db" \
  --default-artifact-root "$CHURN_DATA_DIR/mlflow/artifacts" \
  --host 127.0.0.1 --port "${MLFLOW_PORT:-5000}" &
SERVER_GROUPS="$SERVER_GROUPS$! "
dagster dev -w workspace.yaml -h 127.0.0.1 -p "${DAGSTER_PORT:-3000}" &
DAGSTER_PID=$!
SERVER_GROUPS="$SERVER_GROUPS$DAGSTER_PID "
echo "MLflow UI: http://127.0.0.1:${MLFLOW_PORT:-5000}   Dagster UI: http://127.0.0.1:${DAGSTER_PORT:-3000}"
wait "$DAGSTER_PID"
