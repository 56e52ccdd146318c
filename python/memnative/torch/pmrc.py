"""The PyTorch twin of PMRC (persistent memory recurrent cell) with the model's readout and losses.

Same equations, parameter names, shapes and conventions as ``libmem/src/cells/pmrc.c`` and
``libmem/src/model/readout.c`` (see ``spec/cells.md``); every product reads step t-1 values::

    a_t = W x_t + [U h_{t-1}] + b + w_m * m_{t-1};  u_t = tanh(a_t)
    gates:    g_t = sigmoid(W_g x_t + U_g m_{t-1} + b_g),  c_t = tanh(W_c x_t + b_c)
              m_t = g_t * c_t + (1 - g_t) * m_{t-1}
    no gates: m_t = (1 - alpha) * m_{t-1} + alpha * u_t       alpha = sigmoid(alpha_logit)
    h_t = u_t + beta * h_{t-1};  z_t = h_t                      beta  = sigmoid(beta_logit)
    yhat_t = W_o h_t + b_o [+ D x_t] [+ beta_o * yhat_{t-1}]

``U`` exists with ``use_recurrent``; ``W_g, U_g, b_g, W_c, b_c`` replace ``alpha_logit`` with
``use_learnable_gates``. Written as plain torch: batched tensor ops over the batch, a Python loop
over time. Past its length a sequence holds its state (h, m and the output memory) and its outputs
are 0, as in C.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ._base import State, TwinBase, _check_rate

__all__ = ["PMRC"]


class PMRC(TwinBase):
    """PMRC (persistent memory recurrent cell) with libmem's readout, as a ``torch.nn.Module``.

    AMRC's per-neuron echo (``h``) and memory (``m``, fed back through ``w_m``) plus an optional
    recurrent matrix ``U`` and an optional learned gate on the memory.

    Parameters
    ----------
    n_inputs : int
        Input features I.
    n_outputs : int
        Outputs O (classes for cross-entropy).
    hidden_size : int, default 32
        Hidden units H.
    output_memory : bool, default False
        The readout adds ``sigmoid(output_beta_logit) * yhat_{t-1}`` (the estimator's
        ``use_output_memory``); adds the state ``output``.
    skip : bool, default False
        The readout adds ``D x_t``.
    loss : {"mse", "cross_entropy"}, default "mse"
        The loss of :meth:`loss`.
    dtype : torch.dtype, default torch.float32
        Parameter dtype (float64 for a tight gradient oracle).
    beta, alpha : float, default 0.3, 0.1
        Initial echo strength and memory rate, strictly inside (0, 1) (alpha only without gates).
    learn_memory : bool, default True
        ``beta_logit`` (and ``alpha_logit``) are trainable (``requires_grad``).
    spread_init : bool, default True
        Spread each neuron's beta and alpha logits uniformly +-1.5 around the given value.
    use_recurrent : bool, default True
        Add ``U h_{t-1}`` to the pre-activation (``U`` orthogonal x 0.5 at init).
    use_learnable_gates : bool, default False
        Gate the memory with ``W_g, U_g, b_g`` and its candidate ``W_c, b_c`` instead of the
        fixed-rate alpha update (``alpha_logit`` is then absent, as in the C table).
    output_beta : float, default 0.2
        Initial output echo (``output_memory``).
    device : torch.device or str, optional

    Attributes
    ----------
    W : Parameter (H, I)
    U : Parameter (H, H)
        Only with ``use_recurrent``.
    b, w_m, beta_logit : Parameter (H,)
    alpha_logit : Parameter (H,)
        Only without ``use_learnable_gates``.
    W_g : Parameter (H, I); U_g : Parameter (H, H); b_g : Parameter (H,);
    W_c : Parameter (H, I); b_c : Parameter (H,)
        Only with ``use_learnable_gates``.
    W_o, b_o[, D][, output_beta_logit]
        The readout (see :class:`~memnative.torch._base.TwinBase`).

    Notes
    -----
    Initialisation follows libmem's rules (Glorot-uniform input matrices, orthogonal x 0.5 square
    ones, zero biases, ``w_m`` = 0.5, spread logits) with torch's random numbers, so it does not
    reproduce a C model's values: copy those with :meth:`load_parameters`.

    Examples
    --------
    >>> import torch
    >>> from memnative.torch import PMRC
    >>> net = PMRC(3, 2, hidden_size=8, use_learnable_gates=True)
    >>> out, state = net(torch.randn(4, 10, 3), lengths=[10, 7, 3, 1])
    >>> out.shape, sorted(state)
    (torch.Size([4, 10, 2]), ['h', 'm'])
    """

    cell_state_names = ("h", "m")

    def __init__(self, n_inputs: int, n_outputs: int, hidden_size: int = 32,
                 output_memory: bool = False, skip: bool = False, loss: str = "mse",
                 dtype: torch.dtype = torch.float32, *, beta: float = 0.3, alpha: float = 0.1,
                 learn_memory: bool = True, spread_init: bool = True, use_recurrent: bool = True,
                 use_learnable_gates: bool = False, output_beta: float = 0.2,
                 device: Optional[Union[torch.device, str]] = None) -> None:
        super().__init__(n_inputs, n_outputs, hidden_size, output_memory, skip, loss)
        factory: Dict[str, object] = {"dtype": dtype, "device": device}
        H, I = self.hidden_size, self.n_inputs
        spread = 1.5 if spread_init else 0.0
        self.use_recurrent = bool(use_recurrent)
        self.use_learnable_gates = bool(use_learnable_gates)
        beta = _check_rate("beta", beta)
        alpha = _check_rate("alpha", alpha)
        # registration order is the C parameter table's (pmrc_layout)
        self._new_param("W", (H, I), "glorot", factory=factory)
        if self.use_recurrent:
            self._orthogonal("U", H, factory)
        self._new_param("b", (H,), "zero", factory=factory)
        self._new_param("w_m", (H,), "const", 0.5, factory=factory)
        self._new_param("beta_logit", (H,), "logit", beta, spread, trainable=learn_memory,
                        factory=factory)
        if not self.use_learnable_gates:
            self._new_param("alpha_logit", (H,), "logit", alpha, spread,
                            trainable=learn_memory, factory=factory)
        else:
            self._new_param("W_g", (H, I), "glorot", factory=factory)
            self._orthogonal("U_g", H, factory)
            self._new_param("b_g", (H,), "zero", factory=factory)
            self._new_param("W_c", (H, I), "glorot", factory=factory)
            self._new_param("b_c", (H,), "zero", factory=factory)
        self._add_readout(output_beta, factory)

    def _orthogonal(self, name: str, n: int, factory: Dict[str, object]) -> None:
        data = torch.empty((n, n), **factory)  # type: ignore[arg-type]
        nn.init.orthogonal_(data, gain=0.5)
        self.register_parameter(name, nn.Parameter(data))

    def _cell(self, x: Tensor, state: State, active: Optional[Tensor]) -> Tuple[Tensor, State]:
        beta = torch.sigmoid(self.beta_logit)
        gates = self.use_learnable_gates
        # the input projections, hoisted out of the time loop (c_t depends on x_t only)
        drive = x @ self.W.T + self.b
        if gates:
            gate_drive = x @ self.W_g.T + self.b_g
            cand = torch.tanh(x @ self.W_c.T + self.b_c)
        else:
            alpha = torch.sigmoid(self.alpha_logit)
        h, m = state["h"], state["m"]
        zs: List[Tensor] = []
        for t in range(x.shape[1]):
            pre = drive[:, t] + self.w_m * m
            if self.use_recurrent:
                pre = pre + h @ self.U.T
            u = torch.tanh(pre)
            h_new = u + beta * h
            if gates:
                g = torch.sigmoid(gate_drive[:, t] + m @ self.U_g.T)
                m_new = g * cand[:, t] + (1 - g) * m
            else:
                m_new = (1 - alpha) * m + alpha * u
            if active is None:
                h, m = h_new, m_new
            else:  # past its length a sequence holds its state (and z_t repeats the held h)
                keep = active[:, t, None]
                h, m = torch.where(keep, h_new, h), torch.where(keep, m_new, m)
            zs.append(h)
        return torch.stack(zs, dim=1), {"h": h, "m": m}
