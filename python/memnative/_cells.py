"""The estimators of the individual cells: one class per kind, with the cell's options as keywords.

Each class lists scikit-learn-style keywords: the cell's own options (validated by libmem's
parameter table when ``fit`` builds the model), the readout options and the shared training
keywords (:data:`memnative._estimators.TRAINING_PARAMETERS_DOC`).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from ._base import MemoryEstimator
from ._compat import RegressorMixin
from ._lib import check, lib
from ._estimators import TRAINING_PARAMETERS_DOC, _RegressorOutputs, _store_params, kind_class

__all__ = ["AMRC", "PMRC", "AMN", "DTPN", "HyperAMN", "NDM", "SGWAMN"]

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    n_features_in_, n_outputs_, target_mode_, loss_curve_, n_iter_, validation_scores_,
    parameters_ (views of the trained tensors), diagnostics
"""


@kind_class("amrc")
class AMRC(_RegressorOutputs, RegressorMixin, MemoryEstimator):
    __doc__ = """Adaptive memory recurrent cell regressor: every neuron keeps an echo of its last
    output and a leaky memory that feeds back through a learned gain (``spec/cells.md``).

        u_t = tanh(W x_t + b + w_m ⊙ m_{t-1});  h_t = u_t + β ⊙ h_{t-1};
        m_t = (1 - α) ⊙ m_{t-1} + α ⊙ u_t;      ŷ_t = W_o h_t + b_o

    Parameters
    ----------
    hidden_size : int, default 32
    beta, alpha : float in (0, 1), default 0.3 and 0.1
        Initial echo strength and memory rate, per neuron (spread ±1.5 in logit space around
        these values when ``spread_init``), trained when ``learn_memory``.
    learn_memory : bool, default True
    spread_init : bool, default True
    output_memory : bool, default False
        Readout adds a learned per-output echo of the previous output.
    output_beta : float in (0, 1), default 0.2
        Initial echo of ``output_memory``.
    skip : bool, default False
        Readout adds a direct input path ``D x_t``.
""" + TRAINING_PARAMETERS_DOC + _ATTRIBUTES_DOC

    def __init__(self, hidden_size: int = 32, beta: float = 0.3, alpha: float = 0.1,
                 learn_memory: bool = True, spread_init: bool = True, output_memory: bool = False,
                 output_beta: float = 0.2, skip: bool = False, epochs: int = 100,
                 batch_size: int = 32, bptt: Optional[int] = None,
                 learning_rate: Optional[float] = None, lr_schedule: str = "cosine",
                 optimizer: str = "adamw", momentum: float = 0.9, weight_decay: float = 0.0,
                 clip_norm: Optional[float] = 1.0, validation_fraction: float = 0.0,
                 n_iter_no_change: Optional[int] = None, tol: float = 1e-4, target: str = "auto",
                 warm_start: bool = False, random_state: Any = None,
                 n_threads: Optional[int] = None, verbose: int = 0,
                 callbacks: Optional[List[Callable[..., Any]]] = None) -> None:
        _store_params(self, locals())

    def _cell_kind(self) -> str:
        return "amrc"

    def _cell_settings(self) -> Dict[str, Any]:
        return {"beta": self.beta, "alpha": self.alpha, "learn_memory": self.learn_memory,
                "spread_init": self.spread_init}


