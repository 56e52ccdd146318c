"""The estimator machinery shared by every memnative model (DESIGN §4 and §6).

A fitted estimator owns one libmem model (``self._model``, a ``mem_model *`` freed with the
estimator). Python validates input and converts it to float32; everything numerical is C.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from . import _data
from ._compat import BaseEstimator, NotFittedError
from ._data import LAST, PER_STEP, STREAM, Inputs
from ._lib import (_as_float, _as_int64, check, config_params, ffi, lib, new_config,
                   set_config_param)
from ._freeze import FreezeMixin
from ._inspect import InspectMixin
from ._persist import ESTIMATORS, PersistenceMixin, _jsonable, load_estimator, register_estimator

__all__ = ["MemoryEstimator", "ESTIMATORS", "register_estimator", "load_estimator"]

#: Python keyword -> C TRAIN-table key (values converted by ``_train_settings``)
_TRAIN_KEYS = ("learning_rate", "optimizer", "momentum", "weight_decay", "clip_norm", "lr_schedule",
               "batch_size", "bptt", "n_threads")
#: readout / common ARCH keywords every estimator has
_COMMON_ARCH_KEYS = ("hidden_size", "output_memory", "output_beta", "skip")


def _seed(random_state: Any) -> int:
    """A C seed from scikit-learn's ``random_state`` conventions."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (1 << 53))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state={random_state} must be a non-negative integer, a "
                             "numpy Generator/RandomState or None")
        return int(random_state) % (1 << 53)  # libmem's seeds are exact up to 2^53
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 1 << 53))
    raise ValueError(f"random_state={random_state!r} must be a non-negative integer, a numpy "
                     "Generator/RandomState or None")


