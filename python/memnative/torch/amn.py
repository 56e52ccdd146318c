"""The PyTorch twin of AMN (adaptive memory network) with the model's readout and losses.

Same equations, parameter names, shapes and conventions as ``libmem/src/cells/amn.c``,
``libmem/src/memory/manifold.c``, ``libmem/src/cells/liquid.h`` and ``libmem/src/model/readout.c``
(see ``spec/cells.md``)::

    f_t = tanh(W_in x_t + [U s_{t-1}] + b_in)                  (U only with feedback)
    lam_t = softplus(a + W_lambda x_t)
    s_t = e^{-dt lam_t} * s_{t-1} + (1 - e^{-dt lam_t}) * f_t   (1 - e^{-x} as -expm1(-x))
    Lambda = exp(-exp(nu)),  l_t = Lambda * l_{t-1} + sqrt(1 - Lambda^2) * s_t
    lt_t = l_t * sqrt((1 - Lambda) / (1 + Lambda))
    q = softmax(Q lt_t),  r_t = M_{t-1}^T q                      (read the previous manifold ...)
    k = sigmoid(K s_t), v = tanh(V s_t),  M_t = gamma M_{t-1} + (1 - gamma) k v^T   (... then write)
    z_t = (1 - rho) * l_t + rho * r_t,   rho = sigmoid(rho_logit), gamma = sigmoid(gamma_logit)
    yhat_t = W_o z_t + b_o [+ D x_t] [+ beta_o * yhat_{t-1}]

Numerics as in C: with w = e^nu, 1 - Lambda^2 = -expm1(-2 w) and (1 - Lambda)/(1 + Lambda) =
tanh(w / 2) (accurate for slow units); 1 - gamma and 1 - rho are sigmoids of the negated logits.

Past its length a sequence holds s, l, the manifold and the output memory; its readout outputs are 0
(as ``mem_model_predict``). Its z on such a step is, as in C, the cell's read-out of the held state,
``(1 - rho) l + rho M^T softmax(Q lt)``.

The state ``manifold`` is (batch, M, H) (the C state table's (M, H) per lane); ``s`` and ``lru``
are (batch, H).
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._base import State, TwinBase, _check_rate

__all__ = ["AMN"]


def _safe_sqrt(v: Tensor) -> Tensor:
    """sqrt(v) for v >= 0 with gradient 0 (not inf) where v == 0, as C's guard at w = 0."""
    positive = v > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, v, torch.ones_like(v))), 0.0)


