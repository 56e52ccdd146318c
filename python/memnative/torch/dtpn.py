"""The PyTorch twin of DTPN (dual-track persistence network) with the model's readout and losses.

Same equations, parameter names, shapes and conventions as ``libmem/src/cells/dtpn.c`` and
``libmem/src/memory/manifold.c`` (see ``spec/cells.md``)::

    u_t = tanh(W x_t + U h_{t-1} + b);   p_t = u_t + beta * e_{t-1};   e_t = p_t
    alpha_t = sigmoid(alpha_logit + W_alpha x_t);  n_t = (1 - alpha_t) * n_{t-1} + alpha_t * p_t
    q = softmax(Q p_t),  r_t = M_{t-1}^T q                      (read the previous manifold ...)
    k = sigmoid(K p_t), v = tanh(V p_t),  M_t = gamma M_{t-1} + (1 - gamma) k v^T   (... then write)
    h_t = tanh(p_t + n_t + r_t);  z_t = h_t
    yhat_t = W_o z_t + b_o [+ D x_t] [+ beta_o * yhat_{t-1}]

Past its length a sequence holds every state and its z is the held h (its readout outputs are 0,
as ``mem_model_predict``). The state ``manifold`` is (batch, M, H); ``e``, ``n``, ``h`` are (batch, H).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ._base import State, TwinBase, _check_rate

__all__ = ["DTPN"]


class DTPN(TwinBase):
    """DTPN (dual-track persistence network) with libmem's readout, as a ``torch.nn.Module``.

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
        The readout adds ``D x_t`` (on by default for DTPN, as in C).
    loss : {"mse", "cross_entropy"}, default "mse"
    dtype : torch.dtype, default torch.float32
    beta, alpha : float, default 0.3, 0.1
        Initial echo and memory rate per neuron, strictly inside (0, 1).
    learn_memory : bool, default True
        Train ``beta_logit``, ``alpha_logit`` and ``W_alpha``.
    spread_init : bool, default True
        Spread the logits of beta and alpha uniformly +-1.5.
    memory_manifold_size : int, default 32
    memory_decay : float, default 0.99
        Initial manifold decay gamma, strictly inside (0, 1).
    output_beta : float, default 0.2
    device : torch.device or str, optional

    Attributes
    ----------
    W : Parameter (H, I)
    U : Parameter (H, H)
    b, beta_logit, alpha_logit : Parameter (H,)
    W_alpha : Parameter (H, I)
    Q, K : Parameter (M, H)
    V : Parameter (H, H)
    gamma_logit : Parameter (1,)
    W_o, b_o[, D][, output_beta_logit]

    Notes
    -----
    Initialisation follows libmem's rules with torch's random numbers; copy a C model's values
    with :meth:`load_parameters`.

    Examples
    --------
    >>> import torch
    >>> from memnative.torch import DTPN
    >>> net = DTPN(3, 2, hidden_size=8, memory_manifold_size=4)
    >>> out, state = net(torch.randn(4, 10, 3), lengths=[10, 7, 3, 1])
    >>> out.shape, tuple(state["manifold"].shape)
    (torch.Size([4, 10, 2]), (4, 4, 8))
    """

    cell_state_names = ("e", "n", "h", "manifold")

    def __init__(self, n_inputs: int, n_outputs: int, hidden_size: int = 32,
                 output_memory: bool = False, skip: bool = True, loss: str = "mse",
                 dtype: torch.dtype = torch.float32, *, beta: float = 0.3, alpha: float = 0.1,
                 learn_memory: bool = True, spread_init: bool = True,
                 memory_manifold_size: int = 32, memory_decay: float = 0.99,
                 output_beta: float = 0.2,
                 device: Optional[Union[torch.device, str]] = None) -> None:
        super().__init__(n_inputs, n_outputs, hidden_size, output_memory, skip, loss)
        if int(memory_manifold_size) != memory_manifold_size or memory_manifold_size < 1:
            raise ValueError("memory_manifold_size must be a positive integer, got "
                             f"{memory_manifold_size!r}")
        beta = _check_rate("beta", beta)
        alpha = _check_rate("alpha", alpha)
        memory_decay = _check_rate("memory_decay", memory_decay)
        self.memory_manifold_size = int(memory_manifold_size)
        factory: Dict[str, object] = {"dtype": dtype, "device": device}
        H, I, M = self.hidden_size, self.n_inputs, self.memory_manifold_size
        spread = 1.5 if spread_init else 0.0
        learn = bool(learn_memory)
        std = 1.0 / math.sqrt(H)
        f64 = {"dtype": torch.float64}
        # registration order is the C parameter table's (dtpn_layout)
        self._new_param("W", (H, I), "glorot", factory=factory)
        self._init_param("U", nn.init.orthogonal_(torch.empty((H, H), **f64), gain=0.5), factory)
        self._new_param("b", (H,), "zero", factory=factory)
        self._new_param("beta_logit", (H,), "logit", beta, spread, learn, factory)
        self._new_param("alpha_logit", (H,), "logit", alpha, spread, learn, factory)
        self._new_param("W_alpha", (H, I), "zero", trainable=learn, factory=factory)
        for name, shape in (("Q", (M, H)), ("K", (M, H)), ("V", (H, H))):
            self._init_param(name, torch.randn(shape, **f64) * std, factory)
        self._new_param("gamma_logit", (1,), "logit", memory_decay, factory=factory)
        self._add_readout(output_beta, factory)

    def _init_param(self, name: str, data: Tensor, factory: Dict[str, object]) -> None:
        self.register_parameter(name, nn.Parameter(data.to(**factory)))  # type: ignore[arg-type]

    def _state_shapes(self) -> Dict[str, Tuple[int, ...]]:
        shapes = super()._state_shapes()
        shapes["manifold"] = (self.memory_manifold_size, self.hidden_size)
        return shapes

    def _cell(self, x: Tensor, state: State, active: Optional[Tensor]) -> Tuple[Tensor, State]:
        beta = torch.sigmoid(self.beta_logit)
        gamma, one_minus_gamma = torch.sigmoid(self.gamma_logit), torch.sigmoid(-self.gamma_logit)
        drive = x @ self.W.T + self.b                                  # input-only, hoisted
        alpha = torch.sigmoid(self.alpha_logit + x @ self.W_alpha.T)
        e, n, h, mem = state["e"], state["n"], state["h"], state["manifold"]
        zs: List[Tensor] = []
        for t in range(x.shape[1]):
            u = torch.tanh(drive[:, t] + h @ self.U.T)
            p = u + beta * e
            a_t = alpha[:, t]
            n_new = (1 - a_t) * n + a_t * p
            q = torch.softmax(p @ self.Q.T, dim=-1)                    # (B, M)
            r = torch.einsum("bm,bmh->bh", q, mem)
            k = torch.sigmoid(p @ self.K.T)
            v = torch.tanh(p @ self.V.T)
            mem_new = gamma * mem + one_minus_gamma * (k[:, :, None] * v[:, None, :])
            h_new = torch.tanh(p + n_new + r)
            if active is not None:  # past its length a sequence holds every state
                keep = active[:, t, None]
                p = torch.where(keep, p, e)
                n_new = torch.where(keep, n_new, n)
                h_new = torch.where(keep, h_new, h)
                mem_new = torch.where(keep[:, :, None], mem_new, mem)
            zs.append(h_new)
            e, n, h, mem = p, n_new, h_new, mem_new
        return torch.stack(zs, dim=1), {"e": e, "n": n, "h": h, "manifold": mem}
