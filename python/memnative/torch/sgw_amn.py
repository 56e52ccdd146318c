"""The PyTorch twin of SGW-AMN (sparse global workspace) with the model's readout and losses.

Same equations, parameter names, shapes and conventions as ``libmem/src/cells/sgw_amn.c`` (see
``spec/cells.md``)::

    p_t = gelu(W_in x_t + b_in) (erf form);  pi_t = softmax(|p_t| * softplus(salience_hat) / T)
    top-k winners of pi (ties to the lower index), pi~ = pi / sum_top pi
    u_t = sum_top pi~_i p_i R_i
    g_t = tanh(u_t + Omega_{t-1} w_{t-1}),  lam_t = softplus(a_w + W_lambda_w u_t)
    w_t = e^{-lam} w_{t-1} + (1 - e^{-lam}) g_t,   Omega_t = omega Omega_{t-1} + (1 - omega) w_t w_t^T
    b_t = tanh(E w_t);  q = softmax(Q b_t), r_t = M_{t-1}^T q;  M_t = gamma M_{t-1} + (1 - gamma) k v^T
    z_t = b_t + r_t

:meth:`loss` adds the auxiliary loss ``sparsity * mean_i |w_t,i|`` averaged over the valid steps
of the last :meth:`forward` (as ``mem_model_loss``). Past its length a sequence holds its state; its
z is the read-out of the held state, ``tanh(E w) + M^T softmax(Q tanh(E w))``, as in C.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._base import Lengths, State, TwinBase, _check_rate

__all__ = ["SGWAMN"]


class SGWAMN(TwinBase):
    """SGW-AMN with libmem's readout, as a ``torch.nn.Module``.

    Parameters
    ----------
    n_inputs, n_outputs : int
    hidden_size : int, default 32
    output_memory : bool, default False
    skip : bool, default True
    loss : {"mse", "cross_entropy"}, default "mse"
    dtype : torch.dtype, default torch.float32
    n_candidates, workspace_size, k : int, default 256, 16, 16
    temperature : float, default 0.5
    workspace_memory : float in (0, 1), default 0.98
    sparsity : float, default 0.01
    memory_manifold_size : int, default 64
    memory_decay : float in (0, 1), default 0.995
    output_beta : float, default 0.2
    device : torch.device or str, optional

    Examples
    --------
    >>> import torch
    >>> from memnative.torch import SGWAMN
    >>> net = SGWAMN(3, 1, hidden_size=8, n_candidates=16, k=4, memory_manifold_size=4)
    >>> out, state = net(torch.randn(2, 5, 3))
    >>> tuple(state["workspace_memory"].shape)
    (2, 16, 16)
    """

    cell_state_names = ("workspace", "workspace_memory", "manifold")

    def __init__(self, n_inputs: int, n_outputs: int, hidden_size: int = 32,
                 output_memory: bool = False, skip: bool = True, loss: str = "mse",
                 dtype: torch.dtype = torch.float32, *, n_candidates: int = 256,
                 workspace_size: int = 16, k: int = 16, temperature: float = 0.5,
                 workspace_memory: float = 0.98, sparsity: float = 0.01,
                 memory_manifold_size: int = 64, memory_decay: float = 0.995,
                 output_beta: float = 0.2,
                 device: Optional[Union[torch.device, str]] = None) -> None:
        super().__init__(n_inputs, n_outputs, hidden_size, output_memory, skip, loss)
        for name, value in (("n_candidates", n_candidates), ("workspace_size", workspace_size),
                            ("k", k), ("memory_manifold_size", memory_manifold_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if k > n_candidates:
            raise ValueError(f"k={k!r} must not exceed n_candidates={n_candidates!r}")
        if not (math.isfinite(temperature) and temperature > 0) or not sparsity >= 0:
            raise ValueError("temperature must be positive and sparsity non-negative")
        self.n_candidates, self.workspace_size, self.k = int(n_candidates), int(workspace_size), int(k)
        self.memory_manifold_size = int(memory_manifold_size)
        self.temperature, self.sparsity = float(temperature), float(sparsity)
        self.omega = _check_rate("workspace_memory", workspace_memory)
        memory_decay = _check_rate("memory_decay", memory_decay)
        factory: Dict[str, object] = {"dtype": dtype, "device": device}
        H, I, P, W, M = self.hidden_size, self.n_inputs, self.n_candidates, self.workspace_size, \
            self.memory_manifold_size
        f64 = {"dtype": torch.float64}
        std = 1.0 / math.sqrt(H)
        self._new_param("W_in", (P, I), "glorot", factory=factory)
        self._new_param("b_in", (P,), "zero", factory=factory)
        self._init("salience_hat", torch.full((P,), math.log(math.expm1(1.0)), **f64), factory)
        self._init("R", torch.randn((P, W), **f64), factory)
        rate = torch.empty((W,), **f64).uniform_(0.5, 1.0)
        self._init("a_w", torch.log(torch.expm1(rate)), factory)
        self._new_param("W_lambda_w", (W, W), "zero", factory=factory)
        self._new_param("E", (H, W), "glorot", factory=factory)
        for name, shape in (("Q", (M, H)), ("K", (M, H)), ("V", (H, H))):
            self._init(name, torch.randn(shape, **f64) * std, factory)
        self._new_param("gamma_logit", (1,), "logit", memory_decay, factory=factory)
        self._add_readout(output_beta, factory)
        self._aux_sum: Optional[Tensor] = None
        self._aux_count = 0.0

    def _init(self, name: str, data: Tensor, factory: Dict[str, object]) -> None:
        self.register_parameter(name, nn.Parameter(data.to(**factory)))  # type: ignore[arg-type]

    def _state_shapes(self) -> Dict[str, Tuple[int, ...]]:
        shapes = super()._state_shapes()
        shapes["workspace"] = (self.workspace_size,)
        shapes["workspace_memory"] = (self.workspace_size, self.workspace_size)
        shapes["manifold"] = (self.memory_manifold_size, self.hidden_size)
        return shapes

    def _cell(self, x: Tensor, state: State, active: Optional[Tensor]) -> Tuple[Tensor, State]:
        gamma, one_minus_gamma = torch.sigmoid(self.gamma_logit), torch.sigmoid(-self.gamma_logit)
        sal = F.softplus(self.salience_hat)
        p_all = F.gelu(x @ self.W_in.T + self.b_in)                        # (B, T, P)
        pi_all = torch.softmax(p_all.abs() * sal / self.temperature, dim=-1)
        w, Om, mem = state["workspace"], state["workspace_memory"], state["manifold"]
        zs: List[Tensor] = []
        aux = x.new_zeros(())
        count = 0.0
        for t in range(x.shape[1]):
            p, pi = p_all[:, t], pi_all[:, t]
            order = torch.sort(pi.detach(), dim=-1, descending=True, stable=True).indices[:, :self.k]
            top = pi.gather(1, order)                                      # (B, k)
            weight = top / top.sum(dim=1, keepdim=True) * p.gather(1, order)
            u = torch.einsum("bk,bkw->bw", weight, self.R[order])
            g = torch.tanh(u + torch.einsum("bij,bj->bi", Om, w))
            lam = F.softplus(self.a_w + u @ self.W_lambda_w.T)
            w_new = torch.exp(-lam) * w + (-torch.expm1(-lam)) * g
            Om_new = self.omega * Om + (1 - self.omega) * (w_new[:, :, None] * w_new[:, None, :])
            if active is not None:
                keep = active[:, t, None]
                w_new = torch.where(keep, w_new, w)
                Om_new = torch.where(keep[:, :, None], Om_new, Om)
                valid = active[:, t].to(x.dtype)
            else:
                valid = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
            b = torch.tanh(w_new @ self.E.T)
            q = torch.softmax(b @ self.Q.T, dim=-1)
            r = torch.einsum("bm,bmh->bh", q, mem)
            k = torch.sigmoid(b @ self.K.T)
            v = torch.tanh(b @ self.V.T)
            mem_new = gamma * mem + one_minus_gamma * (k[:, :, None] * v[:, None, :])
            if active is not None:
                mem_new = torch.where(active[:, t, None, None], mem_new, mem)
            zs.append(b + r)
            aux = aux + (w_new.abs().mean(dim=1) * valid).sum()
            count += float(valid.sum())
            w, Om, mem = w_new, Om_new, mem_new
        self._aux_sum, self._aux_count = self.sparsity * aux, count
        return torch.stack(zs, dim=1), {"workspace": w, "workspace_memory": Om, "manifold": mem}

    def loss(self, outputs: Tensor, y: Union[Tensor, np.ndarray],
             lengths: Optional[Lengths] = None, target: str = "per_step") -> Tensor:
        """The readout's loss (see :meth:`TwinBase.loss`) plus the sparsity loss of the last
        :meth:`forward`: ``sparsity * mean |w_t|`` averaged over its valid steps."""
        base = super().loss(outputs, y, lengths=lengths, target=target)
        if self._aux_sum is None or self._aux_count == 0:
            return base
        return base + self._aux_sum / self._aux_count
