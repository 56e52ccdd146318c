"""PyTorch twins of memnative's cells: the same equations and parameter names, written in torch.

Each twin is a ``torch.nn.Module`` whose parameters carry exactly the C parameter table's names
and shapes (``W``, ``b``, ..., then the readout's ``W_o``, ``b_o`` [, ``D``]
[, ``output_beta_logit``]), so values move between a C model and its twin by name
(:meth:`~memnative.torch.amrc.TwinBase.load_parameters`,
:meth:`~memnative.torch.amrc.TwinBase.parameters_numpy`). The twins are the gradient oracle in the
tests and a backend in ``bench/``; they are written as plain torch (batched tensor ops over the
batch, a Python loop over time, no ``torch.compile``).

PyTorch is optional for memnative; this subpackage needs it (pinned ``torch==2.13.0``).

:data:`TWINS` maps a C kind name to its twin class; a new cell adds one module and one line there.

Examples
--------
>>> from memnative.torch import TWINS
>>> net = TWINS["amrc"](n_inputs=3, n_outputs=2, hidden_size=8)  # doctest: +SKIP
"""
from __future__ import annotations

try:
    import torch  # noqa: F401  (the twins' only hard requirement)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("memnative.torch needs PyTorch: pip install torch==2.13.0") from exc

from typing import Dict, Type

from ._base import TwinBase
from .amn import AMN
from .amrc import AMRC
from .dtpn import DTPN
from .hyper_amn import HyperAMN
from .ndm import NDM
from .pmrc import PMRC
from .sgw_amn import SGWAMN

__all__ = ["AMN", "AMRC", "DTPN", "HyperAMN", "NDM", "PMRC", "SGWAMN", "TwinBase", "TWINS"]

#: C kind name -> twin class.
TWINS: Dict[str, Type[TwinBase]] = {
    "amrc": AMRC,
    "pmrc": PMRC,
    "amn": AMN,
    "ndm": NDM,
    "sgw_amn": SGWAMN,
    "dtpn": DTPN,
    "hyper_amn": HyperAMN,
}
