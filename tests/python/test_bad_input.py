"""Bad input to memnative's estimators: every case raises the documented exception type with a
message that names the problem, and none crashes the interpreter.

Covers invalid ``X`` and ``y`` (shapes, non-finite values, empty arrays, strings, dicts, complex,
sparse, inconsistent lengths, classifier targets, per-sequence targets, lists of sequences),
misuse (``reset_memory=False`` with sequences, calls before ``fit``), hyper-parameters outside
their C ranges (the message is C's: key, value and allowed range), a hypothesis test over random
shapes and values, and one subprocess smoke run over the nastiest inputs.
"""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import warnings
from typing import Any, Callable, Dict, Tuple

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from memnative import (AMRC, MemoryClassifier, MemoryRegressor, NotFittedError, NumericalError,
                       create_model)

pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")

_RNG = np.random.default_rng(11)
_X = _RNG.normal(size=(40, 2))
_Y = _RNG.normal(size=40)
_X3 = _RNG.normal(size=(6, 5, 2))
_Y3 = _RNG.normal(size=6)


def _amrc(**kw: Any) -> AMRC:
    return AMRC(**{"hidden_size": 3, "epochs": 1, "random_state": 0, **kw})


def _clf(**kw: Any) -> MemoryClassifier:
    return MemoryClassifier(**{"hidden_size": 3, "epochs": 1, "random_state": 0, **kw})


_CACHE: Dict[str, Any] = {}


def _fitted_stream() -> AMRC:
    """AMRC fitted on a 2-feature stream (shared; predict-only tests must not train it)."""
    if "stream" not in _CACHE:
        _CACHE["stream"] = _amrc().fit(_X, _Y)
    return _CACHE["stream"]


def _fitted_classifier() -> MemoryClassifier:
    if "clf" not in _CACHE:
        _CACHE["clf"] = _clf().fit(_X, np.where(_Y > 0, "up", "down"))
    return _CACHE["clf"]


def _fitted_sequences() -> AMRC:
    if "seq" not in _CACHE:
        _CACHE["seq"] = _amrc().fit(_X3, _Y3)
    return _CACHE["seq"]


# ---- X: shapes -------------------------------------------------------------------------------

_SCALAR_OR_1D = ("Reshape your data either using array.reshape(-1, 1) if your data has a single "
                 "feature or array.reshape(1, -1) if it contains a single sample.")


@pytest.mark.parametrize("X, y, pattern", [
    (np.float64(1.5), _Y[:1], r"^Expected 2D array, got scalar array instead:\narray=1\.5\."),
    (np.ones(5), np.ones(5), r"^Expected 2D array, got 1D array instead:\narray=\[1\. 1\. 1\. 1\. 1\.\]\."),
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], r"^Expected 2D array, got 1D array instead"),
    ([], [], r"^Expected 2D array, got 1D array instead"),
    (None, _Y, r"^Expected 2D array, got scalar array instead"),
    (np.ones((2, 3, 4, 2)), np.ones(2), r"^Found array with dim 4\. AMRC expected <= 3"),
    (np.ones((0, 2)), np.ones(0), r"^Found array with 0 sample\(s\) \(shape=\(0, 2\)\) while a minimum of 1 is required by AMRC\.$"),
    (np.ones((5, 0)), np.ones(5), r"^Found array with 0 feature\(s\) \(shape=\(5, 0\)\) while a minimum of 1 is required by AMRC\.$"),
    (np.ones((3, 0, 2)), np.ones(3), r"^Found array with 0 time step\(s\) \(shape=\(3, 0, 2\)\)"),
    (np.ones((0, 4, 2)), np.ones(0), r"^Found array with 0 sample\(s\) \(shape=\(0, 4, 2\)\)"),
    (np.ones((3, 4, 0)), np.ones(3), r"^Found array with 0 feature\(s\) \(shape=\(3, 4, 0\)\)"),
    ([np.ones((3, 2)), np.ones((0, 2))], np.ones(2), r"Found a sequence with 0 time step\(s\) \(shape=\(0, 2\)\)"),
], ids=["0-d", "1-d", "1-d-list", "empty-list", "none", "4-d", "0-samples", "0-features",
        "0-steps", "0-sequences", "3-d-0-features", "list-with-empty-sequence"])
def test_fit_rejects_bad_x_shapes(X: Any, y: Any, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern) as info:
        _amrc().fit(X, y)
    if "Expected 2D" in pattern:
        assert _SCALAR_OR_1D in str(info.value)


