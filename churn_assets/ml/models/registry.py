"""Model registry: a name -> ChurnModel subclass table.

Adding a model is one class plus one registration::

    @register_model("my_model")
    class MyModel(ChurnModel): ...

and importing its module in ``churn_assets/ml/models/__init__.py``. A model with heavy imports
(torch, transformers) can instead be registered lazily, so that it is only imported when used::

    register_lazy("bert_seq", "churn_assets.ml.models.bert_seq:BertSequenceModel")
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from churn_assets.ml.models.base import ChurnModel

MODEL_REGISTRY: dict[str, type[ChurnModel]] = {}
_LAZY: dict[str, str] = {}

T = TypeVar("T", bound=type[ChurnModel])


def register_model(name: str) -> Callable[[T], T]:
    """Class decorator: register a ChurnModel subclass under ``name`` (also sets ``cls.name``)."""

    def deco(cls: T) -> T:
        if not (isinstance(cls, type) and issubclass(cls, ChurnModel)):
            raise TypeError(f"{cls!r} is not a ChurnModel subclass")
        existing = MODEL_REGISTRY.get(name)
        if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"model name {name!r} already registered to {existing.__name__}")
        cls.name = name
        MODEL_REGISTRY[name] = cls
        _LAZY.pop(name, None)
        return cls

    return deco


def register_lazy(name: str, target: str) -> None:
    """Register ``"package.module:ClassName"`` under ``name`` without importing it yet."""
    if name not in MODEL_REGISTRY:
        _LAZY[name] = target


def get_model_class(name: str) -> type[ChurnModel]:
    if name not in MODEL_REGISTRY and name in _LAZY:
        module, _, qualname = _LAZY[name].partition(":")
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        MODEL_REGISTRY.setdefault(name, obj)
        _LAZY.pop(name, None)
    try:
        return MODEL_REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {available_models()}") from None


def create_model(name: str, **params: Any) -> ChurnModel:
    """A fresh, unfitted model by registry name, e.g. ``create_model("gbt", n_estimators=200)``."""
    return get_model_class(name)(**params)


def available_models() -> list[str]:
    return sorted(set(MODEL_REGISTRY) | set(_LAZY))


def load_model(path: str | Path) -> ChurnModel:
    """Load any saved ChurnModel (the class is read from the directory's model.json)."""
    return ChurnModel.load(path)