@kind_class("pmrc")
class PMRC(_RegressorOutputs, RegressorMixin, MemoryEstimator):
    __doc__ = """Persistent memory recurrent cell regressor: AMRC's per-neuron echo and memory plus
    a recurrent matrix and, optionally, learnable memory gates; built for partial training
    (``freeze_hidden_layer``, ``freeze_hidden_percentage``, ``freeze_specific_neurons``, ...).

        a_t = W x_t + U h_{t-1} + b + w_m ⊙ m_{t-1};  u_t = tanh(a_t);  h_t = u_t + β ⊙ h_{t-1}
        gates:    g_t = σ(W_g x_t + U_g m_{t-1} + b_g), c_t = tanh(W_c x_t + b_c),
                  m_t = g_t ⊙ c_t + (1 - g_t) ⊙ m_{t-1}
        no gates: m_t = (1 - α) ⊙ m_{t-1} + α ⊙ u_t

    Parameters
    ----------
    hidden_size : int, default 32
    beta, alpha : float in (0, 1), default 0.3 and 0.1
        As for AMRC (α only without gates).
    output_beta : float in (0, 1), default 0.2
        Initial echo of the output memory.
    use_recurrent : bool, default True
        The recurrent matrix U (orthogonal × 0.5 at init).
    use_learnable_gates : bool, default False
    use_output_memory : bool, default False
        The readout's output memory (``output_memory`` of the other estimators).
    learn_memory, spread_init : bool, default True
    skip : bool, default False
""" + TRAINING_PARAMETERS_DOC + _ATTRIBUTES_DOC

    def __init__(self, hidden_size: int = 32, beta: float = 0.3, alpha: float = 0.1,
                 output_beta: float = 0.2, use_recurrent: bool = True,
                 use_learnable_gates: bool = False, use_output_memory: bool = False,
                 learn_memory: bool = True, spread_init: bool = True, skip: bool = False,
                 epochs: int = 100, batch_size: int = 32, bptt: Optional[int] = None,
                 learning_rate: Optional[float] = None, lr_schedule: str = "cosine",
                 optimizer: str = "adamw", momentum: float = 0.9, weight_decay: float = 0.0,
                 clip_norm: Optional[float] = 1.0, validation_fraction: float = 0.0,
                 n_iter_no_change: Optional[int] = None, tol: float = 1e-4, target: str = "auto",
                 warm_start: bool = False, random_state: Any = None,
                 n_threads: Optional[int] = None, verbose: int = 0,
                 callbacks: Optional[List[Callable[..., Any]]] = None) -> None:
        _store_params(self, locals())

    def _cell_kind(self) -> str:
        return "pmrc"

    def _cell_settings(self) -> Dict[str, Any]:
        return {"beta": self.beta, "alpha": self.alpha, "learn_memory": self.learn_memory,
                "spread_init": self.spread_init, "use_recurrent": self.use_recurrent,
                "use_learnable_gates": self.use_learnable_gates,
                "output_memory": self.use_output_memory}