class _Interrupt:
    """Turns Ctrl-C during training into a cancel request seen by the progress callback.

    libmem checks the callback after every minibatch, so a KeyboardInterrupt arrives within one
    minibatch (or right after the epoch when the signal came after its last minibatch) and the
    weights are those of the last finished one. Signal handlers can only be
    installed from the main thread; elsewhere Ctrl-C keeps Python's default behaviour.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> "_Interrupt":
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handler)
                self._installed = True
            except ValueError:  # not the main interpreter
                self._installed = False
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


class MemoryEstimator(InspectMixin, FreezeMixin, PersistenceMixin, BaseEstimator):
    """Base of memnative's estimators (not used directly).

    Subclasses define ``__init__`` with explicit keywords (scikit-learn's convention), the kind of
    cell (``_cell_kind``), its cell-specific settings (``_cell_settings``) and whether they classify.
    """

    _classifier = False

    # ---- what subclasses provide -------------------------------------------------------------

    def _cell_kind(self) -> str:
        raise NotImplementedError

    def _cell_settings(self) -> Dict[str, Any]:
        """The cell's own C ARCH parameters (beyond hidden_size and the readout options)."""
        raise NotImplementedError

    # ---- configuration --------------------------------------------------------------------

    def _arch_settings(self) -> Dict[str, Any]:
        settings = {k: getattr(self, k) for k in _COMMON_ARCH_KEYS if hasattr(self, k)}
        if settings.get("skip") is None:
            settings.pop("skip", None)  # the kind's default
        settings.update(self._cell_settings())
        settings["loss"] = "cross_entropy" if self._classifier else "mse"
        return settings

    def _train_settings(self, n_epochs: int) -> Dict[str, Any]:
        settings: Dict[str, Any] = {}
        for key in _TRAIN_KEYS:
            if not hasattr(self, key):
                continue
            value = getattr(self, key)
            if key == "learning_rate" and value is None:
                continue  # the kind's default from the C table
            if key in ("bptt", "n_threads") and value is None:
                value = 0
            if key == "clip_norm" and value is None:
                value = 0.0
            settings[key] = value
        settings["epochs"] = max(int(n_epochs), 1)
        return settings

    def _param_types(self) -> Dict[str, str]:
        return {p.name: p.type for p in config_params(self._cell_kind())}

    def _new_model(self, n_inputs: int, n_outputs: int, n_epochs: int) -> None:
        kind = self._cell_kind()
        cfg = new_config(kind)
        types = self._param_types()
        arch = self._arch_settings()
        for key, value in {**arch, **self._train_settings(n_epochs), "seed": _seed(self.random_state)}.items():
            set_config_param(cfg, key, _c_value(key, value), types)
        out = ffi.new("mem_model **")
        check(lib.mem_model_create(cfg, int(n_inputs), int(n_outputs), out))
        self._model = ffi.gc(out[0], lib.mem_model_free)
        self._arch_signature = _signature(kind, arch)

    def _push_train_settings(self, n_epochs: int) -> None:
        """Apply the current training hyper-parameters to the live model (set_params between
        partial_fit calls takes effect). All are validated on a copy of the model's configuration
        first, so a rejected value leaves the model's settings as they were."""
        types = self._param_types()
        settings = self._train_settings(n_epochs)
        out = ffi.new("mem_config **")
        check(lib.mem_model_get_config(self._model, out))
        trial = ffi.gc(out[0], lib.mem_config_free)
        for key, value in settings.items():
            set_config_param(trial, key, _c_value(key, value), types)
        for key, value in settings.items():
            value = _c_value(key, value)
            kind = types[key]
            if kind == "choice":
                check(lib.mem_model_set_str(self._model, key.encode(), str(value).encode()))
            elif kind == "float":
                check(lib.mem_model_set_float(self._model, key.encode(), _as_float(key, value)))
            else:
                check(lib.mem_model_set_int(self._model, key.encode(), _as_int64(key, value)))

    def _check_arch_unchanged(self) -> None:
        current = _signature(self._cell_kind(), self._arch_settings())
        if current != self._arch_signature:
            changed = sorted(k for k in set(current) | set(self._arch_signature)
                             if current.get(k) != self._arch_signature.get(k))
            raise ValueError(f"{', '.join(changed)} changed since the model was built; "
                             "architecture parameters are fixed: fit again with warm_start=False")

    # ---- fitted state ---------------------------------------------------------------------

    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "_model", None) is not None

    def _check_fitted(self) -> None:
        if getattr(self, "_model", None) is None:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call "
                                 "'fit' with appropriate arguments before using this estimator.")

    # ---- data -----------------------------------------------------------------------------

    def _encode_targets(self, y: np.ndarray, inputs: Inputs, mode: str, fitting: bool,
                        classes: Any = None) -> np.ndarray:
        """Targets in libmem's layout (regressors: float; classifiers: class indices)."""
        return y

    def _prepare(self, X: Any, y: Any, *, first: bool) -> Tuple[Inputs, str, np.ndarray]:
        inputs = _data.check_inputs(X, self, None if first else self.n_features_in_)
        if y is not None and not isinstance(y, (list, tuple)) and not _data.is_sparse(y):
            y = np.asarray(y)  # array-likes (pandas, objects with __array__) become arrays once
        if first:
            mode = _data.resolve_mode(inputs, y, self.target, self._classifier)
        else:
            mode = self._mode_for(inputs)
        targets = _data.check_targets(inputs, y, self, mode, self._classifier)
        if first and not self._classifier:
            # a 1-D target per step / per sequence gives 1-D predictions, as in scikit-learn
            given = np.ndim(y[0]) + 1 if inputs.ragged and mode == PER_STEP else np.ndim(y)
            per_target_axes = 2 if inputs.layout != STREAM and mode == PER_STEP else 1
            self._y_single = given == per_target_axes
        return inputs, mode, targets

    def _mode_for(self, inputs: Inputs) -> str:
        if inputs.layout == STREAM:
            if self.target_mode_ != PER_STEP:
                raise ValueError("this estimator was fitted on sequences with one target per "
                                 "sequence; a 2-D X (one stream) has a target at every step")
            return PER_STEP
        return self.target_mode_

    # ---- training -------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None, epochs: Optional[int] = None) -> "MemoryEstimator":
        """Train on ``X`` and ``y`` for ``epochs`` epochs (``self.epochs`` when None).

        Parameters
        ----------
        X : array_like of shape (n_steps, n_features), (n_seq, seq_len, n_features), or a list
            of (seq_len_i, n_features) arrays
            A 2-D ``X`` is one stream whose memory carries across rows; 3-D or a list are
            independent sequences, each from zero memory.
        y : array_like
            Per-step or per-sequence targets (see ``target``).
        epochs : int, optional
            Overrides ``self.epochs`` for this call (as the original API allowed).

        Returns
        -------
        self
        """
        n_epochs = self.epochs if epochs is None else epochs
        if not isinstance(n_epochs, (int, np.integer)) or isinstance(n_epochs, bool) or n_epochs < 1:
            raise ValueError(f"epochs={n_epochs!r} must be an integer >= 1")
        _check_training_keywords(self)
        warm = bool(self.warm_start) and getattr(self, "_model", None) is not None
        with _unchanged_on_error(self):
            inputs, mode, y_raw = self._prepare(X, y, first=not warm)
            if not warm:
                y_c = self._encode_targets(y_raw, inputs, mode, fitting=True)
                self._set_fitted_shape(inputs, mode, y_raw)
                self._new_model(inputs.n_features, self.n_outputs_, n_epochs)
                self.loss_curve_: List[float] = []
                self.n_iter_ = 0
            else:
                self._check_arch_unchanged()
                y_c = self._encode_targets(y_raw, inputs, mode, fitting=False)
            train_in, train_y, val = self._validation_split(inputs, y_c, mode)
            if warm:  # last: everything that can be refused has been checked
                self._push_train_settings(n_epochs)
        # from here on a failure (Ctrl-C, a non-finite loss) keeps the last good weights
        self._train_loop(train_in, train_y, mode, n_epochs, val)
        return self

    def partial_fit(self, X: Any, y: Any = None) -> "MemoryEstimator":
        """One pass over ``X``: for a stream, online training of the next chunk, continuing the
        stored memory window by window (exact online semantics); for sequences, one epoch.

        Online training uses the base ``learning_rate`` without a schedule; after a ``fit``, a
        smaller rate (``set_params(learning_rate=...)``, e.g. a tenth) keeps online updates from
        undoing what the fit learned.

        Returns
        -------
        self
        """
        return self._partial_fit(X, y)

    def _partial_fit(self, X: Any, y: Any, classes: Any = None) -> "MemoryEstimator":
        first = getattr(self, "_model", None) is None
        _check_training_keywords(self)
        with _unchanged_on_error(self):
            inputs, mode, y_raw = self._prepare(X, y, first=first)
            if first:
                y_c = self._encode_targets(y_raw, inputs, mode, fitting=True, classes=classes)
                self._set_fitted_shape(inputs, mode, y_raw)
                self._new_model(inputs.n_features, self.n_outputs_, 1)
                self.loss_curve_ = []
                self.n_iter_ = 0
            else:
                self._check_arch_unchanged()
                y_c = self._encode_targets(y_raw, inputs, mode, fitting=False)
                self._push_train_settings(1)
        flags = lib.MEM_TRAIN_ONLINE if inputs.layout == STREAM else 0
        loss = self._run_epoch(inputs, y_c, mode, flags, epoch=0, n_epochs=1, started=time.perf_counter())
        self.loss_curve_.append(loss)
        self.n_iter_ += 1
        return self

    def _set_fitted_shape(self, inputs: Inputs, mode: str, y_raw: np.ndarray) -> None:
        self.n_features_in_ = inputs.n_features
        self.target_mode_ = mode
        if not self._classifier:
            self.n_outputs_ = int(y_raw.shape[-1])

    def _validation_split(self, inputs: Inputs, y: np.ndarray, mode: str
                          ) -> Tuple[Inputs, np.ndarray, Optional[Tuple[Inputs, np.ndarray]]]:
        fraction = self.validation_fraction
        if fraction == 0:
            return inputs, y, None
        if inputs.layout == STREAM:  # the tail of the stream, so training continues into it
            n_val = int(round(fraction * inputs.max_len))
            n_train = inputs.max_len - n_val
            if n_val < 1 or n_train < 1:
                raise ValueError(f"validation_fraction={fraction} leaves {n_train} training and "
                                 f"{n_val} validation steps of {inputs.max_len}")
            tr = Inputs(STREAM, inputs.x[:n_train], None, False)
            va = Inputs(STREAM, np.ascontiguousarray(inputs.x[n_train:]), None, False)
            return tr, y[:n_train], (va, np.ascontiguousarray(y[n_train:]))
        n = inputs.n_seq
        n_val = int(round(fraction * n))
        if n_val < 1 or n - n_val < 1:
            raise ValueError(f"validation_fraction={fraction} leaves {n - n_val} training and "
                             f"{n_val} validation sequences of {n}")
        order = np.random.default_rng(_seed(self.random_state) if self.random_state is not None
                                      else None).permutation(n)
        tr_idx, va_idx = np.sort(order[n_val:]), np.sort(order[:n_val])

        def take(idx: np.ndarray) -> Tuple[Inputs, np.ndarray]:
            lengths = None if inputs.lengths is None else inputs.lengths[idx]
            return (Inputs(inputs.layout, np.ascontiguousarray(inputs.x[idx]), lengths, inputs.ragged),
                    np.ascontiguousarray(y[idx]))

        tr_in, tr_y = take(tr_idx)
        return tr_in, tr_y, take(va_idx)

    def _train_loop(self, inputs: Inputs, y: np.ndarray, mode: str, n_epochs: int,
                    val: Optional[Tuple[Inputs, np.ndarray]]) -> None:
        patience = self.n_iter_no_change
        started = time.perf_counter()
        best, stale = np.inf, 0
        if val is not None:
            self.validation_scores_: List[float] = []
        for epoch in range(n_epochs):
            flags = lib.MEM_TRAIN_RESTART_SCHEDULE if epoch == 0 else 0
            loss = self._run_epoch(inputs, y, mode, flags, epoch, n_epochs, started)
            self.loss_curve_.append(loss)
            self.n_iter_ += 1
            monitored = loss
            logs: Dict[str, float] = {"loss": loss}
            if val is not None:
                # streams: the tail continues the memory left by training (the forecasting protocol)
                monitored = self._evaluate(val[0], val[1], mode, reset=val[0].layout != STREAM)
                self.validation_scores_.append(monitored)
                logs["val_loss"] = monitored
            if self.verbose:
                _report_progress(epoch, n_epochs, logs, started)
            stop = False
            for callback in self.callbacks or ():
                stop = bool(callback(self, epoch, dict(logs))) or stop
            if patience is not None:
                improved = not np.isfinite(best) or monitored < best - self.tol * abs(best)
                best, stale = (monitored, 0) if improved else (best, stale + 1)
                stop = stop or stale >= patience
            if stop:
                break

    def _run_epoch(self, inputs: Inputs, y: np.ndarray, mode: str, flags: int, epoch: int,
                   n_epochs: int, started: float) -> float:
        data, keep = _data.as_mem_data(inputs, y, mode)
        failure: List[BaseException] = []
        with _Interrupt() as interrupt:
            def progress(user: Any, done: int, total: int, loss: float) -> int:
                return 1 if interrupt.requested else 0

            def on_error(exc_type: Any, exc: BaseException, tb: Any) -> int:
                failure.append(exc)
                return 1

            callback = ffi.callback("int(void *, int64_t, int64_t, double)", progress, onerror=on_error)
            loss = ffi.new("double *")
            status = lib.mem_model_train_epoch(self._model, data, flags, callback, ffi.NULL, loss)
        del keep
        if failure:
            raise failure[0]
        check(status)
        if interrupt.requested:  # Ctrl-C after the epoch's last minibatch: stop before the next
            raise KeyboardInterrupt("training interrupted after an epoch")
        return float(loss[0])

    def _evaluate(self, inputs: Inputs, y: np.ndarray, mode: str, reset: bool) -> float:
        data, keep = _data.as_mem_data(inputs, y, mode)
        loss = ffi.new("double *")
        check(lib.mem_model_loss(self._model, data, 1 if reset else 0, loss))
        del keep
        return float(loss[0])

    # ---- prediction -----------------------------------------------------------------------

    def _raw_predict(self, X: Any, reset_memory: bool) -> Tuple[np.ndarray, Inputs]:
        """libmem's outputs for X: (n_steps, O), (n_seq, max_len, O) or (n_seq, O)."""
        self._check_fitted()
        inputs = _data.check_inputs(X, self, self.n_features_in_)
        mode = self._mode_for(inputs)
        if inputs.layout != STREAM and not reset_memory:
            raise ValueError("reset_memory=False continues a stream; sequences (3-D X or a list) "
                             "always start from zero memory")
        O = int(lib.mem_model_n_outputs(self._model))
        if inputs.layout == STREAM:
            shape: Tuple[int, ...] = (inputs.max_len, O)
        elif mode == LAST:
            shape = (inputs.n_seq, O)
        else:
            shape = (inputs.n_seq, inputs.max_len, O)
        out = np.empty(shape, dtype=np.float32)
        data, keep = _data.as_mem_data(inputs, None, mode)
        check(lib.mem_model_predict(self._model, data, 1 if reset_memory else 0,
                                    ffi.from_buffer("float[]", out), out.size))
        del keep
        return out, inputs

    def hidden_states(self, X: Any, reset_memory: bool = True) -> Dict[str, np.ndarray]:
        """The memory state after every step of ``X``, tensor by tensor (the state table's names).

        Runs like :meth:`predict` (a stream from zero memory unless ``reset_memory=False``, and
        the memory is left at the end of the stream; sequences never touch it).

        Parameters
        ----------
        X : array_like of shape (n_steps, n_features) or (n_seq, seq_len, n_features), or a list
        reset_memory : bool, default True

        Returns
        -------
        dict of str to ndarray
            ``{name: array}`` of shape (n_steps, *shape) for a stream, (n_seq, max_len, *shape)
            for sequences (0 past a sequence's length), where ``shape`` is the tensor's shape in
            :meth:`get_memory_state` (e.g. ``"h"``: (hidden_size,)).
        """
        self._check_fitted()
        inputs = _data.check_inputs(X, self, self.n_features_in_)
        if inputs.layout != STREAM and not reset_memory:
            raise ValueError("reset_memory=False continues a stream; sequences (3-D X or a list) "
                             "always start from zero memory")
        table = self._state_table()
        width = sum(int(np.prod(shape)) for _, shape in table)
        lead = (inputs.max_len,) if inputs.layout == STREAM else (inputs.n_seq, inputs.max_len)
        out = np.empty(lead + (width,), dtype=np.float32)
        data, keep = _data.as_mem_data(inputs, None, PER_STEP)
        check(lib.mem_model_predict_states(self._model, data, 1 if reset_memory else 0, ffi.NULL,
                                           ffi.from_buffer("float[]", out), out.size))
        del keep
        states, start = {}, 0
        for name, shape in table:
            size = int(np.prod(shape))
            states[name] = out[..., start:start + size].reshape(lead + shape)
            start += size
        return states

    def _per_sequence_list(self, out: np.ndarray, inputs: Inputs) -> Any:
        """Per-step outputs of a list of sequences come back as a list of arrays."""
        if inputs.ragged and self.target_mode_ == PER_STEP:
            return [out[i, :n] for i, n in enumerate(inputs.seq_lengths())]
        return out


