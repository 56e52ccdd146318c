"""What every twin shares: the readout (with output memory and skip), the losses with libmem's
normalisation, held state past a sequence's length, and parameter transfer by C name.

A cell's twin subclasses :class:`TwinBase`, registers its own parameters first (so the module's
parameter order is the C parameter table's), then calls :meth:`TwinBase._add_readout`, and
implements ``_cell``.
"""
from __future__ import annotations

import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["TwinBase", "LOSSES", "TARGETS"]

#: Loss names, as the C configuration key ``loss`` spells them.
LOSSES = ("mse", "cross_entropy")
#: Target modes of :meth:`TwinBase.loss`, as the C ``mem_target`` enum.
TARGETS = ("per_step", "last")

Lengths = Union[Tensor, Sequence[int], np.ndarray]
State = Dict[str, Tensor]


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _check_rate(name: str, value: float) -> float:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly inside (0, 1), got {value!r}")
    return float(value)


class TwinBase(nn.Module):
    """What every cell's twin shares: the readout, the output memory, the losses, the transfer.

    A subclass registers its cell parameters, then calls :meth:`_add_readout`, and implements
    :meth:`_cell` (the recurrence over a window, returning the hidden output z for every step).

    Parameters
    ----------
    n_inputs, n_outputs : int
        Input features I and outputs O (classes for cross-entropy).
    hidden_size : int
        Hidden units H (the width of z).
    output_memory : bool
        The readout adds ``sigmoid(output_beta_logit) * yhat_{t-1}`` (state ``output``).
    skip : bool
        The readout adds ``D x_t``.
    loss : {"mse", "cross_entropy"}
        The loss of :meth:`loss`; with cross-entropy the outputs are logits.
    """

    #: Names of the cell's state tensors, in the C state table's order (the readout's follow).
    cell_state_names: Tuple[str, ...] = ()

    def __init__(self, n_inputs: int, n_outputs: int, hidden_size: int, output_memory: bool,
                 skip: bool, loss: str) -> None:
        super().__init__()
        for name, value in (("n_inputs", n_inputs), ("n_outputs", n_outputs),
                            ("hidden_size", hidden_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.n_inputs = int(n_inputs)
        self.n_outputs = int(n_outputs)
        self.hidden_size = int(hidden_size)
        self.output_memory = bool(output_memory)
        self.skip = bool(skip)
        self.loss_name = loss

    # ---- construction helpers -----------------------------------------------------------------

    def _new_param(self, name: str, shape: Tuple[int, ...], init: str, value: float = 0.0,
                   spread: float = 0.0, trainable: bool = True,
                   factory: Optional[Dict[str, object]] = None) -> None:
        """Register parameter ``name`` initialised as libmem does (``mem_model_init_weights``).

        ``init``: ``"zero"``, ``"const"`` (``value``), ``"glorot"`` (uniform, fan-in the last axis,
        fan-out the one before) or ``"logit"`` (logit of the rate ``value``, plus uniform
        ``+-spread``).
        """
        data = torch.empty(shape, **(factory or {}))  # type: ignore[arg-type]
        with torch.no_grad():
            if init == "zero":
                data.zero_()
            elif init == "const":
                data.fill_(value)
            elif init == "glorot":
                bound = math.sqrt(6.0 / (shape[-1] + shape[-2]))
                data.uniform_(-bound, bound)
            elif init == "logit":
                data.fill_(_logit(value))
                if spread > 0:
                    data.add_(torch.empty_like(data).uniform_(-spread, spread))
            else:  # pragma: no cover - a programming error in a subclass
                raise ValueError(f"unknown init {init!r}")
        self.register_parameter(name, nn.Parameter(data, requires_grad=trainable))

    def _add_readout(self, output_beta: float, factory: Dict[str, object]) -> None:
        """Register ``W_o``, ``b_o``, then ``D`` (skip), ``output_beta_logit`` (output memory)."""
        O, H, I = self.n_outputs, self.hidden_size, self.n_inputs
        self._new_param("W_o", (O, H), "glorot", factory=factory)
        self._new_param("b_o", (O,), "zero", factory=factory)
        if self.skip:
            self._new_param("D", (O, I), "glorot", factory=factory)
        if self.output_memory:
            self._new_param("output_beta_logit", (O,), "logit",
                            _check_rate("output_beta", output_beta), factory=factory)

    # ---- introspection and transfer -----------------------------------------------------------

    @property
    def state_names(self) -> Tuple[str, ...]:
        """Names of the state tensors, in the C state table's order (``output`` last, if any)."""
        return self.cell_state_names + (("output",) if self.output_memory else ())

    def _state_shapes(self) -> Dict[str, Tuple[int, ...]]:
        """Per-lane shape of each state tensor (the C state table's): (hidden_size,) for the cell's
        states unless a twin says otherwise (a manifold is (M, H)), (n_outputs,) for ``output``."""
        shapes = {name: (self.hidden_size,) for name in self.cell_state_names}
        if self.output_memory:
            shapes["output"] = (self.n_outputs,)
        return shapes

    def load_parameters(self, params: Mapping[str, np.ndarray], strict: bool = True) -> None:
        """Copy parameter values in (e.g. from an estimator's ``parameters_``), by C name.

        Parameters
        ----------
        params : mapping of str to array_like
            Name -> values, each of the parameter's exact shape; cast to the module's dtype.
        strict : bool, default True
            Require exactly this module's names (else only the given ones are copied; unknown
            names are still an error).

        Raises
        ------
        KeyError
            An unknown name, or (strict) a missing one.
        ValueError
            A shape that differs from the parameter's.
        """
        own = dict(self.named_parameters())
        unknown = sorted(set(params) - set(own))
        missing = sorted(set(own) - set(params)) if strict else []
        if unknown or missing:
            raise KeyError(f"{type(self).__name__}.load_parameters: unknown names {unknown}, "
                           f"missing names {missing}; the parameters are {list(own)}")
        with torch.no_grad():
            for name, values in params.items():
                target = own[name]
                source = torch.as_tensor(np.asarray(values), dtype=target.dtype,
                                         device=target.device)
                if tuple(source.shape) != tuple(target.shape):
                    raise ValueError(f"{name}: shape {tuple(source.shape)} given, the parameter "
                                     f"is {tuple(target.shape)}")
                target.copy_(source)

    def parameters_numpy(self) -> Dict[str, np.ndarray]:
        """Name -> a numpy copy of every parameter, in the C parameter table's order."""
        return {name: p.detach().cpu().numpy().copy() for name, p in self.named_parameters()}

    # ---- forward ------------------------------------------------------------------------------

    def _cell(self, x: Tensor, state: State, active: Optional[Tensor]) -> Tuple[Tensor, State]:
        """Run the cell over a window.

        Parameters
        ----------
        x : Tensor, shape (batch, time, n_inputs)
        state : dict of str to Tensor
            The cell's state at the window's start, each (batch, hidden_size).
        active : Tensor of bool, shape (batch, time), or None
            Where a step is within its sequence; elsewhere the state is held. None: all steps.

        Returns
        -------
        z : Tensor, shape (batch, time, hidden_size)
        state : dict of str to Tensor
            The cell's state after the window.
        """
        raise NotImplementedError

    def _prepare_state(self, state: Optional[Mapping[str, Tensor]], batch: int,
                       like: Tensor) -> State:
        """The start state, each tensor (batch, *per-lane shape). A given state may be per lane or
        shared by every lane, each tensor flat or in its per-lane shape."""
        shapes = self._state_shapes()
        if state is None:
            return {name: like.new_zeros(batch, *shape) for name, shape in shapes.items()}
        if set(state) != set(shapes):
            raise KeyError(f"state must have exactly the names {list(shapes)}, got {list(state)}")
        out = {}
        for name, shape in shapes.items():
            size = math.prod(shape)
            value = torch.as_tensor(state[name], dtype=like.dtype, device=like.device)
            if len(shape) > 1 and value.ndim >= len(shape) and tuple(value.shape[-len(shape):]) == shape:
                value = value.reshape(*value.shape[:value.ndim - len(shape)], size)
            if value.ndim == 1:  # one state for every lane (e.g. a stream's memory)
                value = value.expand(batch, -1)
            if tuple(value.shape) != (batch, size):
                raise ValueError(f"state[{name!r}] has shape {tuple(value.shape)}, expected "
                                 f"({batch}, {size})")
            out[name] = value.reshape(batch, *shape)
        return out

    def _active_mask(self, lengths: Optional[Lengths], batch: int, steps: int,
                     device: torch.device) -> Optional[Tensor]:
        if lengths is None:
            return None
        lens = torch.as_tensor(lengths, dtype=torch.int64, device=device).reshape(-1)
        if lens.numel() != batch:
            raise ValueError(f"lengths has {lens.numel()} values for a batch of {batch}")
        if bool(((lens < 1) | (lens > steps)).any()):
            raise ValueError(f"lengths must lie in [1, {steps}], got {lens.tolist()}")
        return torch.arange(steps, device=device)[None, :] < lens[:, None]

    def forward(self, x: Union[Tensor, np.ndarray], state: Optional[Mapping[str, Tensor]] = None,
                lengths: Optional[Lengths] = None) -> Tuple[Tensor, State]:
        """Run the model over a batch of windows.

        Parameters
        ----------
        x : Tensor or ndarray, shape (batch, time, n_inputs)
            Batch-first, like the estimators' 3-D input; a stream is a batch of one. Cast to the
            module's dtype.
        state : dict of str to Tensor, optional
            The state at the start (:attr:`state_names`, each (batch, size), or (size,) for every
            lane); None starts from zeros, as C's sequences and reset streams do.
        lengths : sequence of int or Tensor, shape (batch,), optional
            Valid steps of each sequence, in [1, time]. Past its length a sequence holds its state
            and its outputs are 0 (as ``mem_model_predict``). None: every step is valid.

        Returns
        -------
        outputs : Tensor, shape (batch, time, n_outputs)
            The readout's linear outputs (logits for cross-entropy: apply ``softmax(-1)`` for C's
            probabilities).
        state : dict of str to Tensor
            The state after each sequence's last valid step, each (batch, size).
        """
        ref = self.b_o
        x = torch.as_tensor(x, dtype=ref.dtype, device=ref.device)
        if x.ndim != 3 or x.shape[2] != self.n_inputs:
            raise ValueError(f"x must be (batch, time, {self.n_inputs}), got {tuple(x.shape)}")
        batch, steps = x.shape[0], x.shape[1]
        active = self._active_mask(lengths, batch, steps, x.device)
        if active is not None:  # C gathers padding as zero inputs (padding may hold anything)
            x = torch.where(active[..., None], x, 0.0)
        start = self._prepare_state(state, batch, x)
        z, new_state = self._cell(x, {k: start[k] for k in self.cell_state_names}, active)

        outputs = z @ self.W_o.T + self.b_o
        if self.skip:
            outputs = outputs + x @ self.D.T
        if self.output_memory:
            beta_o = torch.sigmoid(self.output_beta_logit)
            prev = start["output"]
            rows: List[Tensor] = []
            for t in range(steps):
                y_t = outputs[:, t] + beta_o * prev
                prev = y_t if active is None else torch.where(active[:, t, None], y_t, prev)
                rows.append(y_t)
            outputs = torch.stack(rows, dim=1)
            new_state["output"] = prev
        if active is not None:
            outputs = torch.where(active[..., None], outputs, 0.0)
        return outputs, new_state

    # ---- loss ---------------------------------------------------------------------------------

    def loss(self, outputs: Tensor, y: Union[Tensor, np.ndarray],
             lengths: Optional[Lengths] = None, target: str = "per_step") -> Tensor:
        """The model's loss, normalised as libmem's (``mem_model_loss``).

        MSE: the sum of squared errors over the target elements divided by their number
        (valid steps x n_outputs, or n_seq x n_outputs for ``"last"``). Cross-entropy: ``-log
        softmax(outputs)[class]`` summed over the target steps divided by their number.

        Parameters
        ----------
        outputs : Tensor, shape (batch, time, n_outputs)
            From :meth:`forward`.
        y : Tensor or ndarray
            MSE: (batch, time, n_outputs) per step, (batch, n_outputs) for ``"last"``.
            Cross-entropy: class indices (int or integral float), (batch, time) or (batch,).
            Entries past a sequence's length are ignored.
        lengths : sequence of int or Tensor, shape (batch,), optional
            As given to :meth:`forward`; None: every step is valid.
        target : {"per_step", "last"}
            Every valid step is a target, or only each sequence's last valid step.

        Returns
        -------
        Tensor
            The scalar mean loss (differentiable).
        """
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        batch, steps = outputs.shape[0], outputs.shape[1]
        active = self._active_mask(lengths, batch, steps, outputs.device)
        ce = self.loss_name == "cross_entropy"
        y = torch.as_tensor(y, device=outputs.device)
        y = y.to(torch.int64) if ce else y.to(outputs.dtype)
        if target == "last":
            last = (torch.full((batch,), steps - 1, device=outputs.device) if active is None
                    else active.sum(dim=1) - 1)
            pred = outputs[torch.arange(batch, device=outputs.device), last]  # (batch, O)
            if ce:
                return -torch.log_softmax(pred, dim=-1).gather(1, y.reshape(batch, 1)).sum() / batch
            err = (pred - y.reshape(batch, self.n_outputs)).square()
            return err.sum() / (batch * self.n_outputs)
        if active is None:
            active = torch.ones(batch, steps, dtype=torch.bool, device=outputs.device)
        weight = active.to(outputs.dtype)
        count = weight.sum()
        if ce:  # padding may hold anything: read class 0 there, weighted by 0
            classes = torch.where(active, y.reshape(batch, steps), 0)[..., None]
            nll = -torch.log_softmax(outputs, dim=-1).gather(2, classes)[..., 0]
            return (nll * weight).sum() / count
        y = torch.where(active[..., None], y.reshape(batch, steps, self.n_outputs), 0.0)
        err = (outputs - y).square().sum(dim=-1)
        return (err * weight).sum() / (count * self.n_outputs)