@kind_class("amn")
class AMN(_RegressorOutputs, RegressorMixin, MemoryEstimator):
    __doc__ = """Adaptive memory network regressor: liquid time constants, a linear recurrent unit
    and an associative memory manifold (``spec/cells.md``).

        f_t = tanh(W_in x_t + U s_{t-1} + b_in);  λ_t = softplus(a + W_λ x_t)
        s_t = e^{-dt λ_t} s_{t-1} + (1 - e^{-dt λ_t}) f_t              (liquid step)
        ℓ_t = Λ ℓ_{t-1} + sqrt(1 - Λ²) s_t,  Λ = exp(-exp(ν))            (LRU)
        r_t = 𝓜_{t-1}ᵀ softmax(Q ℓ̃_t);  𝓜_t = γ 𝓜_{t-1} + (1 - γ) σ(K s_t) tanh(V s_t)ᵀ
        z_t = (1 - ρ) ⊙ ℓ_t + ρ ⊙ r_t;  ŷ_t = W_o z_t + b_o + D x_t

    Parameters
    ----------
    hidden_size : int, default 32
    memory_manifold_size : int, default 64
        Rows M of the manifold.
    dt : float, default 1.0
        Step of the liquid integration (exact for any dt).
    memory_decay : float in (0, 1), default 0.995
        Initial decay γ of the manifold (learned).
    lru_min, lru_max : float in (0, 1), default 0.5 and 0.999
        The LRU's initial decays Λ spread log-uniformly in 1 - Λ between them. Keep the slowest
        time scale 1/(1 - Λ) below the history seen in training; long-memory sequence tasks (the
        adding problem at T >= 200) want ``lru_max=0.9999`` and often ``feedback=False``.
    feedback : bool, default True
        Feed s back into f through U (the liquid-time-constant form); False gives an input-only
        selective scan.
    output_memory : bool, default False
    output_beta : float in (0, 1), default 0.2
    skip : bool, default True
        The readout's direct input path ``D x_t``.
""" + TRAINING_PARAMETERS_DOC + _ATTRIBUTES_DOC

    def __init__(self, hidden_size: int = 32, memory_manifold_size: int = 64, dt: float = 1.0,
                 memory_decay: float = 0.995, lru_min: float = 0.5, lru_max: float = 0.999,
                 feedback: bool = True, output_memory: bool = False, output_beta: float = 0.2,
                 skip: bool = True, epochs: int = 100, batch_size: int = 32,
                 bptt: Optional[int] = None, learning_rate: Optional[float] = None,
                 lr_schedule: str = "cosine", optimizer: str = "adamw", momentum: float = 0.9,
                 weight_decay: float = 0.0, clip_norm: Optional[float] = 1.0,
                 validation_fraction: float = 0.0, n_iter_no_change: Optional[int] = None,
                 tol: float = 1e-4, target: str = "auto", warm_start: bool = False,
                 random_state: Any = None, n_threads: Optional[int] = None, verbose: int = 0,
                 callbacks: Optional[List[Callable[..., Any]]] = None) -> None:
        _store_params(self, locals())

    def _cell_kind(self) -> str:
        return "amn"

    def _cell_settings(self) -> Dict[str, Any]:
        return {"memory_manifold_size": self.memory_manifold_size, "dt": self.dt,
                "memory_decay": self.memory_decay, "lru_min": self.lru_min,
                "lru_max": self.lru_max, "feedback": self.feedback}

    @property
    def avg_manifold_energy(self) -> float:
        """Mean |𝓜| of the stored memory."""
        return float(self.diagnostics["manifold_energy"])

    @property
    def avg_lc_timescale(self) -> float:
        """Mean liquid time constant 1/λ_t over the last fit/predict call (after
        ``reset_memory()``: the zero-input value, mean of 1/softplus(a))."""
        return float(self.diagnostics["lc_timescale"])

    @property
    def avg_lru_magnitude(self) -> float:
        """Mean |ℓ| of the stored memory."""
        return float(self.diagnostics["lru_magnitude"])

    def get_manifold_state(self) -> np.ndarray:
        """A copy of the manifold 𝓜 (memory_manifold_size, hidden_size) of the stream memory."""
        return self.get_memory_state()["manifold"]

    def reset_manifold(self) -> "AMN":
        """Clear the manifold, keeping the liquid and LRU states. Returns self."""
        state = self.get_memory_state()
        state["manifold"][...] = 0.0
        return self.set_memory_state(state)