@contextlib.contextmanager
def _unchanged_on_error(est: MemoryEstimator) -> Iterator[None]:
    """A failure while preparing a fit (bad data, a hyper-parameter C rejects) leaves the
    estimator exactly as it was: its fitted attributes still describe its model."""
    saved = dict(est.__dict__)
    try:
        yield
    except BaseException:
        est.__dict__.clear()
        est.__dict__.update(saved)
        raise


def _signature(kind: str, arch: Dict[str, Any]) -> Dict[str, Any]:
    return {"kind": kind, **{k: _jsonable(_c_value(k, v)) for k, v in arch.items()}}


def _c_value(key: str, value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    return value


def _check_training_keywords(est: MemoryEstimator) -> None:
    """Checks of the Python-side keywords, before anything changes (C checks the others)."""
    if est.target not in ("auto", PER_STEP, LAST):
        raise ValueError(f"target={est.target!r} must be 'auto', 'per_step' or 'last'")
    if est.callbacks is not None and (not isinstance(est.callbacks, (list, tuple)) or
                                      not all(callable(c) for c in est.callbacks)):
        raise ValueError(f"callbacks={est.callbacks!r} must be a list of callables "
                         "f(estimator, epoch, logs) -> bool (True stops training)")
    fraction = est.validation_fraction
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.integer, np.floating))
            or not 0.0 <= fraction < 1.0):
        raise ValueError(f"validation_fraction={fraction!r} must be in [0, 1)")
    patience = est.n_iter_no_change
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, (int, np.integer))
                                 or patience < 1):
        raise ValueError(f"n_iter_no_change={patience!r} must be None or an integer >= 1")
    if not isinstance(est.tol, (int, float, np.floating)) or est.tol < 0:
        raise ValueError(f"tol={est.tol!r} must be a non-negative number")


def _report_progress(epoch: int, n_epochs: int, logs: Dict[str, float], started: float) -> None:
    elapsed = time.perf_counter() - started
    eta = elapsed / (epoch + 1) * (n_epochs - epoch - 1)
    extra = "".join(f"  {k} {v:.6g}" for k, v in logs.items())
    print(f"epoch {epoch + 1}/{n_epochs}{extra}  {elapsed:.2f} s  ETA {eta:.1f} s",
          file=sys.stderr, flush=True)
