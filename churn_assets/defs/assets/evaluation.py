"""Evaluation report: every model on the test window, plots, and the simulator's oracle beside them."""

import base64
from pathlib import Path

import dagster as dg
import mlflow as mlflow_lib
import pandas as pd
from pydantic import Field

from churn_assets.defs.assets.training import PREDICTIONS, PREDICTIONS_KEY
from churn_assets.defs.resources import DUCKDB_POOL, DataDirectory, DuckDBWarehouse, MlflowTracking
from churn_assets.ml.metrics import binary_metrics
from churn_assets.ml.oracle import oracle_auc
from churn_assets.ml.plots import plot_all
from churn_assets.ml.thresholds import choose_threshold
from churn_assets.warehouse.tables import replace_table

COMPARISON = "reports.model_comparison"


class EvaluationConfig(dg.Config):
    threshold_rule: str = Field(
        default="best_f1", description="best_f1 | cost | fixed | top_share, chosen on validation"
    )
    contact_cost: float = Field(default=1.0, description="cost rule: cost of contacting one customer")
    value_saved: float = Field(default=50.0, description="cost rule: value of a customer kept")
    success_rate: float = Field(default=0.2, description="cost rule: share of contacted churners kept")
    fixed_threshold: float = 0.5
    top_share: float = 0.1

    def rule_params(self) -> dict:
        return {
            "cost": {
                "contact_cost": self.contact_cost,
                "value_saved": self.value_saved,
                "success_rate": self.success_rate,
            },
            "fixed": {"threshold": self.fixed_threshold},
            "top_share": {"share": self.top_share},
        }.get(self.threshold_rule, {})


def inline_png(path: Path, title: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f"**{title}**\n\n![{title}](data:image/png;base64,{data})"


def compare_models(preds: pd.DataFrame, config: EvaluationConfig) -> pd.DataFrame:
    rows = []
    for name, part in preds.groupby("model", sort=False):
        valid, test = part[part["split"] == "valid"], part[part["split"] == "test"]
        threshold = choose_threshold(config.threshold_rule, valid["churned"], valid["p_churn"], **config.rule_params())
        rows.append(
            {"model": name, "threshold": threshold, **binary_metrics(test["churned"], test["p_churn"], threshold)}
        )
    return pd.DataFrame(rows).sort_values("roc_auc", ascending=False).reset_index(drop=True)


@dg.asset(
    key=dg.AssetKey(["reports", "evaluation"]),
    deps=[PREDICTIONS_KEY],
    group_name="evaluation",
    pool=DUCKDB_POOL,  # DuckDB takes one process at a time
    description="Test-window metrics of every model at the threshold chosen on validation (accuracy, precision, "
    "recall, F1, ROC-AUC, PR-AUC, Brier, lift and capture in the top 10%), ROC / PR / calibration / gains plots, "
    "and the simulator's oracle AUC. Also written to reports.model_comparison and logged to MLflow.",
    kinds={"python", "mlflow"},
)
def evaluation(
    context: dg.AssetExecutionContext,
    config: EvaluationConfig,
    duckdb: DuckDBWarehouse,
    mlflow: MlflowTracking,
    data_dir: DataDirectory,
) -> dg.MaterializeResult:
    with duckdb.connect() as con:
        preds = con.execute(f"SELECT * FROM {PREDICTIONS}").df()
    table = compare_models(preds, config)
    test_rows = preds[(preds["split"] == "test") & (preds["model"] == preds["model"].iloc[0])]
    oracle, matched = oracle_auc(test_rows, data_dir.truth_dir())
    table["oracle_roc_auc"] = oracle
    table["gap_to_oracle"] = (oracle - table["roc_auc"]) if oracle is not None else None
    out_dir = data_dir.reports_dir() / "evaluation"
    curves = {
        m: (p.loc[p["split"] == "test", "churned"], p.loc[p["split"] == "test", "p_churn"])
        for m, p in preds.groupby("model", sort=False)
    }
    plots = plot_all(curves, out_dir)
    with duckdb.connect() as con:
        replace_table(con, COMPARISON, table)
    table.to_csv(out_dir / "model_comparison.csv", index=False)
    with mlflow.start_run("evaluation", tags={"kind": "evaluation"}):
        mlflow_lib.log_params({"threshold_rule": config.threshold_rule, **config.rule_params()})
        for row in table.itertuples():
            mlflow_lib.log_metrics({f"{row.model}_test_roc_auc": row.roc_auc, f"{row.model}_test_pr_auc": row.pr_auc})
        if oracle is not None:
            mlflow_lib.log_metric("oracle_roc_auc", oracle)
        mlflow_lib.log_table(table, "model_comparison.json")
        for path in plots.values():
            mlflow_lib.log_artifact(str(path), artifact_path="plots")
    shown = table.round(4)
    context.log.info(f"\n{shown.to_string(index=False)}")
    metadata = {
        "comparison": dg.MetadataValue.md(shown.to_markdown(index=False)),
        "oracle_roc_auc": dg.MetadataValue.float(oracle) if oracle is not None else "no ground truth (real data)",
        "oracle_rows_matched": matched,
        "threshold_rule": config.threshold_rule,
        "best_model": str(table.loc[0, "model"]),
        "report_dir": dg.MetadataValue.path(str(out_dir)),
    }
    for kind, path in plots.items():
        metadata[f"plot_{kind}"] = dg.MetadataValue.md(inline_png(path, f"{kind} (test window)"))
    return dg.MaterializeResult(metadata=metadata)