@kind_class("dtpn")
class DTPN(_RegressorOutputs, RegressorMixin, MemoryEstimator):
    __doc__ = """Dual-track persistence network regressor: a recurrent tanh layer whose neurons keep
    an echo and an input-gated memory, plus an associative memory manifold (``spec/cells.md``).

        u_t = tanh(W x_t + U h_{t-1} + b);  p_t = u_t + β ⊙ e_{t-1};  e_t = p_t
        α_t = σ(α̂ + W_α x_t);  n_t = (1 - α_t) ⊙ n_{t-1} + α_t ⊙ p_t
        r_t = 𝓜_{t-1}ᵀ softmax(Q p_t);  𝓜_t = γ 𝓜_{t-1} + (1 - γ) σ(K p_t) tanh(V p_t)ᵀ
        h_t = tanh(p_t + n_t + r_t);  ŷ_t = W_o h_t + b_o + D x_t

    Parameters
    ----------
    hidden_size : int, default 32
    beta, alpha : float in (0, 1), default 0.3 and 0.1
        Initial echo strength and memory rate (at zero input), per neuron (spread ±1.5 in logit
        space around these values when ``spread_init``).
    learn_memory : bool, default True
        Train β, α̂ and the rate's input gate W_α (False keeps the initial rates).
    spread_init : bool, default True
    memory_manifold_size : int, default 32
        Rows M of the manifold.
    memory_decay : float in (0, 1), default 0.99
        Initial decay γ of the manifold (learned).
    output_memory : bool, default False
    output_beta : float in (0, 1), default 0.2
    skip : bool, default True
        The readout's direct input path ``D x_t``.
""" + TRAINING_PARAMETERS_DOC + _ATTRIBUTES_DOC

    def __init__(self, hidden_size: int = 32, beta: float = 0.3, alpha: float = 0.1,
                 learn_memory: bool = True, spread_init: bool = True,
                 memory_manifold_size: int = 32, memory_decay: float = 0.99,
                 output_memory: bool = False, output_beta: float = 0.2, skip: bool = True,
                 epochs: int = 100, batch_size: int = 32, bptt: Optional[int] = None,
                 learning_rate: Optional[float] = None, lr_schedule: str = "cosine",
                 optimizer: str = "adamw", momentum: float = 0.9, weight_decay: float = 0.0,
                 clip_norm: Optional[float] = 1.0, validation_fraction: float = 0.0,
                 n_iter_no_change: Optional[int] = None, tol: float = 1e-4, target: str = "auto",
                 warm_start: bool = False, random_state: Any = None,
                 n_threads: Optional[int] = None, verbose: int = 0,
                 callbacks: Optional[List[Callable[..., Any]]] = None) -> None:
        _store_params(self, locals())

    def _cell_kind(self) -> str:
        return "dtpn"

    def _cell_settings(self) -> Dict[str, Any]:
        return {"beta": self.beta, "alpha": self.alpha, "learn_memory": self.learn_memory,
                "spread_init": self.spread_init,
                "memory_manifold_size": self.memory_manifold_size,
                "memory_decay": self.memory_decay}

    @property
    def echo_magnitude(self) -> float:
        """Mean |e| (the echo) of the stored memory."""
        return float(self.diagnostics["echo_magnitude"])

    @property
    def memory_magnitude(self) -> float:
        """Mean |n| (the neuron memory) of the stored memory."""
        return float(self.diagnostics["memory_magnitude"])

    @property
    def matrix_energy(self) -> float:
        """Mean |𝓜| of the stored manifold."""
        return float(self.diagnostics["matrix_energy"])

    def get_manifold_state(self) -> np.ndarray:
        """A copy of the manifold 𝓜 (memory_manifold_size, hidden_size) of the stream memory."""
        return self.get_memory_state()["manifold"]


