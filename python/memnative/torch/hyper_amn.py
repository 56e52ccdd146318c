"""The PyTorch twin of Hyper-AMN (multi-head AMN with head gating) with the model's readout and losses.

Same equations, parameter names, shapes and conventions as ``libmem/src/cells/hyper_amn.c`` (see
``spec/cells.md``). Every head h runs an AMN core (as :class:`~memnative.torch.amn.AMN`) with the
shared ``W_in``, ``b_in`` and its own ``a[h]``, ``W_lambda[h]``, ``U[h]``, ``nu[h]``, ``rho_logit[h]``,
``Q[h]``, ``K[h]``, ``V[h]``, ``gamma_logit[h]``; then::

    zhat^h = sum_g X[h, g] z^g                                   (cross-head mixing)
    gate = softmax(G_x x_t + G_z zbar_{t-1} + b_G) over heads
    zbar_t = sum_h gate_h zhat^h;   z_t = zbar_t
    yhat_t = W_o z_t + b_o [+ D x_t] [+ beta_o * yhat_{t-1}]

Past its length a sequence holds every state and its z is the held zbar (its readout outputs are
0, as ``mem_model_predict``). States: ``s`` and ``lru`` (batch, heads, H), ``manifold``
(batch, heads, M, H), ``zbar`` (batch, H) — the C state table's shapes per lane.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._base import State, TwinBase, _check_rate
from .amn import _safe_sqrt

__all__ = ["HyperAMN", "default_decays"]


def default_decays(n_heads: int) -> List[float]:
    """libmem's initial decays for ``n_heads`` heads: 0.990, 0.995, 0.999 for three; otherwise
    1 - decay geometric from 0.01 to 0.001 (0.99 for one head)."""
    if n_heads == 3:
        return [0.990, 0.995, 0.999]
    return [1.0 - 0.01 * 0.1 ** (h / (n_heads - 1) if n_heads > 1 else 0.0) for h in range(n_heads)]


class HyperAMN(TwinBase):
    """Hyper-AMN with libmem's readout, as a ``torch.nn.Module``.

    Parameters
    ----------
    n_inputs, n_outputs : int
    hidden_size : int, default 32
        Units H of every head.
    output_memory : bool, default False
    skip : bool, default True
    loss : {"mse", "cross_entropy"}, default "mse"
    dtype : torch.dtype, default torch.float32
    n_heads : int, default 3
    memory_decays : sequence of float or None
        Initial manifold decay per head (None: :func:`default_decays`).
    memory_manifold_size : int, default 64
    dt : float, default 1.0
    lru_min, lru_max : float, default 0.5, 0.999
    feedback : bool, default True
    output_beta : float, default 0.2
    device : torch.device or str, optional

    Attributes
    ----------
    W_in : Parameter (H, I)
    U : Parameter (heads, H, H)
        Only with ``feedback``.
    b_in : Parameter (H,)
    a, nu, rho_logit : Parameter (heads, H)
    W_lambda : Parameter (heads, H, I)
    Q, K : Parameter (heads, M, H)
    V : Parameter (heads, H, H)
    gamma_logit, b_G : Parameter (heads,)
    X : Parameter (heads, heads)
    G_x : Parameter (heads, I)
    G_z : Parameter (heads, H)
    W_o, b_o[, D][, output_beta_logit]

    Examples
    --------
    >>> import torch
    >>> from memnative.torch import HyperAMN
    >>> net = HyperAMN(3, 2, hidden_size=8, memory_manifold_size=4)
    >>> out, state = net(torch.randn(4, 10, 3), lengths=[10, 7, 3, 1])
    >>> out.shape, tuple(state["manifold"].shape)
    (torch.Size([4, 10, 2]), (4, 3, 4, 8))
    """

    cell_state_names = ("s", "lru", "manifold", "zbar")

    def __init__(self, n_inputs: int, n_outputs: int, hidden_size: int = 32,
                 output_memory: bool = False, skip: bool = True, loss: str = "mse",
                 dtype: torch.dtype = torch.float32, *, n_heads: int = 3,
                 memory_decays: Optional[Sequence[float]] = None,
                 memory_manifold_size: int = 64, dt: float = 1.0, lru_min: float = 0.5,
                 lru_max: float = 0.999, feedback: bool = True, output_beta: float = 0.2,
                 device: Optional[Union[torch.device, str]] = None) -> None:
        super().__init__(n_inputs, n_outputs, hidden_size, output_memory, skip, loss)
        if int(n_heads) != n_heads or not 1 <= n_heads <= 16:
            raise ValueError(f"n_heads must be an integer in [1, 16], got {n_heads!r}")
        if int(memory_manifold_size) != memory_manifold_size or memory_manifold_size < 1:
            raise ValueError("memory_manifold_size must be a positive integer, got "
                             f"{memory_manifold_size!r}")
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be positive, got {dt!r}")
        decays = default_decays(int(n_heads)) if memory_decays is None else list(memory_decays)
        if len(decays) != n_heads:
            raise ValueError(f"memory_decays has {len(decays)} values; n_heads={n_heads} needs one "
                             "per head")
        decays = [_check_rate("memory_decays", float(v)) for v in decays]
        lru_min = _check_rate("lru_min", lru_min)
        lru_max = _check_rate("lru_max", lru_max)
        if not lru_min < lru_max:
            raise ValueError(f"lru_min={lru_min!r} must be less than lru_max={lru_max!r}")
        self.n_heads = int(n_heads)
        self.memory_manifold_size = int(memory_manifold_size)
        self.dt = float(dt)
        self.feedback = bool(feedback)
        factory: Dict[str, object] = {"dtype": dtype, "device": device}
        N, H, I, M = self.n_heads, self.hidden_size, self.n_inputs, self.memory_manifold_size
        std = 1.0 / math.sqrt(H)
        f64 = {"dtype": torch.float64}
        # registration order is the C parameter table's (hyper_layout)
        self._new_param("W_in", (H, I), "glorot", factory=factory)
        if self.feedback:
            U = torch.stack([nn.init.orthogonal_(torch.empty((H, H), **f64), gain=0.5)
                             for _ in range(N)])
            self._init_param("U", U, factory)
        self._new_param("b_in", (H,), "zero", factory=factory)
        rate = torch.empty((N, H), **f64).uniform_(0.5, 1.0)  # softplus(a)
        self._init_param("a", torch.log(torch.expm1(rate)), factory)
        self._new_param("W_lambda", (N, H, I), "zero", factory=factory)
        lo, hi = math.log(1.0 - lru_max), math.log(1.0 - lru_min)
        gap = torch.exp(torch.empty((N, H), **f64).uniform_(lo, hi))  # 1 - Lambda, log-uniform
        self._init_param("nu", torch.log(-torch.log1p(-gap)), factory)
        for name, shape in (("Q", (N, M, H)), ("K", (N, M, H)), ("V", (N, H, H))):
            self._init_param(name, torch.randn(shape, **f64) * std, factory)
        self._init_param("gamma_logit",
                         torch.tensor([math.log(g / (1.0 - g)) for g in decays], **f64), factory)
        self._new_param("rho_logit", (N, H), "logit", 0.3, factory=factory)
        self._init_param("X", torch.eye(N, **f64), factory)
        self._new_param("G_x", (N, I), "glorot", factory=factory)
        self._new_param("G_z", (N, H), "glorot", factory=factory)
        self._new_param("b_G", (N,), "zero", factory=factory)
        self._add_readout(output_beta, factory)

    def _init_param(self, name: str, data: Tensor, factory: Dict[str, object]) -> None:
        self.register_parameter(name, nn.Parameter(data.to(**factory)))  # type: ignore[arg-type]

    # ---- states with a heads axis ---------------------------------------------------------------

    def _state_shapes(self) -> Dict[str, Tuple[int, ...]]:
        N, H, M = self.n_heads, self.hidden_size, self.memory_manifold_size
        shapes = super()._state_shapes()
        shapes.update(s=(N, H), lru=(N, H), manifold=(N, M, H), zbar=(H,))
        return shapes

    # ---- the cell -------------------------------------------------------------------------------

    def _cell(self, x: Tensor, state: State, active: Optional[Tensor]) -> Tuple[Tensor, State]:
        w = torch.exp(self.nu)                     # (N, H)
        lam = torch.exp(-w)
        gain_l = _safe_sqrt(-torch.expm1(-2 * w))
        scale = _safe_sqrt(torch.tanh(w / 2))
        rho, one_minus_rho = torch.sigmoid(self.rho_logit), torch.sigmoid(-self.rho_logit)
        gamma = torch.sigmoid(self.gamma_logit)[:, None, None]       # (N, 1, 1)
        one_minus_gamma = torch.sigmoid(-self.gamma_logit)[:, None, None]
        # input-only projections, hoisted: (B, T, H), (B, T, N, H), (B, T, N)
        drive = x @ self.W_in.T + self.b_in
        rate = F.softplus(self.a + torch.einsum("bti,nhi->btnh", x, self.W_lambda))
        decay = torch.exp(-self.dt * rate)
        gain_s = -torch.expm1(-self.dt * rate)
        gate_x = x @ self.G_x.T + self.b_G
        s, l, mem, zbar = state["s"], state["lru"], state["manifold"], state["zbar"]
        zs: List[Tensor] = []
        for t in range(x.shape[1]):
            pre = drive[:, t, None, :]                                    # (B, 1, H)
            if self.feedback:
                pre = pre + torch.einsum("nij,bnj->bni", self.U, s)
            f = torch.tanh(pre)                                           # (B, N, H)
            s_new = decay[:, t] * s + gain_s[:, t] * f
            l_new = lam * l + gain_l * s_new
            q = torch.softmax(torch.einsum("nmh,bnh->bnm", self.Q, l_new * scale), dim=-1)
            r = torch.einsum("bnm,bnmh->bnh", q, mem)                     # read the previous 𝓜
            k = torch.sigmoid(torch.einsum("nmh,bnh->bnm", self.K, s_new))
            v = torch.tanh(torch.einsum("nij,bnj->bni", self.V, s_new))
            mem_new = gamma * mem + one_minus_gamma * (k[..., :, None] * v[..., None, :])
            z_heads = one_minus_rho * l_new + rho * r                     # (B, N, H)
            zhat = torch.einsum("ng,bgh->bnh", self.X, z_heads)
            gate = torch.softmax(gate_x[:, t] + zbar @ self.G_z.T, dim=-1)  # (B, N)
            zbar_new = torch.einsum("bn,bnh->bh", gate, zhat)
            if active is not None:  # past its length a sequence holds every state
                keep = active[:, t, None]
                s_new = torch.where(keep[..., None], s_new, s)
                l_new = torch.where(keep[..., None], l_new, l)
                mem_new = torch.where(keep[..., None, None], mem_new, mem)
                zbar_new = torch.where(keep, zbar_new, zbar)
            zs.append(zbar_new)
            s, l, mem, zbar = s_new, l_new, mem_new, zbar_new
        return torch.stack(zs, dim=1), {"s": s, "lru": l, "manifold": mem, "zbar": zbar}
