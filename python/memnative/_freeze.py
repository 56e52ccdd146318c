"""Partial training (DESIGN §4, spec/cells.md): freeze masks over the parameter table.

Frozen entries are skipped by the optimizer, so they stay bit-identical (weights and optimizer
moments). The helpers need a fitted model (else ``NotFittedError``) and are meant for
``partial_fit`` or ``fit`` with ``warm_start=True``; masks are saved with the model. Random and
magnitude helpers freeze exactly ``floor(p * n + 0.5)`` entries per tensor, chosen with the model's
own random numbers (so a saved model repeats the same choice).
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from ._lib import _as_float, check, ffi, lib, string

__all__ = ["FreezeMixin", "LAYERS"]

_READOUT = ("W_o", "b_o", "D", "output_beta_logit")

#: Parameter groups ("layers") per kind; tensors a model does not have are skipped.
LAYERS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "amrc": {"hidden": ("W", "b", "w_m"), "memory": ("beta_logit", "alpha_logit"),
             "output": _READOUT},
    "pmrc": {"hidden": ("W", "U", "b", "w_m"), "memory": ("beta_logit", "alpha_logit"),
             "gates": ("W_g", "U_g", "b_g", "W_c", "b_c"), "output": _READOUT},
    "amn": {"hidden": ("W_in", "U", "b_in"), "liquid": ("a", "W_lambda"), "lru": ("nu",),
            "manifold": ("Q", "K", "V", "gamma_logit"), "mix": ("rho_logit",),
            "output": _READOUT},
    "sgw_amn": {"competition": ("W_in", "b_in", "salience_hat"), "workspace": ("R", "a_w", "W_lambda_w"),
                "broadcast": ("E",), "manifold": ("Q", "K", "V", "gamma_logit"), "output": _READOUT},
    "ndm": {"hidden": ("W_in", "W_rec", "b"), "plastic": ("P", "eta_hat", "lambda_hat"),
            "output": _READOUT},
    "dtpn": {"hidden": ("W", "U", "b"), "memory": ("beta_logit", "alpha_logit", "W_alpha"),
             "manifold": ("Q", "K", "V", "gamma_logit"), "output": _READOUT},
    "hyper_amn": {"hidden": ("W_in", "U", "b_in"), "liquid": ("a", "W_lambda"), "lru": ("nu",),
                  "manifold": ("Q", "K", "V", "gamma_logit"), "mix": ("rho_logit",),
                  "heads": ("X", "G_x", "G_z", "b_G"), "output": _READOUT},
}


class FreezeMixin:
    """Freeze helpers for estimators holding a libmem model (``self._model``)."""

    def _param_names(self) -> List[str]:
        name = ffi.new("const char **")
        names = []
        for i in range(int(lib.mem_model_param_count(self._model))):  # type: ignore[attr-defined]
            check(lib.mem_model_param_info(self._model, i, name, ffi.NULL, ffi.NULL, ffi.NULL,  # type: ignore[attr-defined]
                                           ffi.NULL, ffi.NULL))
            names.append(string(name[0]))
        return names

    def _layer_params(self, layer: Optional[str]) -> List[str]:
        self._check_fitted()  # type: ignore[attr-defined]
        present = self._param_names()
        if layer is None:
            return present
        layers = LAYERS.get(self._cell_kind(), {"output": _READOUT})  # type: ignore[attr-defined]
        if layer not in layers:
            raise ValueError(f"layer={layer!r} is not a layer of this model; its layers: "
                             f"{', '.join(layers)} (or None for every tensor)")
        names = [n for n in layers[layer] if n in present]
        if not names:
            raise ValueError(f"this model has no {layer!r} tensors (e.g. gates are off)")
        return names

    def freeze(self, param: str, mask: Any = None) -> Any:
        """Freeze a whole tensor, or the entries where the boolean ``mask`` (its shape) is True;
        the tensor's previous mask is replaced. Returns self."""
        views = self.parameters_  # type: ignore[attr-defined]
        if param not in views:
            raise ValueError(f"no parameter {param!r}; parameters: {', '.join(views)}")
        shape = views[param].shape
        m = np.ones(shape, dtype=np.uint8) if mask is None else np.asarray(mask)
        if m.shape != shape:
            raise ValueError(f"mask has shape {m.shape}, parameter {param!r} has shape {shape}")
        m = np.ascontiguousarray(m != 0, dtype=np.uint8)
        check(lib.mem_model_freeze(self._model, param.encode(), ffi.from_buffer("uint8_t[]", m), m.size))  # type: ignore[attr-defined]
        return self

    def unfreeze(self, param: str) -> Any:
        """Make every entry of one tensor trainable again. Returns self."""
        return self.freeze(param, np.zeros(self.parameters_[param].shape, dtype=bool))  # type: ignore[attr-defined]

    def frozen_mask(self, param: str) -> np.ndarray:
        """The tensor's freeze mask (True = frozen), shaped like the tensor."""
        views = self.parameters_  # type: ignore[attr-defined]
        if param not in views:
            raise ValueError(f"no parameter {param!r}; parameters: {', '.join(views)}")
        out = np.empty(views[param].shape, dtype=np.uint8)
        check(lib.mem_model_frozen(self._model, param.encode(), ffi.from_buffer("uint8_t[]", out), out.size))  # type: ignore[attr-defined]
        return out.astype(bool)

    def freeze_layer(self, layer: str) -> Any:
        """Freeze every tensor of a layer ("hidden", "output", "gates", ...). Returns self."""
        for name in self._layer_params(layer):
            self.freeze(name)
        return self

    def unfreeze_layer(self, layer: str) -> Any:
        """Make a layer trainable again. Returns self."""
        for name in self._layer_params(layer):
            self.unfreeze(name)
        return self

    def freeze_percentage(self, fraction: float, layer: Optional[str] = "hidden") -> Any:
        """Freeze exactly floor(fraction·n + 0.5) random entries of each tensor of ``layer``
        (None: every tensor). ``fraction`` is in [0, 1]. Returns self."""
        for name in self._layer_params(layer):
            check(lib.mem_model_freeze_fraction(self._model, name.encode(), _as_float("fraction", fraction)))  # type: ignore[attr-defined]
        return self

    def freeze_by_magnitude(self, threshold: Optional[float] = None, fraction: Optional[float] = None,
                            largest: bool = True, layer: Optional[str] = "hidden") -> Any:
        """Freeze the entries of ``layer`` whose |w| is above (``largest``) or below ``threshold``,
        or exactly floor(fraction·n + 0.5) largest / smallest ones per tensor. Returns self."""
        if (threshold is None) == (fraction is None):
            raise ValueError("give exactly one of threshold= and fraction=")
        for name in self._layer_params(layer):
            if threshold is not None:
                check(lib.mem_model_freeze_threshold(self._model, name.encode(),  # type: ignore[attr-defined]
                                                     _as_float("threshold", threshold), int(bool(largest))))
            else:
                check(lib.mem_model_freeze_magnitude(self._model, name.encode(),  # type: ignore[attr-defined]
                                                     _as_float("fraction", fraction), int(bool(largest))))
        return self

    def freeze_neurons(self, indices: Iterable[int]) -> Any:
        """Freeze hidden units: every entry indexed by the unit on a hidden axis (its rows and
        columns of recurrent matrices, its per-unit parameters, its readout column). All indices
        are checked before anything is frozen. Returns self."""
        self._check_fitted()  # type: ignore[attr-defined]
        units = [indices] if np.isscalar(indices) else list(indices)
        hidden = int(self._model_config()["hidden_size"])  # type: ignore[attr-defined]
        for k in units:
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < hidden:
                raise ValueError(f"neuron index {k!r} must be an integer in [0, {hidden})")
        for k in units:
            check(lib.mem_model_freeze_neuron(self._model, int(k)))  # type: ignore[attr-defined]
        return self

    def unfreeze_all(self) -> Any:
        """Make every entry trainable again. Returns self."""
        self._check_fitted()  # type: ignore[attr-defined]
        check(lib.mem_model_unfreeze_all(self._model))  # type: ignore[attr-defined]
        return self

    def count_frozen(self, param: Optional[str] = None) -> int:
        """Frozen entries of one tensor, or of the whole model."""
        self._check_fitted()  # type: ignore[attr-defined]
        n = int(lib.mem_model_frozen_count(self._model, ffi.NULL if param is None else param.encode()))  # type: ignore[attr-defined]
        if n < 0:
            raise ValueError(f"no parameter {param!r}; parameters: {', '.join(self._param_names())}")
        return n

    # the original API's names
    def freeze_hidden_layer(self) -> Any:
        """Freeze the hidden layer (its input and recurrent weights, bias and memory gain)."""
        return self.freeze_layer("hidden")

    def unfreeze_hidden_layer(self) -> Any:
        return self.unfreeze_layer("hidden")

    def freeze_output_layer(self) -> Any:
        """Freeze the readout."""
        return self.freeze_layer("output")

    def unfreeze_output_layer(self) -> Any:
        return self.unfreeze_layer("output")

    def freeze_memory_gates(self) -> Any:
        """Freeze the learnable memory gates (PMRC with ``use_learnable_gates=True``)."""
        return self.freeze_layer("gates")

    def unfreeze_memory_gates(self) -> Any:
        return self.unfreeze_layer("gates")

    def freeze_hidden_percentage(self, fraction: float) -> Any:
        """Freeze exactly floor(fraction·n + 0.5) random entries of each hidden tensor."""
        return self.freeze_percentage(fraction, "hidden")

    def freeze_specific_neurons(self, indices: Iterable[int]) -> Any:
        return self.freeze_neurons(indices)