class AMN(TwinBase):
    """AMN (adaptive memory network) with libmem's readout, as a ``torch.nn.Module``.

    An input-gated liquid-time-constant layer, a real diagonal linear recurrent unit (LRU) on top
    of it, and an associative memory manifold queried by the LRU and written by the liquid state.

    Parameters
    ----------
    n_inputs : int
        Input features I.
    n_outputs : int
        Outputs O (classes for cross-entropy).
    hidden_size : int, default 32
        Hidden units H.
    output_memory : bool, default False
        The readout adds ``sigmoid(output_beta_logit) * yhat_{t-1}``; adds the state ``output``.
    skip : bool, default True
        The readout adds ``D x_t`` (on by default for AMN, as in C).
    loss : {"mse", "cross_entropy"}, default "mse"
        The loss of :meth:`loss`.
    dtype : torch.dtype, default torch.float32
        Parameter dtype (float64 for a tight gradient oracle).
    memory_manifold_size : int, default 64
        Rows M of the manifold.
    dt : float, default 1.0
        Step of the liquid integration (> 0; exact for every dt).
    memory_decay : float, default 0.995
        Initial manifold decay gamma, strictly inside (0, 1).
    lru_min, lru_max : float, default 0.5, 0.999
        The LRU's initial decays: 1 - Lambda log-uniform between 1 - lru_max and 1 - lru_min
        (both strictly inside (0, 1), lru_min < lru_max).
    feedback : bool, default True
        f reads ``U s_{t-1}`` (``U`` orthogonal x 0.5 at init); False drops ``U``.
    output_beta : float, default 0.2
        Initial output echo (``output_memory``).
    device : torch.device or str, optional

    Attributes
    ----------
    W_in : Parameter (H, I)
    U : Parameter (H, H)
        Only with ``feedback``.
    b_in, a : Parameter (H,)
    W_lambda : Parameter (H, I)
    nu : Parameter (H,)
    Q, K : Parameter (M, H)
    V : Parameter (H, H)
    gamma_logit : Parameter (1,)
    rho_logit : Parameter (H,)
    W_o, b_o[, D][, output_beta_logit]
        The readout (see :class:`~memnative.torch._base.TwinBase`).

    Notes
    -----
    Initialisation follows libmem's rules (Glorot-uniform ``W_in``, ``W_lambda`` = 0,
    ``softplus(a)`` uniform in [0.5, 1], ``nu`` from the LRU range, ``Q, K, V`` ~ N(0, 1/H),
    ``gamma`` from ``memory_decay``, ``rho`` = 0.3) with torch's random numbers, so it does not
    reproduce a C model's values: copy those with :meth:`load_parameters`.

    Examples
    --------
    >>> import torch
    >>> from memnative.torch import AMN
    >>> net = AMN(3, 2, hidden_size=8, memory_manifold_size=4)
    >>> out, state = net(torch.randn(4, 10, 3), lengths=[10, 7, 3, 1])
    >>> out.shape, tuple(state["manifold"].shape)
    (torch.Size([4, 10, 2]), (4, 4, 8))
    """

    cell_state_names = ("s", "lru", "manifold")

    def __init__(self, n_inputs: int, n_outputs: int, hidden_size: int = 32,
                 output_memory: bool = False, skip: bool = True, loss: str = "mse",
                 dtype: torch.dtype = torch.float32, *, memory_manifold_size: int = 64,
                 dt: float = 1.0, memory_decay: float = 0.995, lru_min: float = 0.5,
                 lru_max: float = 0.999, feedback: bool = True, output_beta: float = 0.2,
                 device: Optional[Union[torch.device, str]] = None) -> None:
        super().__init__(n_inputs, n_outputs, hidden_size, output_memory, skip, loss)
        if int(memory_manifold_size) != memory_manifold_size or memory_manifold_size < 1:
            raise ValueError("memory_manifold_size must be a positive integer, got "
                             f"{memory_manifold_size!r}")
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be positive, got {dt!r}")
        memory_decay = _check_rate("memory_decay", memory_decay)
        lru_min = _check_rate("lru_min", lru_min)
        lru_max = _check_rate("lru_max", lru_max)
        if not lru_min < lru_max:
            raise ValueError(f"lru_min={lru_min!r} must be less than lru_max={lru_max!r}")
        self.memory_manifold_size = int(memory_manifold_size)
        self.dt = float(dt)
        self.feedback = bool(feedback)
        factory: Dict[str, object] = {"dtype": dtype, "device": device}
        H, I, M = self.hidden_size, self.n_inputs, self.memory_manifold_size
        std = 1.0 / math.sqrt(H)
        # values drawn in float64 on the CPU, then cast and moved (libmem draws in double too)
        f64 = {"dtype": torch.float64}
        # registration order is the C parameter table's (amn_layout)
        self._new_param("W_in", (H, I), "glorot", factory=factory)
        if self.feedback:
            self._init_param("U", nn.init.orthogonal_(torch.empty((H, H), **f64), gain=0.5),
                             factory)
        self._new_param("b_in", (H,), "zero", factory=factory)
        rate = torch.empty((H,), **f64).uniform_(0.5, 1.0)  # softplus(a)
        self._init_param("a", torch.log(torch.expm1(rate)), factory)
        self._new_param("W_lambda", (H, I), "zero", factory=factory)
        lo, hi = math.log(1.0 - lru_max), math.log(1.0 - lru_min)
        gap = torch.exp(torch.empty((H,), **f64).uniform_(lo, hi))  # 1 - Lambda, log-uniform
        self._init_param("nu", torch.log(-torch.log1p(-gap)), factory)
        for name, shape in (("Q", (M, H)), ("K", (M, H)), ("V", (H, H))):
            self._init_param(name, torch.randn(shape, **f64) * std, factory)
        self._new_param("gamma_logit", (1,), "logit", memory_decay, factory=factory)
        self._new_param("rho_logit", (H,), "logit", 0.3, factory=factory)
        self._add_readout(output_beta, factory)

    def _init_param(self, name: str, data: Tensor, factory: Dict[str, object]) -> None:
        self.register_parameter(name, nn.Parameter(data.to(**factory)))  # type: ignore[arg-type]

    # ---- the manifold state is (batch, M, H) ---------------------------------------------------

    def _state_shapes(self) -> Dict[str, Tuple[int, ...]]:
        shapes = super()._state_shapes()
        shapes["manifold"] = (self.memory_manifold_size, self.hidden_size)
        return shapes

    # ---- the cell -----------------------------------------------------------------------------

    def _cell(self, x: Tensor, state: State, active: Optional[Tensor]) -> Tuple[Tensor, State]:
        # per-window values derived from the parameters (amn.c's window block)
        w = torch.exp(self.nu)
        lam = torch.exp(-w)                        # Lambda
        gain_l = _safe_sqrt(-torch.expm1(-2 * w))  # sqrt(1 - Lambda^2)
        scale = _safe_sqrt(torch.tanh(w / 2))      # sqrt((1 - Lambda) / (1 + Lambda))
        rho, one_minus_rho = torch.sigmoid(self.rho_logit), torch.sigmoid(-self.rho_logit)
        gamma, one_minus_gamma = torch.sigmoid(self.gamma_logit), torch.sigmoid(-self.gamma_logit)
        # the input projections and the liquid step's coefficients: input-only, hoisted
        drive = x @ self.W_in.T + self.b_in
        rate = F.softplus(self.a + x @ self.W_lambda.T)
        decay = torch.exp(-self.dt * rate)
        gain_s = -torch.expm1(-self.dt * rate)
        s, l, mem = state["s"], state["lru"], state["manifold"]
        zs: List[Tensor] = []
        for t in range(x.shape[1]):
            pre = drive[:, t]
            if self.feedback:
                pre = pre + s @ self.U.T
            f = torch.tanh(pre)
            s_new = decay[:, t] * s + gain_s[:, t] * f
            l_new = lam * l + gain_l * s_new
            k = torch.sigmoid(s_new @ self.K.T)                                    # (B, M)
            v = torch.tanh(s_new @ self.V.T)                                       # (B, H)
            mem_new = gamma * mem + one_minus_gamma * (k[:, :, None] * v[:, None, :])
            if active is not None:  # past its length a sequence holds s, l and the manifold
                keep = active[:, t, None]
                s_new = torch.where(keep, s_new, s)
                l_new = torch.where(keep, l_new, l)
                mem_new = torch.where(keep[:, :, None], mem_new, mem)
            # read the previous manifold (the held one on a held step) with the query from l_t
            q = torch.softmax((l_new * scale) @ self.Q.T, dim=-1)                 # (B, M)
            r = torch.einsum("bm,bmh->bh", q, mem)
            zs.append(one_minus_rho * l_new + rho * r)
            s, l, mem = s_new, l_new, mem_new
        return torch.stack(zs, dim=1), {"s": s, "lru": l, "manifold": mem}
