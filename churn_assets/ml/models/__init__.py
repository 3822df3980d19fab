"""Churn models: one module per model, a shared base class and a name registry.

    from churn_assets.ml.models import create_model, available_models, load_model
    model = create_model("gbt", n_estimators=300).fit(X_train, y_train, eval_set=(X_valid, y_valid))
    p = model.predict_proba(X_test)[:, 1]
    model.save(path); same = load_model(path)

To add a model: write ``models/<name>.py`` with a ``@register_model("<name>")`` ChurnModel subclass
and import it below (or ``register_lazy`` it when its imports are heavy).
"""

from churn_assets.ml.models.base import NON_FEATURE_COLUMNS, ChurnModel, infer_feature_columns
from churn_assets.ml.models.bgnbd import BGNBDModel  # noqa: E402
from churn_assets.ml.models.calibration import CalibratedModel  # noqa: E402
from churn_assets.ml.models.gbt import GBTChurnModel  # noqa: E402
from churn_assets.ml.models.logistic import LogisticChurnModel  # noqa: E402

# built-in models (importing registers them)
from churn_assets.ml.models.recency import RecencyRuleModel  # noqa: E402
from churn_assets.ml.models.registry import (
    MODEL_REGISTRY,
    available_models,
    create_model,
    get_model_class,
    load_model,
    register_lazy,
    register_model,
)

# torch models: imported on first use only
register_lazy("behaviour_bert", "churn_assets.ml.models.behaviour_bert:BehaviourBertModel")
register_lazy("hybrid_gbt", "churn_assets.ml.models.hybrid:HybridGBTModel")

__all__ = [
    "NON_FEATURE_COLUMNS",
    "ChurnModel",
    "infer_feature_columns",
    "MODEL_REGISTRY",
    "available_models",
    "create_model",
    "get_model_class",
    "load_model",
    "register_lazy",
    "register_model",
    "RecencyRuleModel",
    "BGNBDModel",
    "LogisticChurnModel",
    "GBTChurnModel",
    "CalibratedModel",
]
