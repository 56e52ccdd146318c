"""The estimators over any cell: MemoryRegressor, MemoryClassifier, and create_model.

Every kind of cell registered in libmem can be used through ``MemoryRegressor(cell=kind)`` and
``MemoryClassifier(cell=kind)``; kinds with their own class (``AMRC``) expose their options as
keywords. Hyper-parameters are validated by the C parameter tables when ``fit`` builds the model.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from . import _data
from ._base import MemoryEstimator, register_estimator
from ._compat import SKLEARN_AVAILABLE, ClassifierMixin, RegressorMixin
from ._data import Inputs
from ._lib import COMMON_KEYS, config_params, kinds

__all__ = ["MemoryRegressor", "MemoryClassifier", "create_model", "sklearn_expected_failures",
           "kind_class", "TRAINING_PARAMETERS_DOC"]

def _cell_keys(kind: str) -> List[str]:
    """The kind's own parameters (its C table after the common part)."""
    return [p.name for p in config_params(kind)[len(COMMON_KEYS):]]


def _store_params(est: Any, values: Dict[str, Any]) -> None:
    """``__init__`` stores every keyword unchanged, as scikit-learn requires (validation happens
    in ``fit``); called with ``locals()``."""
    for name, value in values.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def _did_you_mean(key: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class _RegressorOutputs:
    """Prediction and R² scoring shared by the regressors."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def predict(self, X: Any, reset_memory: bool = True) -> Any:
        """Predict the targets of ``X``.

        Parameters
        ----------
        X : array_like of shape (n_steps, n_features), (n_seq, seq_len, n_features) or a list
        reset_memory : bool, default True
            For a stream: start from zero memory (True) or continue the memory left by the last
            call (False: the forecasting protocol after ``fit``). Sequences always start from zero.

        Returns
        -------
        ndarray (or a list of arrays for a list of sequences with per-step targets)
            Shaped like the targets given to ``fit``; the memory is left at the end of ``X``.
        """
        out, inputs = self._raw_predict(X, reset_memory)  # type: ignore[attr-defined]
        out = out.astype(np.float64)  # scikit-learn's convention for regressor outputs
        if self._y_single:  # type: ignore[attr-defined]
            out = out[..., 0]
        return self._per_sequence_list(out, inputs)  # type: ignore[attr-defined]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Coefficient of determination R² over every target (averaged over outputs), predicting
        ``X`` from zero memory."""
        self._check_fitted()  # type: ignore[attr-defined]
        inputs, mode, y_true = self._prepare(X, y, first=False)  # type: ignore[attr-defined]
        raw, _ = self._raw_predict(X, True)  # type: ignore[attr-defined]
        true = _data.valid_targets(y_true, inputs, mode)
        pred = _data.valid_targets(raw, inputs, mode)
        if SKLEARN_AVAILABLE:
            from sklearn.metrics import r2_score

            return float(r2_score(true, pred, sample_weight=sample_weight))
        ss_res = ((true - pred) ** 2).sum(axis=0)
        ss_tot = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
        return float(np.mean(np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)))


class _ClassifierOutputs:
    """Label encoding, prediction and accuracy shared by the classifiers."""

    _classifier = True

    def _encode_targets(self, y: np.ndarray, inputs: Inputs, mode: str, fitting: bool,
                        classes: Any = None) -> np.ndarray:
        labels = _data.valid_targets(y, inputs, mode)
        if fitting:
            _check_classification_targets(labels)
            self.classes_ = np.unique(labels) if classes is None else np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes in the "
                                 f"data, but the data contains only one class: {self.classes_[0]}")
            self.n_outputs_ = len(self.classes_)
        unseen = np.setdiff1d(labels, self.classes_)
        if unseen.size:
            raise ValueError(f"y contains previously unseen labels: {unseen.tolist()}")
        # padding steps hold a valid label (see _data), so every entry maps to a class index
        return np.searchsorted(self.classes_, y).astype(np.float32)

    def predict_proba(self, X: Any, reset_memory: bool = True) -> Any:
        """Class probabilities, shape (..., n_classes), ordered as ``classes_``."""
        out, inputs = self._raw_predict(X, reset_memory)  # type: ignore[attr-defined]
        out = out.astype(np.float64)
        return self._per_sequence_list(out, inputs)  # type: ignore[attr-defined]

    def predict(self, X: Any, reset_memory: bool = True) -> Any:
        """The most probable class per step (a stream or per-step sequences) or per sequence."""
        out, inputs = self._raw_predict(X, reset_memory)  # type: ignore[attr-defined]
        labels = self.classes_[np.argmax(out, axis=-1)]
        return self._per_sequence_list(labels, inputs)  # type: ignore[attr-defined]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy over every target (per step or per sequence), predicting from zero memory."""
        self._check_fitted()  # type: ignore[attr-defined]
        inputs, mode, labels = self._prepare(X, y, first=False)  # type: ignore[attr-defined]
        raw, _ = self._raw_predict(X, True)  # type: ignore[attr-defined]
        pred = self.classes_[np.argmax(_data.valid_targets(raw, inputs, mode), axis=-1)]
        correct = (pred == _data.valid_targets(labels, inputs, mode)).astype(np.float64)
        if sample_weight is not None:
            return float(np.average(correct, weights=np.asarray(sample_weight, dtype=np.float64)))
        return float(correct.mean())

    def partial_fit(self, X: Any, y: Any = None, classes: Any = None) -> Any:
        """One pass over ``X`` (see :meth:`MemoryEstimator.partial_fit`). ``classes`` lists every
        label the estimator will see; needed on the first call when ``y`` lacks some of them."""
        return self._partial_fit(X, y, classes)  # type: ignore[attr-defined]


