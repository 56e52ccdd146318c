"""scikit-learn compatibility: its base classes when it is installed, small equivalents otherwise.

scikit-learn is optional. With it, memnative's estimators inherit ``BaseEstimator`` and the
mixins (so ``clone``, pipelines, grid search and ``check_estimator`` see ordinary estimators) and
raise its ``NotFittedError``. Without it, the classes below provide the same contract:
hyper-parameters from ``__init__`` through ``get_params``/``set_params``, and the estimator type.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict

__all__ = ["BaseEstimator", "ClassifierMixin", "RegressorMixin", "NotFittedError",
           "DataConversionWarning", "SKLEARN_AVAILABLE"]

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import DataConversionWarning, NotFittedError

    SKLEARN_AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    SKLEARN_AVAILABLE = False

    class NotFittedError(ValueError, AttributeError):  # type: ignore[no-redef]
        """Raised when a method needs a fitted estimator (as scikit-learn's)."""

    class DataConversionWarning(UserWarning):  # type: ignore[no-redef]
        """Warning of an implicit data conversion (as scikit-learn's)."""

    class BaseEstimator:  # type: ignore[no-redef]
        """Hyper-parameters are the ``__init__`` keywords, stored unchanged."""

        @classmethod
        def _get_param_names(cls) -> list:
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values()
                          if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep: bool = True) -> Dict[str, Any]:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params: Any) -> "BaseEstimator":
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"Invalid parameter {key!r} for estimator {self!r}. "
                                     f"Valid parameters are: {valid!r}.")
                setattr(self, key, value)
            return self

        def __repr__(self) -> str:
            sig = inspect.signature(type(self).__init__)
            changed = [f"{p.name}={getattr(self, p.name)!r}" for p in sig.parameters.values()
                       if p.name != "self" and getattr(self, p.name) is not p.default
                       and getattr(self, p.name) != p.default]
            return f"{type(self).__name__}({', '.join(changed)})"

    class RegressorMixin:  # type: ignore[no-redef]
        _estimator_type = "regressor"

    class ClassifierMixin:  # type: ignore[no-redef]
        _estimator_type = "classifier"
