"""Input validation and the conversion of arrays into libmem's ``mem_data``.

Layouts (DESIGN §4): a 2-D ``X`` (n_steps, n_features) is one stream; a 3-D ``X`` (n_seq, seq_len,
n_features) holds independent sequences; a list of 2-D arrays holds sequences of different
lengths (padded here, with their lengths passed to C). Messages for 2-D input follow
scikit-learn's wording, so tools written against scikit-learn read them as usual.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ._compat import DataConversionWarning
from ._lib import ffi, lib

__all__ = ["Inputs", "check_inputs", "resolve_mode", "check_targets", "valid_targets", "as_mem_data"]

STREAM, SEQUENCES = "stream", "sequences"
PER_STEP, LAST = "per_step", "last"


@dataclass
class Inputs:
    """Validated inputs: float32, C-contiguous, with the layout made explicit."""

    layout: str                      #: "stream" or "sequences"
    x: np.ndarray                    #: (n_steps, I) or (n_seq, max_len, I)
    lengths: Optional[np.ndarray]    #: int64 (n_seq,) for a list of sequences, else None
    ragged: bool                     #: the caller gave a list of 2-D arrays

    @property
    def n_seq(self) -> int:
        return 1 if self.layout == STREAM else int(self.x.shape[0])

    @property
    def max_len(self) -> int:
        return int(self.x.shape[0] if self.layout == STREAM else self.x.shape[1])

    @property
    def n_features(self) -> int:
        return int(self.x.shape[-1])

    def seq_lengths(self) -> np.ndarray:
        """Valid steps of every sequence (one entry for a stream)."""
        if self.lengths is not None:
            return self.lengths
        return np.full(self.n_seq, self.max_len, dtype=np.int64)


def _name(estimator: Any) -> str:
    return type(estimator).__name__


def is_sparse(X: Any) -> bool:
    return hasattr(X, "toarray") and hasattr(X, "nnz")


def _to_float_array(X: Any, what: str) -> np.ndarray:
    """X as a float array, rejecting what scikit-learn rejects (sparse, complex)."""
    if is_sparse(X):
        raise TypeError(f"Sparse data was passed for {what}, but dense data is required. Use "
                        "'.toarray()' to convert to a dense numpy array.")
    if hasattr(X, "dtype") and np.issubdtype(np.asarray(X).dtype, np.complexfloating):
        raise ValueError("Complex data not supported\n{}\n".format(X))
    arr = np.asarray(X)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError("Complex data not supported\n{}\n".format(X))
    if arr.dtype.kind in "OUSV" or arr.dtype.kind == "b":
        arr = arr.astype(np.float64)  # strings or objects that are not numbers raise here
    return arr


def _check_finite(arr: np.ndarray, what: str, estimator: Any) -> None:
    if np.isfinite(arr).all():
        return
    if np.isnan(arr).any():
        raise ValueError(f"Input {what} contains NaN.\n{_name(estimator)} does not accept missing "
                         "values encoded as NaN natively.")
    raise ValueError(f"Input {what} contains infinity or a value too large for "
                     f"dtype('float32').")


def _check_2d_shape(arr: np.ndarray, estimator: Any, allow_3d: bool) -> None:
    if arr.ndim == 0:
        raise ValueError("Expected 2D array, got scalar array instead:\narray={}.\nReshape your "
                         "data either using array.reshape(-1, 1) if your data has a single feature "
                         "or array.reshape(1, -1) if it contains a single sample.".format(arr))
    if arr.ndim == 1:
        raise ValueError("Expected 2D array, got 1D array instead:\narray={}.\nReshape your data "
                         "either using array.reshape(-1, 1) if your data has a single feature or "
                         "array.reshape(1, -1) if it contains a single sample.".format(arr))
    limit = 3 if allow_3d else 2
    if arr.ndim > limit:
        raise ValueError(f"Found array with dim {arr.ndim}. {_name(estimator)} expected <= {limit}"
                         " (2-D: one stream; 3-D: sequences).")
    if arr.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 "
                         f"is required by {_name(estimator)}.")
    if arr.ndim == 3 and arr.shape[1] == 0:
        raise ValueError(f"Found array with 0 time step(s) (shape={arr.shape}) while a minimum of "
                         f"1 is required by {_name(estimator)}.")
    if arr.shape[-1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 "
                         f"is required by {_name(estimator)}.")


def check_inputs(X: Any, estimator: Any, n_features: Optional[int] = None) -> Inputs:
    """Validate ``X`` (2-D stream, 3-D sequences or a list of 2-D sequences).

    Parameters
    ----------
    X : array_like or list of array_like
    estimator : object
        Named in messages.
    n_features : int, optional
        The number of features the fitted estimator expects.
    """
    if isinstance(X, (list, tuple)) and len(X) > 0 and all(
            hasattr(s, "shape") or isinstance(s, (list, tuple)) for s in X) and not _is_rectangular(X):
        seqs = [_to_float_array(s, "X") for s in X]
        for s in seqs:
            if s.ndim != 2:
                raise ValueError(f"a list of sequences needs 2-D arrays (seq_len, n_features), got "
                                 f"one of shape {s.shape}")
            if s.shape[0] == 0:
                raise ValueError(f"Found a sequence with 0 time step(s) (shape={s.shape}) while a "
                                 f"minimum of 1 is required by {_name(estimator)}.")
            _check_2d_shape(s, estimator, allow_3d=False)
        widths = {s.shape[1] for s in seqs}
        if len(widths) > 1:
            raise ValueError(f"the sequences have different numbers of features: {sorted(widths)}")
        lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
        x = np.zeros((len(seqs), int(lengths.max()), seqs[0].shape[1]), dtype=np.float32)
        with np.errstate(over="ignore"):  # values beyond float32 become inf, reported just below
            for i, s in enumerate(seqs):
                x[i, : s.shape[0]] = s
        _check_finite(x, "X", estimator)
        inputs = Inputs(SEQUENCES, x, lengths, ragged=True)
    else:
        arr = _to_float_array(X, "X")
        _check_2d_shape(arr, estimator, allow_3d=True)
        with np.errstate(over="ignore"):  # values beyond float32 become inf, reported just below
            x = np.ascontiguousarray(arr, dtype=np.float32)
        _check_finite(x, "X", estimator)
        inputs = Inputs(STREAM if x.ndim == 2 else SEQUENCES, x, None, ragged=False)
    if n_features is not None and inputs.n_features != n_features:
        raise ValueError(f"X has {inputs.n_features} features, but {_name(estimator)} is expecting "
                         f"{n_features} features as input.")
    return inputs


def _is_rectangular(X: Sequence[Any]) -> bool:
    """A list that numpy turns into a regular 2-D/3-D array (rows of equal length)."""
    try:
        arr = np.asarray(X)
    except ValueError:
        return False
    return arr.dtype != object


def _check_length(n_x: int, n_y: int) -> None:
    if n_x != n_y:
        raise ValueError("Found input variables with inconsistent numbers of samples: "
                         f"[{n_x}, {n_y}]")


def resolve_mode(inputs: Inputs, y: Any, target: str, classifier: bool) -> str:
    """The target mode for ``y`` given the layout and the ``target`` keyword (DESIGN §4)."""
    if target not in ("auto", PER_STEP, LAST):
        raise ValueError(f"target={target!r} must be 'auto', 'per_step' or 'last'")
    if inputs.layout == STREAM:
        if target == LAST:
            raise ValueError("target='last' needs sequences (3-D X or a list of 2-D arrays); a 2-D "
                             "X is one stream with a target at every step")
        return PER_STEP
    if target != "auto":
        return target
    if inputs.ragged:
        return PER_STEP if isinstance(y, (list, tuple)) and len(y) > 0 and np.ndim(y[0]) >= 1 else LAST
    ndim = np.ndim(y)
    if classifier:
        return PER_STEP if ndim == 2 else LAST
    return PER_STEP if ndim == 3 else LAST


def _stack_ragged(y: Any, lengths: np.ndarray, max_len: int, classifier: bool) -> np.ndarray:
    """Per-step targets of a list of sequences, padded to (n_seq, max_len, ...)."""
    if not isinstance(y, (list, tuple)):
        raise ValueError("per-step targets of a list of sequences are a list of arrays, one per "
                         "sequence")
    _check_length(len(lengths), len(y))
    parts = [np.asarray(v) if classifier else _to_float_array(v, "y") for v in y]
    tail = parts[0].shape[1:]
    dtype = np.result_type(*parts) if classifier else np.float64
    # padding repeats a valid label, so a classifier never sees a label that is not in y
    out = np.full((len(parts), max_len) + tail, parts[0].flat[0] if classifier else 0, dtype=dtype)
    for i, (part, n) in enumerate(zip(parts, lengths)):
        if part.shape != (n,) + tail:
            raise ValueError(f"targets of sequence {i} have shape {part.shape}, expected "
                             f"{(int(n),) + tail}")
        out[i, :n] = part
    return out


def _expected_lead(inputs: Inputs, mode: str) -> Tuple[int, ...]:
    if inputs.layout == STREAM:
        return (inputs.max_len,)
    return (inputs.n_seq, inputs.max_len) if mode == PER_STEP else (inputs.n_seq,)


def check_targets(inputs: Inputs, y: Any, estimator: Any, mode: str, classifier: bool) -> np.ndarray:
    """Validate ``y`` for ``mode``.

    Returns
    -------
    ndarray
        Regressors: float64 targets with a trailing output axis, (n_steps, k) for a stream,
        (n_seq, max_len, k) per step or (n_seq, k) per sequence. Classifiers: the labels, shaped
        (n_steps,), (n_seq, max_len) or (n_seq,), padding steps holding a valid label.
    """
    if y is None:
        raise ValueError(f"{_name(estimator)} requires y to be passed, but the target y is None.")
    if is_sparse(y):
        raise TypeError("Sparse data was passed for y, but dense data is required. Use "
                        "'.toarray()' to convert to a dense numpy array.")
    lead = _expected_lead(inputs, mode)
    if inputs.ragged and mode == PER_STEP:
        arr = _stack_ragged(y, inputs.seq_lengths(), inputs.max_len, classifier)
    else:
        arr = np.asarray(y) if classifier else _to_float_array(y, "y").astype(np.float64)
    _check_length(lead[0], arr.shape[0] if arr.ndim else 0)
    if arr.shape[: len(lead)] != lead:
        raise ValueError(f"y has shape {arr.shape}; with X of shape {inputs.x.shape} and target "
                         f"mode {mode!r} it should start with {lead}")
    extra = arr.ndim - len(lead)
    if classifier:
        if extra == 1 and arr.shape[-1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please change "
                          "the shape of y to (n_samples, ), for example using ravel().",
                          DataConversionWarning, stacklevel=3)
            arr = arr.reshape(lead)
        elif extra != 0:
            raise ValueError(f"y has shape {arr.shape}: a classifier takes one label per "
                             f"{'step' if mode == PER_STEP else 'sequence'}, shape {lead}")
        return arr
    if extra > 1:
        raise ValueError(f"y has shape {arr.shape}: expected {lead} or {lead + ('n_outputs',)}")
    if extra == 0:
        arr = arr[..., None]
    if arr.shape[-1] == 0:
        raise ValueError(f"y has shape {arr.shape}: at least one output is required")
    # checked as float32, the precision libmem computes in (1e39 is finite only in float64)
    with np.errstate(over="ignore"):
        _check_finite(valid_targets(arr, inputs, mode).astype(np.float32), "y", estimator)
    return arr


def valid_targets(arr: np.ndarray, inputs: Inputs, mode: str) -> np.ndarray:
    """The target entries that count: padding steps of shorter sequences are dropped.

    Returns (n_targets, ...) with the per-target axes of ``arr`` kept."""
    if inputs.layout == STREAM or mode == LAST:
        return arr.reshape((-1,) + arr.shape[1:])
    mask = np.arange(inputs.max_len)[None, :] < inputs.seq_lengths()[:, None]
    return arr[mask]


def as_mem_data(inputs: Inputs, y: Optional[np.ndarray] = None, mode: str = PER_STEP
                ) -> Tuple[Any, List[Any]]:
    """A ``mem_data *`` for ``inputs`` (and float32 targets ``y`` in libmem's layout).

    Returns the struct and the list of objects it points into, which the caller keeps alive for as
    long as the struct is used.
    """
    data = ffi.new("mem_data *")
    keep: List[Any] = [inputs.x]
    data.layout = lib.MEM_LAYOUT_STREAM if inputs.layout == STREAM else lib.MEM_LAYOUT_SEQUENCES
    data.target = lib.MEM_TARGET_LAST if mode == LAST else lib.MEM_TARGET_PER_STEP
    data.x = ffi.from_buffer("float[]", inputs.x)
    if y is not None:
        y32 = np.ascontiguousarray(y, dtype=np.float32)
        keep.append(y32)
        data.y = ffi.from_buffer("float[]", y32)
    else:
        data.y = ffi.NULL
    if inputs.lengths is not None:
        lengths = np.ascontiguousarray(inputs.lengths, dtype=np.int64)
        keep.append(lengths)
        data.lengths = ffi.cast("const int64_t *", ffi.from_buffer(lengths))
    else:
        data.lengths = ffi.NULL
    data.n_seq = inputs.n_seq
    data.max_len = inputs.max_len
    return data, keep