def _check_classification_targets(labels: np.ndarray) -> None:
    if SKLEARN_AVAILABLE:
        from sklearn.utils.multiclass import check_classification_targets

        check_classification_targets(labels)
        return
    if labels.dtype.kind == "f" and not np.all(np.mod(labels, 1) == 0):
        raise ValueError("Unknown label type: continuous. Maybe you are trying to fit a "
                         "classifier, which expects discrete classes on a regression target with "
                         "continuous values.")


# ---- any cell by name -----------------------------------------------------------------------

class _AnyCell:
    """``cell`` + ``cell_params`` resolution for MemoryRegressor / MemoryClassifier."""

    def _cell_kind(self) -> str:
        known = kinds()
        if not isinstance(self.cell, str) or self.cell not in known:  # type: ignore[attr-defined]
            raise ValueError(f"cell={self.cell!r} is not a registered kind; known: "  # type: ignore[attr-defined]
                             f"{', '.join(known)}")
        return self.cell  # type: ignore[attr-defined]

    def _cell_settings(self) -> Dict[str, Any]:
        params = self.cell_params or {}  # type: ignore[attr-defined]
        if not isinstance(params, dict):
            raise ValueError(f"cell_params must be a dict or None, got {type(params).__name__}")
        own = _cell_keys(self._cell_kind())
        for key in params:
            if key not in own:
                raise ValueError(f"unknown cell parameter {key!r} for cell {self.cell!r} "  # type: ignore[attr-defined]
                                 f"(its parameters: {', '.join(own)}){_did_you_mean(key, own)}")
        return dict(params)


_ANY_CELL_DOC = """

    Parameters
    ----------
    cell : str, default "amrc"
        A kind registered in libmem (``memnative._lib.kinds()``).
    cell_params : dict or None
        The cell's own options (for "amrc": beta, alpha, learn_memory, spread_init).
    hidden_size, output_memory, output_beta, skip, epochs, batch_size, bptt, learning_rate,
    lr_schedule, optimizer, momentum, weight_decay, clip_norm, validation_fraction,
    n_iter_no_change, tol, target, warm_start, random_state, n_threads, verbose, callbacks
        As for :class:`AMRC` (``skip=None``: the kind's default).
"""


@register_estimator
class MemoryRegressor(_AnyCell, _RegressorOutputs, RegressorMixin, MemoryEstimator):
    __doc__ = "Regressor over any memory-native cell." + _ANY_CELL_DOC

    def __init__(self, cell: str = "amrc", cell_params: Optional[Dict[str, Any]] = None,
                 hidden_size: int = 32, output_memory: bool = False, output_beta: float = 0.2,
                 skip: Optional[bool] = None, epochs: int = 100, batch_size: int = 32,
                 bptt: Optional[int] = None, learning_rate: Optional[float] = None,
                 lr_schedule: str = "cosine", optimizer: str = "adamw", momentum: float = 0.9,
                 weight_decay: float = 0.0, clip_norm: Optional[float] = 1.0,
                 validation_fraction: float = 0.0, n_iter_no_change: Optional[int] = None,
                 tol: float = 1e-4, target: str = "auto", warm_start: bool = False,
                 random_state: Any = None, n_threads: Optional[int] = None, verbose: int = 0,
                 callbacks: Optional[List[Callable[..., Any]]] = None) -> None:
        _store_params(self, locals())