@kind_class("hyper_amn")
class HyperAMN(_RegressorOutputs, RegressorMixin, MemoryEstimator):
    __doc__ = """Multi-head adaptive memory network regressor: ``n_heads`` AMN cores (liquid time
    constants, LRU, their own manifold and time scales) share the input projection; their outputs
    are mixed across heads and a softmax gate picks the blend (``spec/cells.md``).

        z^h_t: head h's AMN output (W_in, b_in shared; a, W_λ, U, ν, ρ, Q, K, V, γ_h its own)
        ẑ^h = Σ_h' X_hh' z^h'                                   (X learned, init identity)
        g_t = softmax(G_x x_t + G_z z̄_{t-1} + b_G);  z̄_t = Σ_h g_h ẑ^h;  ŷ_t = W_o z̄_t + b_o + D x_t

    Parameters
    ----------
    hidden_size : int, default 32
        Units H of every head (and of z̄).
    n_heads : int in [1, 16], default 3
        Heads ("spatial", "emotional", "logical" for 3).
    memory_decays : sequence of float in (0, 1), or None
        Initial manifold decay of each head (learned), one per head. None: 0.990, 0.995, 0.999
        for 3 heads; otherwise 1 - decay spread geometrically from 0.01 to 0.001.
    memory_manifold_size : int, default 64
        Rows M of each head's manifold.
    dt : float, default 1.0
    lru_min, lru_max : float in (0, 1), default 0.5 and 0.999
        As for :class:`AMN`, for every head.
    feedback : bool, default True
        As for :class:`AMN`.
    output_memory : bool, default False
    output_beta : float in (0, 1), default 0.2
    skip : bool, default True
""" + TRAINING_PARAMETERS_DOC + _ATTRIBUTES_DOC

    def __init__(self, hidden_size: int = 32, n_heads: int = 3,
                 memory_decays: Optional[Sequence[float]] = None,
                 memory_manifold_size: int = 64, dt: float = 1.0, lru_min: float = 0.5,
                 lru_max: float = 0.999, feedback: bool = True, output_memory: bool = False,
                 output_beta: float = 0.2, skip: bool = True, epochs: int = 100,
                 batch_size: int = 32, bptt: Optional[int] = None,
                 learning_rate: Optional[float] = None, lr_schedule: str = "cosine",
                 optimizer: str = "adamw", momentum: float = 0.9, weight_decay: float = 0.0,
                 clip_norm: Optional[float] = 1.0, validation_fraction: float = 0.0,
                 n_iter_no_change: Optional[int] = None, tol: float = 1e-4, target: str = "auto",
                 warm_start: bool = False, random_state: Any = None,
                 n_threads: Optional[int] = None, verbose: int = 0,
                 callbacks: Optional[List[Callable[..., Any]]] = None) -> None:
        _store_params(self, locals())

    def _cell_kind(self) -> str:
        return "hyper_amn"

    def _cell_settings(self) -> Dict[str, Any]:
        settings = {"n_heads": self.n_heads, "memory_manifold_size": self.memory_manifold_size,
                    "dt": self.dt, "lru_min": self.lru_min, "lru_max": self.lru_max,
                    "feedback": self.feedback}
        if self.memory_decays is not None:  # None: the per-head default, derived in C
            if isinstance(self.memory_decays, (str, bytes)):
                raise ValueError(f"memory_decays={self.memory_decays!r} must be a sequence of "
                                 "numbers or None")
            settings["memory_decays"] = [float(v) for v in np.ravel(self.memory_decays)]
        return settings

    def get_head_activations(self) -> np.ndarray:
        """The mean gate of every head over the last fit/predict call, shape (n_heads,)
        (after ``reset_memory()``: the gate at zero input and zero state, softmax(b_G))."""
        return np.atleast_1d(np.asarray(self.diagnostics["head_activations"], dtype=np.float64))

    def get_head_manifold_energy(self) -> np.ndarray:
        """Mean |𝓜_h| of every head's stored manifold, shape (n_heads,)."""
        return np.atleast_1d(np.asarray(self.diagnostics["head_manifold_energy"],
                                        dtype=np.float64))

    @property
    def cross_head_flow(self) -> float:
        """Mean |X_hh'| over the off-diagonal of the cross-head mixing (0 for one head)."""
        return float(self.diagnostics["cross_head_flow"])


