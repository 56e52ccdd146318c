"""Memory state, diagnostics, parameter views and the torch bridge of a fitted estimator: the
ways to look into (and write into) the libmem model behind it."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from ._lib import COMMON_KEYS, check, config_params, ffi, lib, string

__all__ = ["InspectMixin"]


class InspectMixin:
    """Methods over ``self._model`` (a fitted estimator's ``mem_model *``)."""

    # ---- memory ---------------------------------------------------------------------------

    def reset_memory(self) -> Any:
        """Forget the stream memory (every state tensor to zero). Returns self."""
        self._check_fitted()
        check(lib.mem_model_reset_memory(self._model))
        return self

    def _state_table(self) -> List[Tuple[str, Tuple[int, ...]]]:
        name, axes = ffi.new("const char **"), ffi.new("const char *[4]")
        ndim, shape = ffi.new("int *"), ffi.new("int64_t[4]")
        table = []
        for i in range(int(lib.mem_model_state_count(self._model))):
            check(lib.mem_model_state_info(self._model, i, name, ndim, shape, axes))
            table.append((string(name[0]), tuple(int(shape[k]) for k in range(ndim[0]))))
        return table

    def get_memory_state(self) -> Dict[str, np.ndarray]:
        """The stream memory as ``{name: array}`` copies (names from the cell's state table)."""
        self._check_fitted()
        ptr = ffi.new("float **")
        state = {}
        for i, (name, shape) in enumerate(self._state_table()):
            check(lib.mem_model_state_data(self._model, i, ptr))
            size = int(np.prod(shape))
            state[name] = np.frombuffer(ffi.buffer(ptr[0], 4 * size), dtype=np.float32).reshape(shape).copy()
        return state

    def set_memory_state(self, state: Dict[str, Any]) -> Any:
        """Restore a memory from :meth:`get_memory_state` (every name, matching shapes). Returns self."""
        self._check_fitted()
        table = self._state_table()
        names = [n for n, _ in table]
        if not isinstance(state, dict) or set(state) != set(names):
            raise ValueError(f"state must be a dict with exactly the keys {names}, got "
                             f"{sorted(state) if isinstance(state, dict) else type(state).__name__}")
        parts = []
        for name, shape in table:
            arr = np.asarray(state[name], dtype=np.float32)
            if arr.shape != shape:
                raise ValueError(f"state[{name!r}] has shape {arr.shape}, expected {shape}")
            if not np.isfinite(arr).all():
                raise ValueError(f"state[{name!r}] holds non-finite values (NaN or infinity)")
            parts.append(arr.ravel())
        blob = np.ascontiguousarray(np.concatenate(parts))
        check(lib.mem_model_set_state(self._model, ffi.from_buffer("float[]", blob), blob.nbytes))
        return self

    # ---- introspection --------------------------------------------------------------------

    @property
    def diagnostics(self) -> Dict[str, Any]:
        """The cell's diagnostics by name: floats, or arrays for per-unit values."""
        self._check_fitted()
        name, count = ffi.new("const char **"), ffi.new("int64_t *")
        result: Dict[str, Any] = {}
        for i in range(int(lib.mem_model_diag_count(self._model))):
            check(lib.mem_model_diag(self._model, i, name, ffi.NULL, 0, count))
            values = np.empty(max(int(count[0]), 1), dtype=np.float64)
            check(lib.mem_model_diag(self._model, i, name, ffi.from_buffer("double[]", values),
                                     values.size, count))
            if count[0] == 0:
                continue  # not defined for this configuration (e.g. alpha of a gated PMRC)
            result[string(name[0])] = float(values[0]) if count[0] == 1 else values[: count[0]]
        return result

    @property
    def parameters_(self) -> Dict[str, np.ndarray]:
        """The trained tensors by name, as float32 arrays sharing memory with the C model.

        Writing into them changes the model. Each array keeps the model alive, so a view stays
        valid even after the estimator is refitted or deleted.
        """
        self._check_fitted()
        name, ndim, trainable = ffi.new("const char **"), ffi.new("int *"), ffi.new("int *")
        shape, axes, perm = ffi.new("int64_t[4]"), ffi.new("const char *[4]"), ffi.new("int[4]")
        ptr = ffi.new("float **")
        views = {}
        for i in range(int(lib.mem_model_param_count(self._model))):
            check(lib.mem_model_param_info(self._model, i, name, ndim, shape, axes, perm, trainable))
            check(lib.mem_model_param_data(self._model, i, ptr))
            dims = tuple(int(shape[k]) for k in range(ndim[0]))
            views[string(name[0])] = np.asarray(_ModelView(self._model, ptr[0], dims))
        return views

    def _model_config(self) -> Dict[str, Any]:
        """The fitted model's configuration, read back from C (every key of the kind's tables)."""
        out = ffi.new("mem_config **")
        check(lib.mem_model_get_config(self._model, out))
        cfg = ffi.gc(out[0], lib.mem_config_free)
        values: Dict[str, Any] = {}
        text, number = ffi.new("const char **"), ffi.new("double *")
        for p in config_params(self._cell_kind()):
            key = p.name.encode()
            if p.type == "choice":
                check(lib.mem_config_get_str(cfg, key, text))
                values[p.name] = string(text[0])
            elif p.type == "floats":  # a list, or None when not set (the kind's default)
                count = ffi.new("int64_t *")
                array = ffi.new("double[]", 64)
                check(lib.mem_config_get_floats(cfg, key, array, 64, count))
                values[p.name] = [float(array[k]) for k in range(count[0])] or None
            else:
                check(lib.mem_config_get_float(cfg, key, number))
                values[p.name] = {"int": int, "bool": bool}.get(p.type, float)(number[0])
        return values

    def to_torch(self, dtype: Any = None) -> Any:
        """A ``torch.nn.Module`` twin of the fitted model (same equations, parameter names and
        values; see :mod:`memnative.torch`). Needs PyTorch (``pip install torch==2.13.0``)."""
        self._check_fitted()
        import torch

        from .torch import TWINS

        kind = self._cell_kind()
        if kind not in TWINS:
            raise NotImplementedError(f"no torch twin for cell {kind!r} (twins: {sorted(TWINS)})")
        cfg = self._model_config()
        own = {p.name for p in config_params(kind)} - set(COMMON_KEYS)
        module = TWINS[kind](int(lib.mem_model_n_inputs(self._model)),
                             int(lib.mem_model_n_outputs(self._model)),
                             hidden_size=cfg["hidden_size"], output_memory=cfg["output_memory"],
                             skip=cfg["skip"], loss=cfg["loss"],
                             dtype=torch.float32 if dtype is None else dtype,
                             output_beta=cfg["output_beta"], **{k: cfg[k] for k in own})
        module.load_parameters({k: v.copy() for k, v in self.parameters_.items()})
        return module

    def load_torch(self, module: Any) -> Any:
        """Copy the parameters of a torch twin (e.g. after training it in torch) into the fitted
        model; names and shapes must match. Returns self."""
        self._check_fitted()
        views = self.parameters_
        values = module.parameters_numpy()
        if set(values) != set(views):
            raise ValueError(f"the module's parameters {sorted(values)} are not the model's "
                             f"{sorted(views)}")
        for name, view in views.items():
            value = np.asarray(values[name], dtype=np.float32)
            if value.shape != view.shape:
                raise ValueError(f"parameter {name!r} has shape {value.shape} in the module, "
                                 f"{view.shape} in the model")
            if not np.isfinite(value).all():
                raise ValueError(f"parameter {name!r} of the module holds non-finite values")
        for name, view in views.items():
            view[...] = values[name]
        return self


class _ModelView:
    """An ``__array_interface__`` over a model's tensor that keeps the model alive."""

    def __init__(self, model: Any, ptr: Any, shape: Tuple[int, ...]) -> None:
        self._model = model
        self.__array_interface__ = {"shape": shape, "typestr": "<f4", "version": 3,
                                    "data": (int(ffi.cast("uintptr_t", ptr)), False)}
