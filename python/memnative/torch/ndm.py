"""The PyTorch twin of NDM (neural differential manifold) with the model's readout and losses.

Same equations, parameter names, shapes and conventions as ``libmem/src/cells/ndm.c`` and
``libmem/src/ode/ode.c`` (see ``spec/cells.md``)::

    dh/dt = -h + tanh(W_in x_t + (W_rec + P * F_{t-1}) h + b)    (substeps of Euler or RK4)
    F_t = e^{-lam dt} F_{t-1} + phi * eta * h_t pi_{t-1}^T,   phi = -expm1(-lam dt) / lam
    pi_t = rho pi_{t-1} + (1 - rho) h_t,   z_t = h_t
    eta = softplus(eta_hat),  lam = lambda_min + softplus(lambda_hat)

P is (H,) (``plasticity="neuron"``: P_i scales row i of F) or (H, H) (``"weight"``). The states are
``h`` (batch, H), ``F`` (batch, H, H) (the C state table's (H, H) per lane) and ``trace``
(batch, H). Autograd through the RK4 stages is the discrete adjoint C computes by hand.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F_
from torch import Tensor, nn

from ._base import State, TwinBase, _check_rate

__all__ = ["NDM"]

_MAX_STEP = {"euler": 1.0, "rk4": 2.7}


class NDM(TwinBase):
    """NDM with libmem's readout, as a ``torch.nn.Module``.

    Parameters
    ----------
    n_inputs, n_outputs : int
    hidden_size : int, default 32
    output_memory : bool, default False
    skip : bool, default False
    loss : {"mse", "cross_entropy"}, default "mse"
    dtype : torch.dtype, default torch.float32
    dt : float, default 1.0
    substeps : int, default 1
    integrator : {"rk4", "euler"}, default "rk4"
        ``dt / substeps`` must be <= 1 (Euler) or <= 2.7 (RK4).
    plasticity : {"neuron", "weight"}, default "neuron"
    trace_decay : float in (0, 1), default 0.95
    eta : float, default 0.1
    decay_rate : float, default 1.0
    lambda_min : float, default 1e-3
    output_beta : float, default 0.2
    device : torch.device or str, optional

    Examples
    --------
    >>> import torch
    >>> from memnative.torch import NDM
    >>> net = NDM(3, 2, hidden_size=8)
    >>> out, state = net(torch.randn(4, 10, 3))
    >>> tuple(state["F"].shape)
    (4, 8, 8)
    """

    cell_state_names = ("h", "F", "trace")

    def __init__(self, n_inputs: int, n_outputs: int, hidden_size: int = 32,
                 output_memory: bool = False, skip: bool = False, loss: str = "mse",
                 dtype: torch.dtype = torch.float32, *, dt: float = 1.0, substeps: int = 1,
                 integrator: str = "rk4", plasticity: str = "neuron", trace_decay: float = 0.95,
                 eta: float = 0.1, decay_rate: float = 1.0, lambda_min: float = 1e-3,
                 output_beta: float = 0.2,
                 device: Optional[Union[torch.device, str]] = None) -> None:
        super().__init__(n_inputs, n_outputs, hidden_size, output_memory, skip, loss)
        if integrator not in _MAX_STEP:
            raise ValueError(f"integrator must be 'euler' or 'rk4', got {integrator!r}")
        if plasticity not in ("neuron", "weight"):
            raise ValueError(f"plasticity must be 'neuron' or 'weight', got {plasticity!r}")
        if int(substeps) != substeps or substeps < 1:
            raise ValueError(f"substeps must be a positive integer, got {substeps!r}")
        if not (math.isfinite(dt) and dt > 0) or dt / substeps > _MAX_STEP[integrator]:
            raise ValueError(f"dt/substeps={dt / substeps!r} is outside the stability range of "
                             f"{integrator!r} (<= {_MAX_STEP[integrator]})")
        if not (lambda_min > 0 and decay_rate > lambda_min and eta > 0):
            raise ValueError("need eta > 0 and decay_rate > lambda_min > 0")
        self.dt, self.substeps, self.integrator = float(dt), int(substeps), integrator
        self.per_weight = plasticity == "weight"
        self.trace_decay = _check_rate("trace_decay", trace_decay)
        self.lambda_min = float(lambda_min)
        factory: Dict[str, object] = {"dtype": dtype, "device": device}
        H, I = self.hidden_size, self.n_inputs
        f64 = {"dtype": torch.float64}
        self._new_param("W_in", (H, I), "glorot", factory=factory)
        self._init("W_rec", nn.init.orthogonal_(torch.empty((H, H), **f64), gain=0.5), factory)
        self._new_param("b", (H,), "zero", factory=factory)
        self._new_param("P", (H, H) if self.per_weight else (H,), "const", 0.1, factory=factory)
        self._init("eta_hat", torch.full((1,), math.log(math.expm1(eta)), **f64), factory)
        rate = decay_rate - lambda_min
        self._init("lambda_hat", torch.full((1,), math.log(math.expm1(rate)), **f64), factory)
        self._add_readout(output_beta, factory)

    def _init(self, name: str, data: Tensor, factory: Dict[str, object]) -> None:
        self.register_parameter(name, nn.Parameter(data.to(**factory)))  # type: ignore[arg-type]

    def _state_shapes(self) -> Dict[str, Tuple[int, ...]]:
        shapes = super()._state_shapes()
        shapes["F"] = (self.hidden_size, self.hidden_size)
        return shapes

    def _cell(self, x: Tensor, state: State, active: Optional[Tensor]) -> Tuple[Tensor, State]:
        eta = F_.softplus(self.eta_hat)
        lam = self.lambda_min + F_.softplus(self.lambda_hat)
        xdt = lam * self.dt
        decay = torch.exp(-xdt)
        if float(xdt.detach()) < 1e-4:
            phi = self.dt * (1 - xdt / 2 + xdt * xdt / 6)
        else:
            phi = -torch.expm1(-xdt) / lam
        gain = phi * eta
        rho = self.trace_decay
        h_sub = self.dt / self.substeps
        drive = x @ self.W_in.T + self.b                                   # (B, T, H)
        P = self.P if self.per_weight else self.P[:, None]
        h, Fm, pi = state["h"], state["F"], state["trace"]
        zs: List[Tensor] = []
        for t in range(x.shape[1]):
            A = self.W_rec + P * Fm                                        # (B, H, H)
            c = drive[:, t]

            def f(y: Tensor) -> Tensor:
                return -y + torch.tanh(c + torch.einsum("bij,bj->bi", A, y))

            y = h
            for _ in range(self.substeps):
                if self.integrator == "euler":
                    y = y + h_sub * f(y)
                else:
                    k1 = f(y)
                    k2 = f(y + h_sub / 2 * k1)
                    k3 = f(y + h_sub / 2 * k2)
                    k4 = f(y + h_sub * k3)
                    y = y + h_sub / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            F_new = decay * Fm + gain * (y[:, :, None] * pi[:, None, :])
            pi_new = rho * pi + (1 - rho) * y
            if active is not None:
                keep = active[:, t, None]
                y = torch.where(keep, y, h)
                pi_new = torch.where(keep, pi_new, pi)
                F_new = torch.where(keep[:, :, None], F_new, Fm)
            zs.append(y)
            h, Fm, pi = y, F_new, pi_new
        return torch.stack(zs, dim=1), {"h": h, "F": Fm, "trace": pi}
