"""Persistence of estimators (DESIGN §5, §6): files through libmem's atomic save, pickling and
joblib through libmem's buffer, and ``memnative.load``, which restores the class named in the
file's metadata.

The C file holds the model (weights, freeze masks, optimizer state, memory, RNG and counters); the
metadata string holds the estimator: its class, its JSON-able hyper-parameters (callables such as
``callbacks`` are not saved) and its fitted attributes.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict

import numpy as np

from ._errors import FormatError
from ._lib import check, ffi, lib

__all__ = ["ESTIMATORS", "register_estimator", "PersistenceMixin", "load_estimator"]

#: estimator classes by name, for ``memnative.load`` (filled by ``register_estimator``)
ESTIMATORS: Dict[str, type] = {}


def register_estimator(cls: type) -> type:
    """Class decorator: makes ``memnative.load`` able to restore ``cls`` from a file."""
    ESTIMATORS[cls.__name__] = cls
    return cls


class PersistenceMixin:
    """save / load / pickling for an estimator holding a libmem model in ``self._model``."""

    def _fitted_attributes(self) -> Dict[str, Any]:
        keys = [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]
        keys += [k for k in ("_y_single", "_arch_signature") if k in vars(self)]
        return {k: getattr(self, k) for k in keys}

    def _metadata(self) -> str:
        fitted = {}
        for key, value in self._fitted_attributes().items():
            if isinstance(value, np.ndarray):
                fitted[key] = {"ndarray": value.tolist(), "dtype": value.dtype.str}
            else:
                fitted[key] = _jsonable(value)
        params = {k: _json_param(v) for k, v in self.get_params(deep=False).items()}
        return json.dumps({"format": "memnative-estimator", "version": 1,
                           "class": type(self).__name__, "params": params, "fitted": fitted})

    def _buffer(self) -> bytes:
        meta = self._metadata().encode()
        size = ffi.new("int64_t *")
        check(lib.mem_model_save_size(self._model, meta, size))
        buf = bytearray(size[0])
        check(lib.mem_model_save_buffer(self._model, meta, ffi.from_buffer(buf), len(buf)))
        return bytes(buf)

    def save(self, path: Any) -> None:
        """Save the fitted model, its memory, training state and hyper-parameters to ``path``.

        The write is atomic (a temporary file in the same folder, flushed, then renamed), so an
        existing file is replaced whole or not at all. Load with :meth:`load` or
        :func:`memnative.load`.
        """
        self._check_fitted()
        check(lib.mem_model_save(self._model, _fspath(path), self._metadata().encode()))

    @classmethod
    def load(cls, path: Any) -> "PersistenceMixin":
        """Load an estimator saved with :meth:`save`; it must be of this class (or a subclass)."""
        est = load_estimator(path)
        if not isinstance(est, cls):
            raise TypeError(f"{path!r} holds an estimator of class {type(est).__name__}, not "
                            f"{cls.__name__}")
        return est

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        model = state.pop("_model", None)
        if model is not None:
            state["_model_bytes"] = self._buffer()
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        blob = state.pop("_model_bytes", None)
        self.__dict__.update(state)
        if blob is not None:
            self._model = _load_model_buffer(blob)


def _load_model_buffer(blob: bytes) -> Any:
    out = ffi.new("mem_model **")
    check(lib.mem_model_load_buffer(blob, len(blob), out))
    return ffi.gc(out[0], lib.mem_model_free)


def _read_metadata(model: Any) -> Dict[str, Any]:
    length = ffi.new("int64_t *")
    check(lib.mem_model_metadata(model, ffi.NULL, 0, length))
    buf = ffi.new("char[]", int(length[0]) + 1)
    check(lib.mem_model_metadata(model, buf, len(buf), length))
    text = ffi.string(buf).decode()
    try:
        meta = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise FormatError(f"the model's metadata is not JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != "memnative-estimator":
        raise FormatError("the file holds a libmem model without memnative estimator metadata "
                         "(saved from C?); load it through the C API")
    return meta


def load_estimator(path: Any) -> "PersistenceMixin":
    """Load an estimator saved with ``save``, restoring the class named in its metadata.

    Raises
    ------
    FileNotFoundError, OSError
        When the file cannot be read.
    memnative.FormatError
        When it is not a valid model file (truncated, corrupt, foreign).
    """
    out = ffi.new("mem_model **")
    check(lib.mem_model_load(_fspath(path), out))
    model = ffi.gc(out[0], lib.mem_model_free)
    meta = _read_metadata(model)
    cls = ESTIMATORS.get(meta.get("class", ""))
    if cls is None:
        raise ValueError(f"unknown estimator class {meta.get('class')!r} in {path!r}; known: "
                         f"{sorted(ESTIMATORS)}")
    est = cls(**meta.get("params", {}))
    for key, value in meta.get("fitted", {}).items():
        if isinstance(value, dict) and "ndarray" in value:
            value = np.asarray(value["ndarray"], dtype=np.dtype(value["dtype"]))
        setattr(est, key, value)
    est._model = model
    return est


def _fspath(path: Any) -> bytes:
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise ValueError("embedded null byte")  # as Python's own file functions say
    return raw


def _json_param(value: Any) -> Any:
    """A hyper-parameter as saved: its JSON form, or None when it has none (callables, random
    generators): the loaded estimator then has the default behaviour for it."""
    try:
        return _jsonable(value, strict=True)
    except TypeError:
        return None


def _jsonable(value: Any, strict: bool = False) -> Any:
    """JSON-friendly copy of a hyper-parameter or fitted attribute (callables are not saved)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, strict) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, strict) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if strict:
        raise TypeError(f"{type(value).__name__} has no JSON form")
    return None