@kind_class("ndm")
class NDM(_RegressorOutputs, RegressorMixin, MemoryEstimator):
    __doc__ = """Neural differential manifold regressor: a continuous-time recurrent layer whose
    recurrent weights have a slow part (trained) and a fast plastic part F that evolves by an ODE
    during every sequence (differentiable plasticity; ``spec/cells.md``).

        dh/dt = -h + tanh(W_in x_t + (W_rec + P ⊙ F) h + b)     (Euler or RK4, F held in a step)
        F_t = e^{-λ dt} F_{t-1} + ((1 - e^{-λ dt}) / λ) η h_t π_{t-1}ᵀ
        π_t = ρ π_{t-1} + (1 - ρ) h_t;   ŷ_t = W_o h_t + b_o

    Inference never changes the weights: ``predict`` twice on the same input gives identical
    outputs. :meth:`consolidate` folds part of F into W_rec on request.

    Parameters
    ----------
    hidden_size : int, default 32
    dt : float, default 1.0
        Time integrated per input step. ``dt / substeps`` must lie in the integrator's stability
        range (<= 1 for ``"euler"``, <= 2.7 for ``"rk4"``), else ``fit`` raises ``ValueError``.
    substeps : int, default 1
    integrator : {"rk4", "euler"}, default "rk4"
    plasticity : {"neuron", "weight"}, default "neuron"
        P per neuron (scales row i of F) or per weight; initialised to 0.1.
    trace_decay : float in (0, 1), default 0.95
        ρ of the Hebbian trace π.
    eta : float, default 0.1
        Initial plastic learning rate η = softplus(η̂) (learned).
    decay_rate : float, default 1.0
        Initial decay λ of F (learned; λ = lambda_min + softplus(λ̂)).
    lambda_min : float, default 1e-3
        Floor of λ, so |F| <= η / lambda_min.
    output_memory : bool, default False
    output_beta : float in (0, 1), default 0.2
    skip : bool, default False
""" + TRAINING_PARAMETERS_DOC + _ATTRIBUTES_DOC

    def __init__(self, hidden_size: int = 32, dt: float = 1.0, substeps: int = 1,
                 integrator: str = "rk4", plasticity: str = "neuron", trace_decay: float = 0.95,
                 eta: float = 0.1, decay_rate: float = 1.0, lambda_min: float = 1e-3,
                 output_memory: bool = False, output_beta: float = 0.2, skip: bool = False,
                 epochs: int = 100, batch_size: int = 32, bptt: Optional[int] = None,
                 learning_rate: Optional[float] = None, lr_schedule: str = "cosine",
                 optimizer: str = "adamw", momentum: float = 0.9, weight_decay: float = 0.0,
                 clip_norm: Optional[float] = 1.0, validation_fraction: float = 0.0,
                 n_iter_no_change: Optional[int] = None, tol: float = 1e-4, target: str = "auto",
                 warm_start: bool = False, random_state: Any = None,
                 n_threads: Optional[int] = None, verbose: int = 0,
                 callbacks: Optional[List[Callable[..., Any]]] = None) -> None:
        _store_params(self, locals())

    def _cell_kind(self) -> str:
        return "ndm"

    def _cell_settings(self) -> Dict[str, Any]:
        return {"dt": self.dt, "substeps": self.substeps, "integrator": self.integrator,
                "plasticity": self.plasticity, "trace_decay": self.trace_decay, "eta": self.eta,
                "decay_rate": self.decay_rate, "lambda_min": self.lambda_min}

    def consolidate(self, rate: float = 1.0) -> "NDM":
        """Fold a fraction of the plastic weights of the stream memory into the slow weights.

        ``W_rec += rate * P * F`` and ``F = (1 - rate) * F``, so the effective recurrent weights
        W_rec + P ⊙ F, and the next prediction, do not change. Frozen W_rec entries keep their
        weight and their F entry.

        Parameters
        ----------
        rate : float in (0, 1], default 1.0

        Returns
        -------
        self
        """
        self._check_fitted()
        rate = float(rate)
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"rate must lie in (0, 1], got {rate!r}")
        check(lib.mem_model_consolidate(self._model, rate))  # type: ignore[attr-defined]
        return self

    def get_avg_weight_velocity(self) -> float:
        """Mean |dF/dt| over the last fit/predict call (after ``reset_memory()``: at the stored
        memory, i.e. 0)."""
        return float(self.diagnostics["weight_velocity"])

    def get_avg_plasticity(self) -> float:
        """Mean plastic coefficient P."""
        return float(self.diagnostics["plasticity"])

    def get_plastic_weights(self) -> np.ndarray:
        """A copy of the plastic weights F (hidden_size, hidden_size) of the stream memory."""
        return self.get_memory_state()["F"]


