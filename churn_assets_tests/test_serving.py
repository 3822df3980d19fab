"""Real-time scoring: `mlflow models serve` on the champion alias answers a feature row on loopback."""

import json
import urllib.request

import numpy as np
import pandas as pd
import pytest

from churn_assets.defs.resources import MlflowTracking
from churn_assets.ml.champion import Candidate, ChampionDecision
from churn_assets.ml.models.registry import create_model
from churn_assets.ml.reasons import NO_SINGLE_FACTOR
from churn_assets.warehouse.mlflow_store import apply_decision, log_model_run
from churn_assets_tests.local_servers import (
    HOST,
    free_port,
    model_server_args,
    server_env,
    start_server,
    stop_server,
    wait_http,
)
from churn_assets_tests.pipeline_fixtures import data_dir_env

pytestmark = pytest.mark.slow


def feature_rows(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows shaped like marts.user_features: churn rises with days since the last order."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "as_of_date": pd.Timestamp("2026-06-01"),
            "days_since_last_order": rng.integers(0, 120, n).astype("float64"),
            "orders_total": rng.poisson(4, n).astype("float64"),
            "membership": rng.choice(["none", "silver", "gold"], n),
        }
    )
    logit = 0.05 * (X["days_since_last_order"] - 45) - 0.2 * (X["orders_total"] - 4)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def invoke(port: int, frame: pd.DataFrame) -> list[dict]:
    body = json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False, date_format="iso"))})
    request = urllib.request.Request(
        f"http://{HOST}:{port}/invocations", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read())["predictions"]


def test_served_champion_answers_a_feature_row(tmp_path):
    X, y = feature_rows(600)
    with data_dir_env(tmp_path):
        tracking = MlflowTracking.local(tmp_path)
        model = create_model("logistic").fit(X, y)
        run_id, uri = log_model_run(tracking, model, "logistic", {}, {}, X)
        apply_decision(tracking, ChampionDecision(Candidate("logistic", 0.8, 0.8, run_id, uri), None, True, "first"))
        tracking_uri = tracking.resolved_uri()

    port = free_port()
    log = tmp_path / "serve.log"
    env = server_env({"MLFLOW_TRACKING_URI": tracking_uri})
    server = start_server(model_server_args("models:/churn_model@champion", port), env, log, cwd=tmp_path)
    try:
        wait_http(f"http://{HOST}:{port}/ping", server, timeout_s=180, log=log)
        lapsed = X.assign(days_since_last_order=[115.0] * len(X), orders_total=[1.0] * len(X)).head(1)
        loyal = X.assign(days_since_last_order=[2.0] * len(X), orders_total=[12.0] * len(X)).head(1)
        answers = invoke(port, pd.concat([lapsed, loyal]))
    finally:
        stop_server(server)
    assert server.returncode is not None

    assert len(answers) == 2
    for answer in answers:
        assert 0.0 <= answer["churn_probability"] <= 1.0
        assert answer["tier"] in {"high", "medium", "low"}
        assert isinstance(answer["reasons"], str)
    lapsed_answer, loyal_answer = answers
    assert lapsed_answer["churn_probability"] > 0.6 > 0.3 > loyal_answer["churn_probability"]
    assert (lapsed_answer["tier"], loyal_answer["tier"]) == ("high", "low")
    # reasons name what pushes the risk up: the long gap since the last order for the lapsed user;
    # nothing pushes the loyal user's risk above the average, and the answer says so in words
    assert "order" in lapsed_answer["reasons"], lapsed_answer
    assert loyal_answer["reasons"] == NO_SINGLE_FACTOR, loyal_answer
    # the same numbers as the model in-process
    expected = model.predict_proba(pd.concat([lapsed, loyal]))[:, 1]
    assert [a["churn_probability"] for a in answers] == pytest.approx(expected, rel=1e-6)