@register_estimator
class MemoryClassifier(_AnyCell, _ClassifierOutputs, ClassifierMixin, MemoryEstimator):
    __doc__ = ("Classifier over any memory-native cell (softmax cross-entropy); labels per "
               "sequence or per step, with ``classes_`` and ``predict_proba``." + _ANY_CELL_DOC)

    __init__ = MemoryRegressor.__init__  # the same keywords


def _estimator_params(cls: type) -> List[str]:
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


#: The training keywords every estimator shares, for the class docstrings.
TRAINING_PARAMETERS_DOC = """    epochs : int, default 100
    batch_size : int, default 32
        Sequences per minibatch; for a stream, the most sub-streams trained in parallel.
    bptt : int or None, default None
        Truncated BPTT window; None: 32 for streams, full length for sequences.
    learning_rate : float or None, default None
        None: the kind's default from libmem's table.
    lr_schedule : {"cosine", "constant"}, default "cosine"
    optimizer : {"adamw", "sgd"}, default "adamw"
    momentum : float, default 0.9
        SGD momentum.
    weight_decay : float, default 0.0
    clip_norm : float or None, default 1.0
        Global gradient-norm clipping (None or 0: off).
    validation_fraction : float in [0, 1), default 0.0
        Held out for ``validation_scores_``: the tail of a stream, a random split of sequences.
    n_iter_no_change : int or None, default None
        Stop when the monitored loss (validation if any, else training) has not improved by
        ``tol`` (relative) for this many epochs.
    tol : float, default 1e-4
    target : {"auto", "per_step", "last"}, default "auto"
    warm_start : bool, default False
        ``fit`` continues from the current model instead of re-initialising.
    random_state : int, numpy Generator/RandomState or None
    n_threads : int or None
        None: OpenMP's default.
    verbose : int, default 0
        1 prints per-epoch loss, time and ETA to stderr.
    callbacks : list of callables or None
        ``f(estimator, epoch, logs) -> bool`` after every epoch; True stops training.
"""

#: kinds with a dedicated regressor class (filled by ``kind_class`` in ``_cells``)
_KIND_CLASSES: Dict[str, type] = {}


def kind_class(kind: str) -> Callable[[type], type]:
    """Class decorator: the dedicated estimator of a kind, used by ``create_model``; also makes
    ``memnative.load`` able to restore it."""
    def register(cls: type) -> type:
        _KIND_CLASSES[kind] = register_estimator(cls)
        return cls
    return register


def create_model(kind: str, task: str = "regression", **params: Any) -> MemoryEstimator:
    """An estimator for ``kind`` ("amrc", ...) and ``task`` ("regression" or "classification").

    Keywords are the estimator's (cell options included); an unknown one raises ValueError
    with a suggestion.

    Examples
    --------
    >>> model = create_model("amrc", hidden_size=64, epochs=200)  # doctest: +SKIP
    """
    known = kinds()
    if not isinstance(kind, str):
        raise ValueError(f"kind={kind!r} must be a string naming a model kind ({', '.join(known)})")
    if kind not in known:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(known)}"
                         f"{_did_you_mean(kind, known)}")
    if task not in ("regression", "classification"):
        raise ValueError(f"task={task!r} must be 'regression' or 'classification'")
    if task == "regression" and kind in _KIND_CLASSES:
        cls = _KIND_CLASSES[kind]
        allowed = _estimator_params(cls)
        for key in params:
            if key not in allowed:
                raise ValueError(f"unknown parameter {key!r} for {cls.__name__}"
                                 f"{_did_you_mean(key, allowed)}")
        return cls(**params)
    cls = MemoryClassifier if task == "classification" else MemoryRegressor
    own = _cell_keys(kind)
    allowed = [p for p in _estimator_params(cls) if p not in ("cell", "cell_params")]
    cell_params = {k: params.pop(k) for k in list(params) if k in own}
    for key in params:
        if key not in allowed:
            raise ValueError(f"unknown parameter {key!r} for {cls.__name__}(cell={kind!r})"
                             f"{_did_you_mean(key, allowed + own)}")
    return cls(cell=kind, cell_params=cell_params or None, **params)


def sklearn_expected_failures(estimator: Any = None) -> Dict[str, str]:
    """The scikit-learn checks that cannot hold for memnative's estimators, with the reason.

    A 2-D ``X`` is one stream whose rows are consecutive time steps, so predictions depend on the
    rows that came before: predicting a subset, or the rows in another order, gives different
    results by design. Use as ``check_estimator(est, expected_failed_checks=...)``.
    """
    reason = ("a 2-D X is one stream: each row's prediction depends on the rows before it, so "
              "subsets and reordered rows predict differently by design")
    return {"check_methods_subset_invariance": reason,
            "check_methods_sample_order_invariance": reason}