@kind_class("sgw_amn")
class SGWAMN(_RegressorOutputs, RegressorMixin, MemoryEstimator):
    __doc__ = """Sparse global workspace regressor (SGW-AMN): candidates compete by salience, the
    top-k winners write into a small integrating workspace with a Hebbian memory, which is
    broadcast to the hidden layer and its associative memory manifold (``spec/cells.md``).

        p_t = gelu(W_in x_t + b_in);  π_t = softmax(|p_t| ⊙ softplus(ŝ) / T)
        u_t = Σ_{i∈top-k} (π_i / Σ_top π) p_i R_i
        g_t = tanh(u_t + Ω_{t-1} w_{t-1});  λ_t = softplus(a_w + W_λw u_t)
        w_t = e^{-λ_t} w_{t-1} + (1 - e^{-λ_t}) g_t;  Ω_t = ω Ω_{t-1} + (1 - ω) w_t w_tᵀ
        b_t = tanh(E w_t);  z_t = b_t + 𝓜_{t-1}ᵀ softmax(Q b_t);  ŷ_t = W_o z_t + b_o + D x_t

    The training loss adds ``sparsity · mean |w_t|`` per step.

    Parameters
    ----------
    hidden_size : int, default 32
    n_candidates : int, default 256
    workspace_size : int, default 16
    k : int, default 16
        Winners per step (<= n_candidates); ties go to the lower index.
    temperature : float, default 0.5
    workspace_memory : float in (0, 1), default 0.98
        Decay ω of the Hebbian workspace memory Ω.
    sparsity : float, default 0.01
        Weight of the auxiliary loss mean |w_t|.
    memory_manifold_size : int, default 64
    memory_decay : float in (0, 1), default 0.995
    output_memory : bool, default False
    output_beta : float in (0, 1), default 0.2
    skip : bool, default True
""" + TRAINING_PARAMETERS_DOC + _ATTRIBUTES_DOC + """
    Notes
    -----
    The default learning rate (0.1) suits the default 100 epochs. For long training lower it:
    on Mackey-Glass, 1000 epochs at 0.1 diverge, at 0.03 they reach NRMSE 0.021-0.043 (seeds 0-4;
    ``bench/learning.py``).

    The workspace has no learned recurrent matrix: its units are leaky integrators coupled only
    through the Hebbian memory Ω. Targets that depend nonlinearly on their own recent history
    suit the cells with one better: on NARMA10 SGW-AMN reaches NRMSE 0.59-0.63 (seeds 0-4, the
    ``bench/learning.py`` setting), DTPN and AMN 0.10 and 0.15.

    The Hebbian read Ω w grows like ``workspace_size`` times |w|², so a workspace that
    saturates can latch: every unit held near ±1 by its own memory, whatever the input. On
    NARMA10, 7 of 74 runs of 500-2000 epochs did so after hundreds of good epochs. The loss then
    jumps and stays at about the level of a linear model, and ``get_workspace_sparsity()`` is
    close to 1; refit with another ``random_state``.
"""

    def __init__(self, hidden_size: int = 32, n_candidates: int = 256, workspace_size: int = 16,
                 k: int = 16, temperature: float = 0.5, workspace_memory: float = 0.98,
                 sparsity: float = 0.01, memory_manifold_size: int = 64,
                 memory_decay: float = 0.995, output_memory: bool = False,
                 output_beta: float = 0.2, skip: bool = True, epochs: int = 100,
                 batch_size: int = 32, bptt: Optional[int] = None,
                 learning_rate: Optional[float] = None, lr_schedule: str = "cosine",
                 optimizer: str = "adamw", momentum: float = 0.9, weight_decay: float = 0.0,
                 clip_norm: Optional[float] = 1.0, validation_fraction: float = 0.0,
                 n_iter_no_change: Optional[int] = None, tol: float = 1e-4, target: str = "auto",
                 warm_start: bool = False, random_state: Any = None,
                 n_threads: Optional[int] = None, verbose: int = 0,
                 callbacks: Optional[List[Callable[..., Any]]] = None) -> None:
        _store_params(self, locals())

    def _cell_kind(self) -> str:
        return "sgw_amn"

    def _cell_settings(self) -> Dict[str, Any]:
        return {"n_candidates": self.n_candidates, "workspace_size": self.workspace_size,
                "k": self.k, "temperature": self.temperature,
                "workspace_memory": self.workspace_memory, "sparsity": self.sparsity,
                "memory_manifold_size": self.memory_manifold_size,
                "memory_decay": self.memory_decay}

    def get_workspace_sparsity(self) -> float:
        """Fraction of the stored workspace entries with |w_i| > 0.1."""
        return float(self.diagnostics["workspace_sparsity"])

    def get_competition_entropy(self) -> float:
        """Mean entropy -Σ π log π of the competition over the last fit/predict call (after
        ``reset_memory()``: at zero input)."""
        return float(self.diagnostics["competition_entropy"])

    @property
    def bottleneck_rate(self) -> float:
        """k / n_candidates."""
        return float(self.diagnostics["bottleneck_rate"])

    def get_workspace_state(self) -> np.ndarray:
        """A copy of the workspace w (workspace_size,) of the stream memory."""
        return self.get_memory_state()["workspace"]
