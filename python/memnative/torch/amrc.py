"""The PyTorch twin of AMRC (adaptive memory recurrent cell) with the model's readout and losses.

Same equations, parameter names, shapes and conventions as ``libmem/src/cells/amrc.c`` and
``libmem/src/model/readout.c`` (see ``spec/cells.md``)::

    u_t = tanh(W x_t + b + w_m * m_{t-1})
    h_t = u_t + beta * h_{t-1}                      beta  = sigmoid(beta_logit)
    m_t = (1 - alpha) * m_{t-1} + alpha * u_t       alpha = sigmoid(alpha_logit)
    yhat_t = W_o h_t + b_o [+ D x_t] [+ beta_o * yhat_{t-1}],  beta_o = sigmoid(output_beta_logit)

Written as plain torch: batched tensor ops over the batch, a Python loop over time. Sequences with
``lengths`` behave as in C: past its length a sequence holds its state (h, m and the output memory)
and its outputs are 0.

The readout, the losses and the parameter transfer are the same for every cell; they live in
:class:`memnative.torch._base.TwinBase`.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor

from ._base import State, TwinBase, _check_rate

__all__ = ["AMRC"]


class AMRC(TwinBase):
    """AMRC (adaptive memory recurrent cell) with libmem's readout, as a ``torch.nn.Module``.

    Every neuron keeps an echo of its last output (``h``) and a leaky memory (``m``) that feeds
    back through a learned gain ``w_m``; there is no recurrent matrix.

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
    skip : bool, default False
        The readout adds ``D x_t``.
    loss : {"mse", "cross_entropy"}, default "mse"
        The loss of :meth:`loss`.
    dtype : torch.dtype, default torch.float32
        Parameter dtype (float64 for a tight gradient oracle).
    beta, alpha : float, default 0.3, 0.1
        Initial echo strength and memory rate, strictly inside (0, 1).
    learn_memory : bool, default True
        ``beta_logit`` and ``alpha_logit`` are trainable (``requires_grad``).
    spread_init : bool, default True
        Spread each neuron's beta and alpha logits uniformly +-1.5 around the given value.
    output_beta : float, default 0.2
        Initial output echo (``output_memory``).
    device : torch.device or str, optional

    Attributes
    ----------
    W : Parameter (H, I)
    b, w_m, beta_logit, alpha_logit : Parameter (H,)
    W_o : Parameter (O, H)
    b_o : Parameter (O,)
    D : Parameter (O, I)
        Only with ``skip``.
    output_beta_logit : Parameter (O,)
        Only with ``output_memory``.

    Notes
    -----
    Initialisation follows libmem's rules (Glorot-uniform matrices, zero biases, ``w_m`` = 0.5,
    spread logits) with torch's random numbers, so it does not reproduce a C model's values: copy
    those with :meth:`load_parameters`.

    Examples
    --------
    >>> import torch
    >>> from memnative.torch import AMRC
    >>> net = AMRC(3, 2, hidden_size=8)
    >>> out, state = net(torch.randn(4, 10, 3), lengths=[10, 7, 3, 1])
    >>> out.shape, sorted(state)
    (torch.Size([4, 10, 2]), ['h', 'm'])
    """

    cell_state_names = ("h", "m")

    def __init__(self, n_inputs: int, n_outputs: int, hidden_size: int = 32,
                 output_memory: bool = False, skip: bool = False, loss: str = "mse",
                 dtype: torch.dtype = torch.float32, *, beta: float = 0.3, alpha: float = 0.1,
                 learn_memory: bool = True, spread_init: bool = True, output_beta: float = 0.2,
                 device: Optional[Union[torch.device, str]] = None) -> None:
        super().__init__(n_inputs, n_outputs, hidden_size, output_memory, skip, loss)
        factory: Dict[str, object] = {"dtype": dtype, "device": device}
        H, I = self.hidden_size, self.n_inputs
        spread = 1.5 if spread_init else 0.0
        self._new_param("W", (H, I), "glorot", factory=factory)
        self._new_param("b", (H,), "zero", factory=factory)
        self._new_param("w_m", (H,), "const", 0.5, factory=factory)
        self._new_param("beta_logit", (H,), "logit", _check_rate("beta", beta), spread,
                        trainable=learn_memory, factory=factory)
        self._new_param("alpha_logit", (H,), "logit", _check_rate("alpha", alpha), spread,
                        trainable=learn_memory, factory=factory)
        self._add_readout(output_beta, factory)

    def _cell(self, x: Tensor, state: State, active: Optional[Tensor]) -> Tuple[Tensor, State]:
        beta = torch.sigmoid(self.beta_logit)
        alpha = torch.sigmoid(self.alpha_logit)
        drive = x @ self.W.T + self.b  # the input projection, hoisted out of the time loop
        h, m = state["h"], state["m"]
        zs: List[Tensor] = []
        for t in range(x.shape[1]):
            u = torch.tanh(drive[:, t] + self.w_m * m)
            h_new = u + beta * h
            m_new = (1 - alpha) * m + alpha * u
            if active is None:
                h, m = h_new, m_new
            else:  # past its length a sequence holds its state
                keep = active[:, t, None]
                h, m = torch.where(keep, h_new, h), torch.where(keep, m_new, m)
            zs.append(h)
        return torch.stack(zs, dim=1), {"h": h, "m": m}