@pytest.mark.parametrize("X, pattern", [
    (np.float64(2.0), "Expected 2D array, got scalar array instead"),
    (np.ones(4), "Expected 2D array, got 1D array instead"),
    (np.ones((1, 2, 3, 2)), "Found array with dim 4"),
    (np.ones((0, 2)), r"Found array with 0 sample\(s\)"),
    (np.ones((4, 0)), r"Found array with 0 feature\(s\)"),
    (np.ones((2, 0, 2)), r"Found array with 0 time step\(s\)"),
])
def test_predict_rejects_bad_x_shapes(X: Any, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        _fitted_stream().predict(X)


@pytest.mark.parametrize("X, n, y", [
    (np.ones((5, 3)), 3, np.ones(5)),
    (np.ones((2, 5, 3)), 3, np.ones((2, 5))),
    ([np.ones((4, 3)), np.ones((2, 3))], 3, [np.ones(4), np.ones(2)]),
    (np.ones((5, 1)), 1, np.ones(5)),
], ids=["stream", "3-d", "list", "fewer"])
def test_wrong_number_of_features_at_predict(X: Any, n: int, y: Any) -> None:
    expected = f"X has {n} features, but AMRC is expecting 2 features as input."
    est = _fitted_stream()
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        est.predict(X)
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        est.predict(X, reset_memory=False) if np.ndim(X[0]) == 1 else est.predict(X)
    with pytest.raises(ValueError, match=re.escape(expected)):
        est.score(X, y)


def test_wrong_number_of_features_when_training_on() -> None:
    est = _amrc().fit(_X, _Y)
    message = re.escape("X has 3 features, but AMRC is expecting 2 features as input.")
    with pytest.raises(ValueError, match=message):
        est.partial_fit(np.ones((5, 3)), np.ones(5))
    with pytest.raises(ValueError, match=message):
        est.set_params(warm_start=True).fit(np.ones((5, 3)), np.ones(5))
    clf = _fitted_classifier()
    with pytest.raises(ValueError, match=re.escape(
            "X has 3 features, but MemoryClassifier is expecting 2 features as input.")):
        clf.predict_proba(np.ones((5, 3)))


# ---- X and y: values -------------------------------------------------------------------------

def _with(arr: np.ndarray, index: Tuple[int, ...], value: float) -> np.ndarray:
    out = np.array(arr, dtype=np.float64)
    out[index] = value
    return out


_NAN_X = "Input X contains NaN.\nAMRC does not accept missing values encoded as NaN natively."
_INF_X = "Input X contains infinity or a value too large for dtype('float32')."


@pytest.mark.parametrize("X, y, message", [
    (_with(_X, (3, 1), np.nan), _Y, _NAN_X),
    (_with(_X, (0, 0), np.inf), _Y, _INF_X),
    (_with(_X, (7, 1), -np.inf), _Y, _INF_X),
    (_with(_X, (7, 1), 1e39), _Y, _INF_X),                     # finite float64, inf in float32
    (_with(_X3, (2, 4, 1), np.nan), _Y3, _NAN_X),
    (_with(_X3, (0, 0, 0), 1e39), _Y3, _INF_X),
    ([_X3[0], _with(_X3[1, :3], (2, 0), np.nan)], _Y3[:2], _NAN_X),
    (_X, _with(_Y, (5,), np.nan),
     "Input y contains NaN.\nAMRC does not accept missing values encoded as NaN natively."),
    (_X, _with(_Y, (5,), np.inf), "Input y contains infinity or a value too large for dtype('float32')."),
    (_X, _with(_Y, (5,), -np.inf), "Input y contains infinity"),
    (_X3, _with(_Y3, (1,), np.nan), "Input y contains NaN."),
    ([_X3[0], _X3[1]], [np.ones(5), _with(np.ones(5), (3,), np.inf)], "Input y contains infinity"),
], ids=["X-nan", "X-inf", "X-neg-inf", "X-1e39", "X3-nan", "X3-1e39", "list-nan", "y-nan",
        "y-inf", "y-neg-inf", "y-seq-nan", "list-y-inf"])
def test_non_finite_values_are_rejected(X: Any, y: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        _amrc().fit(X, y)


def test_non_finite_x_is_rejected_at_predict() -> None:
    est = _fitted_stream()
    with pytest.raises(ValueError, match=re.escape(_NAN_X)):
        est.predict(_with(_X, (1, 1), np.nan))
    with pytest.raises(ValueError, match=re.escape(_INF_X)):
        est.predict(_with(_X, (1, 1), 1e39), reset_memory=False)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        _fitted_classifier().predict_proba(_with(_X, (0, 0), np.nan))


def test_y_that_overflows_float32_is_rejected() -> None:
    """A finite float64 target beyond float32's range is caught (by C, as a non-finite target)."""
    with pytest.raises(ValueError, match=r"y.*\binf"):
        _amrc().fit(_X, np.full(40, 1e39))


def test_targets_too_large_to_train_raise_numerical_error() -> None:
    with pytest.raises(NumericalError, match="non-finite") as info:
        _amrc().fit(_X, np.full(40, 3e38))
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("X, y, exc, pattern", [
    (np.array([["a", "b"], ["c", "d"]], dtype=object), [1.0, 2.0], ValueError,
     "could not convert string to float: 'a'"),
    (np.array([["1.0", "x"], ["2", "3"]]), [1.0, 2.0], ValueError,
     "could not convert string to float"),
    ([["a", "b"], ["c", "d"]], [1.0, 2.0], ValueError, "could not convert string to float"),
    ("abc", [1.0], ValueError, "could not convert string to float"),
    (_X, np.array(["p"] * 40), ValueError, "could not convert string to float"),
    ({"a": [1, 2], "b": [3, 4]}, [1.0, 2.0], TypeError, "dict"),
    ([{"a": 1}, {"b": 2}], [1.0, 2.0], TypeError, "dict"),
    (_X, {"a": 1}, TypeError, "dict"),
    (_X + 1j, _Y, ValueError, "^Complex data not supported"),
    ([[1 + 2j, 0.0], [1.0, 2.0]], [1.0, 2.0], ValueError, "^Complex data not supported"),
    (_X, _Y + 0j, ValueError, "^Complex data not supported"),
    (sp.csr_matrix(_X), _Y, TypeError,
     r"^Sparse data was passed for X, but dense data is required\. Use '\.toarray\(\)'"),
    (sp.coo_matrix(_X), _Y, TypeError, "dense data is required"),
    (_X, sp.csr_matrix(_Y[:, None]), TypeError, "Sparse data was passed for y, but dense data"),
], ids=["object-strings", "unicode-strings", "nested-list-strings", "plain-string",
        "y-strings", "dict", "list-of-dicts", "y-dict", "complex", "complex-list", "y-complex",
        "csr", "coo", "y-sparse"])
def test_non_numeric_input_is_rejected(X: Any, y: Any, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        _amrc().fit(X, y)


@pytest.mark.parametrize("X, exc, pattern", [
    (sp.csr_matrix(_X), TypeError, "dense data is required"),
    (np.array([["a", "b"]], dtype=object), ValueError, "could not convert string to float"),
    ({"a": 1}, TypeError, "dict"),
    (_X[:3] + 1j, ValueError, "Complex data not supported"),
], ids=["sparse", "strings", "dict", "complex"])
def test_predict_rejects_non_numeric_x(X: Any, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        _fitted_stream().predict(X)
    with pytest.raises(exc, match=pattern):
        _fitted_classifier().predict_proba(X)


# ---- y: presence, length, shape --------------------------------------------------------------

def test_y_none_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"^AMRC requires y to be passed, but the target y is None\.$"):
        _amrc().fit(_X)
    with pytest.raises(ValueError, match="MemoryClassifier requires y to be passed"):
        _clf().fit(_X, None)
    with pytest.raises(ValueError, match="requires y to be passed"):
        _amrc().partial_fit(_X)


@pytest.mark.parametrize("X, y, counts", [
    (_X, _Y[:30], "[40, 30]"),
    (_X, np.ones((41, 2)), "[40, 41]"),
    (_X, np.float64(1.0), "[40, 0]"),
    (_X3, np.ones(5), "[6, 5]"),
    (_X3, np.ones((7, 5, 1)), "[6, 7]"),
    ([_X3[0], _X3[1]], np.ones(3), "[2, 3]"),
    ([_X3[0], _X3[1]], [np.ones(5)], "[2, 1]"),
], ids=["stream", "stream-2d", "scalar-y", "sequences", "sequences-per-step", "list",
        "list-per-step"])
def test_y_of_the_wrong_length(X: Any, y: Any, counts: str) -> None:
    with pytest.raises(ValueError, match=re.escape(
            f"Found input variables with inconsistent numbers of samples: {counts}")):
        _amrc().fit(X, y)


def test_y_of_the_wrong_length_for_classifier_and_score() -> None:
    with pytest.raises(ValueError, match=re.escape("inconsistent numbers of samples: [40, 39]")):
        _clf().fit(_X, (_Y[:39] > 0).astype(int))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        _fitted_stream().score(_X, _Y[:10])


@pytest.mark.parametrize("make, X, y, pattern", [
    (_amrc, _X3, np.ones((6, 4, 1)),
     re.escape("y has shape (6, 4, 1); with X of shape (6, 5, 2) and target mode 'per_step' it "
               "should start with (6, 5)")),
    (_amrc, _X3, np.ones((6, 5, 1, 1)), re.escape("y has shape (6, 5, 1, 1): expected (6,) or (6, 'n_outputs')")),
    (lambda: _amrc(target="last"), _X3, np.ones((6, 5, 1)),
     re.escape("y has shape (6, 5, 1): expected (6,) or (6, 'n_outputs')")),
    (lambda: _amrc(target="per_step"), _X3, np.ones((6, 4)), r"y has shape \(6, 4\).*should start with \(6, 5\)"),
    (_amrc, _X3, np.ones((6, 0)), re.escape("y has shape (6, 0): at least one output is required")),
    (_amrc, _X, np.ones((40, 1, 1)), re.escape("y has shape (40, 1, 1): expected (40,) or (40, 'n_outputs')")),
    (_clf, _X3, np.ones((6, 4), dtype=int), r"y has shape \(6, 4\).*should start with \(6, 5\)"),
    (lambda: _clf(target="last"), _X3, np.tile([0, 1], (6, 1)),
     re.escape("y has shape (6, 2): a classifier takes one label per sequence, shape (6,)")),
    (_clf, _X, np.tile([0, 1], (40, 1)), re.escape("a classifier takes one label per step, shape (40,)")),
    (_amrc, [_X3[0], _X3[1, :3]], [np.ones(5), np.ones(5)],
     re.escape("targets of sequence 1 have shape (5,), expected (3,)")),
    (lambda: _amrc(target="per_step"), [_X3[0], _X3[1, :3]], np.ones((2, 5, 1)),
     "per-step targets of a list of sequences are a list of arrays"),
    (lambda: _amrc(target="last"), _X, _Y,
     r"target='last' needs sequences .*a 2-D X is one stream"),
], ids=["per-step-short", "4-d-y", "last-with-3-d-y", "per-step-2-d-short", "zero-outputs",
        "stream-3-d-y", "clf-per-step-short", "clf-last-2-d", "clf-stream-2-d",
        "list-per-step-length", "list-per-step-array", "last-on-stream"])
def test_targets_of_the_wrong_shape(make: Callable[[], Any], X: Any, y: Any, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        make().fit(X, y)


def test_list_of_sequences_with_different_feature_counts() -> None:
    with pytest.raises(ValueError, match=re.escape("the sequences have different numbers of features: [2, 3]")):
        _amrc().fit([np.ones((3, 2)), np.ones((4, 3))], np.ones(2))
    with pytest.raises(ValueError, match="a list of sequences needs 2-D arrays .* shape \\(3,\\)"):
        _amrc().fit([np.ones(3), np.ones(4)], np.ones(2))
    with pytest.raises(ValueError, match="a list of sequences needs 2-D arrays .* shape \\(3, 2, 1\\)"):
        _amrc().fit([np.ones((3, 2, 1)), np.ones((2, 2, 1))], np.ones(2))
    with pytest.raises(ValueError, match="different numbers of features"):
        _fitted_sequences().predict([np.ones((3, 2)), np.ones((4, 1))])


# ---- classifier targets ----------------------------------------------------------------------

def test_classifier_with_continuous_y() -> None:
    with pytest.raises(ValueError, match="^Unknown label type: continuous"):
        _clf().fit(_X, _Y)
    with pytest.raises(ValueError, match="Unknown label type"):
        _clf().fit(_X3, _Y3)


@pytest.mark.parametrize("y, name", [(np.full(40, 7), "7"), (np.array(["cat"] * 40), "cat")])
def test_classifier_with_one_class(y: np.ndarray, name: str) -> None:
    with pytest.raises(ValueError, match=f"at least 2 classes.*only one class: .*{name}"):
        _clf().fit(_X, y)
    with pytest.raises(ValueError, match=f"only one class: .*{name}"):
        _clf().partial_fit(_X, y)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_classifier_with_nan_or_unseen_labels() -> None:
    with pytest.raises(ValueError, match="Input y contains NaN"):
        _clf().fit(_X, np.r_[np.zeros(20), np.ones(19), np.nan])
    with pytest.raises(ValueError, match="Unknown label type"):
        _clf().fit(_X, np.array([None] * 40))
    clf = _clf().fit(_X, (_Y > 0).astype(int))
    with pytest.raises(ValueError, match=re.escape("y contains previously unseen labels: [5]")):
        clf.partial_fit(_X, np.r_[np.zeros(39, dtype=int), 5])


# ---- misuse ----------------------------------------------------------------------------------

@pytest.mark.parametrize("X", [_X3, [_X3[0], _X3[1, :3]]], ids=["3-d", "list"])
def test_predict_sequences_with_reset_memory_false(X: Any) -> None:
    with pytest.raises(ValueError, match="reset_memory=False continues a stream; sequences"):
        _fitted_sequences().predict(X, reset_memory=False)
    with pytest.raises(ValueError, match="reset_memory=False"):
        _fitted_stream().predict(X, reset_memory=False)


def test_stream_on_a_model_fitted_per_sequence() -> None:
    with pytest.raises(ValueError, match="fitted on sequences with one target per sequence"):
        _fitted_sequences().predict(_X)


@pytest.mark.parametrize("make", [AMRC, MemoryRegressor, MemoryClassifier])
def test_calls_before_fit_raise_not_fitted(make: Callable[..., Any]) -> None:
    est = make(hidden_size=3)
    message = f"This {make.__name__} instance is not fitted yet"
    calls = [lambda: est.predict(_X), est.reset_memory,
             est.get_memory_state, lambda: est.parameters_, lambda: est.save("never.mem")]
    if hasattr(est, "predict_proba"):
        calls.append(lambda: est.predict_proba(_X))
    for call in calls:
        with pytest.raises(NotFittedError, match=message):
            call()


@pytest.mark.parametrize("make", [AMRC, MemoryRegressor, MemoryClassifier])
def test_score_before_fit_raises_not_fitted(make: Callable[..., Any]) -> None:
    with pytest.raises(NotFittedError, match=f"This {make.__name__} instance is not fitted yet"):
        make(hidden_size=3).score(_X, (_Y > 0).astype(int))


def test_odd_but_valid_arrays_are_accepted_and_converted() -> None:
    """Non-contiguous, big-endian, float16, bool and pandas inputs are converted, not refused."""
    import pandas as pd

    est = _fitted_stream()
    ref = est.predict(np.ascontiguousarray(_X[::2]))
    assert np.array_equal(est.predict(_X[::2]), ref)
    assert np.array_equal(est.predict(np.asfortranarray(_X[::2])), ref)
    assert np.array_equal(est.predict(_X[::2].astype(">f8")), ref)
    assert np.array_equal(est.predict(pd.DataFrame(_X[::2])), ref)
    assert est.predict(_X[::2] > 0).shape == ref.shape
    assert est.predict(_X[::2].astype(np.float16)).shape == ref.shape


# ---- hyper-parameters ------------------------------------------------------------------------

@pytest.mark.parametrize("params, parts", [
    (dict(beta=1.5), ["beta=1.5", "out of range", "(0, 1)"]),
    (dict(alpha=0), ["alpha=0", "(0, 1)"]),
    (dict(alpha=float("nan")), ["alpha=nan", "not finite", "(0, 1)"]),
    (dict(hidden_size=0), ["hidden_size=0", "[1, 65536]"]),
    (dict(hidden_size=70000), ["hidden_size=70000", "[1, 65536]"]),
    (dict(learning_rate=-1), ["learning_rate=-1", "(0, 10]"]),
    (dict(learning_rate=float("inf")), ["learning_rate=inf", "(0, 10]"]),
    (dict(batch_size=0), ["batch_size=0", "[1, 65536]"]),
    (dict(optimizer="adam"), ["optimizer='adam'", "adamw|sgd"]),
    (dict(lr_schedule="linear"), ["lr_schedule='linear'", "cosine|constant"]),
    (dict(momentum=1.0), ["momentum=1", "[0, 1)"]),
    (dict(weight_decay=-0.5), ["weight_decay=-0.5", "[0, 10]"]),
    (dict(clip_norm=-1), ["clip_norm=-1", "[0, 1e+30]"]),
    (dict(output_beta=1.0), ["output_beta=1", "(0, 1)"]),
    (dict(bptt=-1), ["bptt=-1", "[0, 1000000000]"]),
    (dict(n_threads=-1), ["n_threads=-1", "[0, 1024]"]),
    (dict(epochs=0), ["epochs=0", ">= 1"]),
    (dict(epochs=2.5), ["epochs=2.5", "integer"]),
    (dict(batch_size=2.5), ["batch_size", "integer", "2.5"]),
    (dict(validation_fraction=1.5), ["validation_fraction=1.5", "[0, 1)"]),
    (dict(validation_fraction=-0.1), ["validation_fraction=-0.1", "[0, 1)"]),
    (dict(validation_fraction=0.99), ["validation_fraction=0.99", "leaves 0 training"]),
    (dict(n_iter_no_change=0), ["n_iter_no_change=0", ">= 1"]),
    (dict(target="first"), ["target='first'", "'auto', 'per_step' or 'last'"]),
    (dict(random_state=-1), ["random_state=-1", "non-negative integer"]),
    (dict(random_state="seed"), ["random_state='seed'", "non-negative integer"]),
    (dict(tol=-1), ["tol=-1", "non-negative"]),
    (dict(callbacks=[1]), ["callbacks=[1] must be a list of callables"]),
], ids=lambda v: ",".join(f"{k}={w!r}" for k, w in v.items()) if isinstance(v, dict) else "")
def test_out_of_range_hyper_parameters_name_key_value_and_range(params: Dict[str, Any],
                                                                parts: Any) -> None:
    est = _amrc(**params)
    assert all(getattr(est, k) is v for k, v in params.items())  # stored unchanged
    with pytest.raises(ValueError) as info:
        est.fit(_X, _Y)
    message = str(info.value)
    for part in parts:
        assert part in message, message


@pytest.mark.parametrize("make, parts", [
    (lambda: MemoryRegressor(cell="lstm", epochs=1), ["cell='lstm'", "not a registered kind", "known:", "amrc"]),
    (lambda: MemoryClassifier(cell=None, epochs=1), ["cell=None", "known:", "amrc"]),
    (lambda: MemoryRegressor(cell_params={"betta": 0.5}, epochs=1),
     ["unknown cell parameter 'betta'", "beta, alpha, learn_memory, spread_init", "did you mean 'beta'?"]),
    (lambda: MemoryRegressor(cell_params={"hidden_size": 3}, epochs=1), ["unknown cell parameter 'hidden_size'"]),
    (lambda: MemoryRegressor(cell_params={"beta": 2}, epochs=1), ["beta=2", "(0, 1)"]),
    (lambda: MemoryRegressor(cell_params=[("beta", 0.5)], epochs=1), ["cell_params must be a dict or None", "list"]),
    (lambda: MemoryClassifier(hidden_size=0, epochs=1), ["hidden_size=0", "[1, 65536]"]),
], ids=["unknown-cell", "cell-none", "cell-param-typo", "common-key-in-cell-params",
        "cell-param-range", "cell-params-list", "classifier-hidden-size"])
def test_cell_and_cell_params_errors(make: Callable[[], Any], parts: Any) -> None:
    y = (_Y > 0).astype(int)
    with pytest.raises(ValueError) as info:
        make().fit(_X, y)
    for part in parts:
        assert part in str(info.value), str(info.value)


def test_hyper_parameter_errors_also_on_partial_fit() -> None:
    with pytest.raises(ValueError, match=re.escape("beta=1.5 is out of range; allowed range (0, 1)")):
        _amrc(beta=1.5).partial_fit(_X, _Y)
    # a training parameter changed between partial_fit calls is checked by C on the live model
    est = _amrc().partial_fit(_X, _Y)
    with pytest.raises(ValueError, match=re.escape("learning_rate=-1 is out of range")):
        est.set_params(learning_rate=-1).partial_fit(_X, _Y)
    est.set_params(learning_rate=0.01).partial_fit(_X, _Y)  # still usable
    # an architecture parameter cannot change under warm starts / partial_fit
    with pytest.raises(ValueError, match="hidden_size changed since the model was built"):
        est.set_params(hidden_size=5).partial_fit(_X, _Y)


@pytest.mark.parametrize("args, kwargs, parts", [
    (("amrc",), dict(hiden_size=3), ["unknown parameter 'hiden_size' for AMRC", "did you mean 'hidden_size'?"]),
    (("amrc",), dict(task="classification", hiden_size=3),
     ["unknown parameter 'hiden_size' for MemoryClassifier(cell='amrc')", "did you mean 'hidden_size'?"]),
    (("amrc",), dict(task="classification", bta=0.3), ["'bta'", "did you mean 'beta'?"]),
    (("amrcc",), {}, ["unknown model kind 'amrcc'", "known:", "amrc", "did you mean 'amrc'?"]),
    (("lstm",), {}, ["unknown model kind 'lstm'", "known:", "amrc"]),
    (("amrc",), dict(task="regresion"), ["task='regresion'", "'regression' or 'classification'"]),
], ids=["typo", "classifier-typo", "cell-typo", "kind-typo", "unknown-kind", "task-typo"])
def test_create_model_errors(args: Tuple[Any, ...], kwargs: Dict[str, Any], parts: Any) -> None:
    with pytest.raises(ValueError) as info:
        create_model(*args, **kwargs)
    for part in parts:
        assert part in str(info.value), str(info.value)


def test_create_model_puts_cell_options_in_place() -> None:
    assert create_model("amrc", beta=0.5).beta == 0.5
    clf = create_model("amrc", task="classification", beta=0.5, hidden_size=4)
    assert isinstance(clf, MemoryClassifier)
    assert clf.cell_params == {"beta": 0.5} and clf.hidden_size == 4


@pytest.mark.parametrize("call, key", [
    (lambda: _amrc(hidden_size=10**30).fit(_X, _Y), "hidden_size=1000000000000000000000000000000"),
    (lambda: _amrc(batch_size=2**64).fit(_X, _Y), "batch_size=18446744073709551616"),
    (lambda: _amrc(hidden_size="a").fit(_X, _Y), "hidden_size"),
    (lambda: _amrc(hidden_size=None).fit(_X, _Y), "hidden_size"),
    (lambda: _amrc(beta="x").fit(_X, _Y), "beta"),
    (lambda: _amrc(skip="yes").fit(_X, _Y), "skip"),
    (lambda: _amrc(callbacks=lambda *a: False).fit(_X, _Y), "callbacks"),
    (lambda: create_model(3), "kind"),
], ids=["int-overflow", "int-overflow-batch", "int-from-string", "int-none", "float-from-string",
        "bool-from-string", "callbacks-not-a-list", "create-model-kind-int"])
def test_wrong_type_hyper_parameters_name_the_key(call: Callable[[], Any], key: str) -> None:
    # out of range: ValueError (as for every other range error); wrong type: ValueError or
    # TypeError, but naming the parameter either way
    expected = ValueError if "=" in key else (ValueError, TypeError)
    with pytest.raises(expected, match=re.escape(key)):
        call()


def test_failed_refit_leaves_a_consistent_estimator() -> None:
    est = _amrc(hidden_size=4, epochs=2).fit(_X, _Y)
    before = est.predict(_X)
    X3 = _RNG.normal(size=(40, 3))
    with pytest.raises(ValueError, match="beta=1.5"):
        est.set_params(beta=1.5).fit(X3, _Y)
    # either still the old, consistent model...
    assert est.n_features_in_ == 2
    assert np.array_equal(est.predict(_X), before)
    with pytest.raises(ValueError, match="X has 3 features"):
        est.predict(X3)
    clf = _clf(hidden_size=4, epochs=2).fit(_X, (_Y > 0).astype(int))
    with pytest.raises(ValueError, match="hidden_size=0"):
        clf.set_params(hidden_size=0).fit(_X, np.arange(40) % 3)
    assert len(clf.classes_) == clf.predict_proba(_X).shape[1]


# ---- hypothesis: random shapes and values ----------------------------------------------------

_SPECIAL = [np.nan, np.inf, -np.inf, 1e39, -1e39, 3e38, -3e38, 0.0]
_ELEMENTS = {
    "clean": st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False),
    "large": st.floats(-3e38, 3e38, allow_nan=False, allow_infinity=False),
    "dirty": st.one_of(st.floats(-4.0, 4.0, allow_nan=False), st.sampled_from(_SPECIAL)),
}
_ANY_SHAPE = st.lists(st.integers(0, 5), max_size=4).map(tuple)


def _plausible_x_shape(n_features: Any) -> Any:
    """2-D or 3-D shapes with non-zero sizes (most fits and predictions can succeed)."""
    size = st.integers(1, 5)
    return st.one_of(st.tuples(size, n_features), st.tuples(size, size, n_features))


def _y_shapes(x_shape: Tuple[int, ...]) -> Any:
    """Shapes of y that match X's layout: per step or per sequence, with or without outputs."""
    k = st.integers(1, 3)
    if len(x_shape) == 2:
        return st.one_of(st.just(x_shape[:1]), st.tuples(st.just(x_shape[0]), k))
    if len(x_shape) == 3:
        return st.one_of(st.just(x_shape[:1]), st.tuples(st.just(x_shape[0]), k),
                         st.tuples(st.just(x_shape[0]), st.just(x_shape[1]), k))
    return _ANY_SHAPE


@st.composite
def _array(draw: Any, shapes: Any) -> np.ndarray:
    """A float64 array of a drawn shape whose values are clean, large (finite in float32) or
    dirty (NaN, inf, 1e39 that overflows float32, ...)."""
    shape = draw(shapes)
    elements = _ELEMENTS[draw(st.sampled_from(sorted(_ELEMENTS)))]
    return draw(arrays(np.float64, shape, elements=elements))


_X_SHAPES = st.one_of(_ANY_SHAPE, _plausible_x_shape(st.integers(1, 3)))


@st.composite
def _x_and_y(draw: Any) -> Tuple[np.ndarray, np.ndarray]:
    X = draw(_array(_X_SHAPES))
    y_shapes = st.one_of(_ANY_SHAPE, _y_shapes(X.shape), _y_shapes(X.shape))
    return X, draw(_array(y_shapes))


_ALLOWED = (ValueError, TypeError)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_x_and_y())
def test_fit_on_random_input_succeeds_or_raises_value_or_type_error(xy: Tuple[np.ndarray, np.ndarray]) -> None:
    X, y = xy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            est = AMRC(hidden_size=3, epochs=1, random_state=0).fit(X, y)
        except _ALLOWED as exc:
            assert str(exc), f"{type(exc).__name__} without a message"
            return
        pred = est.predict(X)
    # the documented shape: like the targets given to fit
    assert pred.shape == y.shape
    assert pred.dtype == np.float64
    assert np.isfinite(pred).all()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_array(st.one_of(_ANY_SHAPE, _plausible_x_shape(st.just(2)))), st.booleans())
def test_predict_on_random_input_succeeds_or_raises_value_or_type_error(X: np.ndarray,
                                                                       reset: bool) -> None:
    est, clf = _fitted_stream(), _fitted_classifier()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            pred = est.predict(X, reset_memory=reset)
        except _ALLOWED as exc:
            assert str(exc)
            pred = None
        try:
            proba = clf.predict_proba(X, reset_memory=reset)
        except _ALLOWED as exc:
            assert str(exc)
            proba = None
    assert (pred is None) == (proba is None)  # the same validation for both
    if pred is None:
        return
    assert X.ndim in (2, 3) and X.shape[-1] == 2 and np.isfinite(X.astype(np.float32)).all()
    assert pred.shape == X.shape[:-1] and np.isfinite(pred).all()
    assert proba.shape == X.shape[:-1] + (2,) and np.isfinite(proba).all()
    assert np.allclose(proba.sum(axis=-1), 1.0, atol=1e-5)


def test_nasty_inputs_do_not_crash_the_interpreter() -> None:
    """The nastiest inputs, in a fresh interpreter: it must finish normally (no signal, no abort)."""
    script = textwrap.dedent("""
        import pickle, warnings
        import numpy as np, scipy.sparse as sp
        import memnative
        from memnative import AMRC, MemoryClassifier
        warnings.simplefilter("ignore")
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
        est = AMRC(hidden_size=3, epochs=1, random_state=0).fit(X, y)
        cases = [
            lambda: AMRC(hidden_size=3, epochs=1).fit(np.full((30, 2), 1e39), y),
            lambda: AMRC(hidden_size=3, epochs=1).fit(X, np.full(30, 1e39)),
            lambda: AMRC(hidden_size=3, epochs=1).fit(np.full((30, 2), 3e38), np.full(30, 3e38)),
            lambda: AMRC(hidden_size=3, epochs=1).fit(np.full((30, 2), np.nan), y),
            lambda: AMRC(hidden_size=3, epochs=1).fit(np.empty((0, 0, 0)), np.empty(0)),
            lambda: AMRC(hidden_size=3, epochs=1).fit(np.ones((2, 2, 2, 2)), np.ones(2)),
            lambda: AMRC(hidden_size=3, epochs=1).fit(np.ones((3, 5, 2)), np.ones((3, 5, 1, 1))),
            lambda: AMRC(hidden_size=3, epochs=1).fit([np.ones((1, 2)), np.ones((0, 2))], [1, 2]),
            lambda: AMRC(hidden_size=3, epochs=1).fit(np.array([[None, "x"]], dtype=object), [1]),
            lambda: AMRC(hidden_size=3, epochs=1).fit(sp.csr_matrix(X), y),
            lambda: AMRC(hidden_size=65536, epochs=1).fit(np.ones((1, 1)), np.ones(1)),
            lambda: MemoryClassifier(hidden_size=3, epochs=1).fit(X, np.full(30, 1e39)),
            lambda: est.predict(np.full((5, 2), 3.4e38)),
            lambda: est.predict(np.full((5, 2), -np.inf), reset_memory=False),
            lambda: est.predict(np.ones((1, 1, 2)), reset_memory=False),
            lambda: est.set_memory_state({"h": np.full(3, np.nan), "m": np.zeros(3)}),
            lambda: pickle.loads(pickle.dumps(est)[:-30]),
            lambda: memnative.load("/dev/null"),
        ]
        buf = bytearray(pickle.dumps(est)); buf[len(buf) // 2] ^= 0xFF
        cases.append(lambda: pickle.loads(bytes(buf)))
        for case in cases:
            try:
                case()
            except Exception as exc:
                assert isinstance(exc, (ValueError, TypeError, OSError, pickle.UnpicklingError)), repr(exc)
        print("survived", len(cases))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stdout.startswith("survived"), proc.stdout
