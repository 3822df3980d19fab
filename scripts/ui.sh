#!/usr/bin/env bash
# Dagster UI (dagster dev, daemon included) and MLflow UI side by side; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
export PATH="$BIN:$PATH"  # mlflow shells out to uvicorn / gunicorn from the venv
DATA_DIR="${CHURN_DATA_DIR:-$PWD/data}"
mkdir -p "$DATA_DIR/mlflow/artifacts"
set -m  # job control: background jobs get their own process group and honour SIGTERM
mlflow ui --backend-store-uri "sqlite:///$DATA_DIR/mlflow/mlflow.db" \
  --default-artifact-root "$DATA_DIR/mlflow/artifacts" \
  --host 127.0.0.1 --port "${MLFLOW_PORT:-5000}" &
MLFLOW_PID=$!
dagster dev -w workspace.yaml -h 127.0.0.1 -p "${DAGSTER_PORT:-3000}" &
DAGSTER_PID=$!
# Ctrl-C or a TERM to this script stops both servers (each runs in its own process group)
trap 'kill -TERM -- -"$DAGSTER_PID" -"$MLFLOW_PID" 2>/dev/null || true' EXIT INT TERM
echo "MLflow UI: http://127.0.0.1:${MLFLOW_PORT:-5000}   Dagster UI: http://127.0.0.1:${DAGSTER_PORT:-3000}"
wait "$DAGSTER_PID"
