"""The torch twins of PMRC and AMN against the C library: same outputs, state, loss and gradients.

As ``test_torch_twin.py`` does for AMRC: a C model is built through the raw binding, its parameters
(perturbed, so that biases are not 0) are copied into the twin by name, and both run the same
random data (a stream from zero memory; sequences of varied lengths with per-step and last-step
targets) over each cell's flags (PMRC: use_recurrent x use_learnable_gates x output_memory, and
cross-entropy; AMN: feedback x skip, cross-entropy, dt = 0.5). Agreement is norm-relative per
tensor, 1e-4, for a float32 and a float64 twin (the C side is float32 either way). The estimators'
``to_torch`` twins predict as the estimators do.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import memnative  # noqa: E402
from memnative import _lib  # noqa: E402
from memnative.torch import AMN, DTPN, NDM, PMRC, SGWAMN, TWINS, HyperAMN  # noqa: E402
from test_torch_twin import (  # noqa: E402  (the generic C-side helpers of the AMRC twin's test)
    Data, _c_loss_gradient, _c_param_table, _c_params, _c_predict, _c_state, _rel)

N_IN, HIDDEN, M_ROWS, N_SEQ, MAX_LEN, STREAM_LEN = 3, 6, 3, 5, 11, 12
TOL = 1e-4
DTYPES = {"float32": torch.float32, "float64": torch.float64}
LAYOUTS = ("stream", "per_step", "last")
TWIN_CLASSES = {"pmrc": PMRC, "amn": AMN, "dtpn": DTPN, "hyper_amn": HyperAMN, "ndm": NDM,
                "sgw_amn": SGWAMN}
#: Every AMN case: a faster manifold than the default 0.995, so that 12 steps exercise gamma.
AMN_BASE = {"memory_manifold_size": M_ROWS, "memory_decay": 0.8}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The tensors here are tiny: torch's intra-op threads only add overhead (30x on a busy
    2-core machine), so this module runs single-threaded and restores the setting after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _make_data(layout: str, loss: str, n_out: int,
               rng: np.random.Generator) -> Tuple[Data, Optional[np.ndarray]]:
    ce = loss == "cross_entropy"
    if layout == "stream":
        x = rng.standard_normal((1, STREAM_LEN, N_IN))
        y = (rng.integers(0, n_out, (1, STREAM_LEN)) if ce
             else rng.standard_normal((1, STREAM_LEN, n_out)))
        return Data(x, y, layout), None
    lengths = rng.integers(1, MAX_LEN + 1, N_SEQ)
    lengths[0], lengths[1] = MAX_LEN, 1  # a full-length and a one-step sequence
    x = rng.standard_normal((N_SEQ, MAX_LEN, N_IN))
    x[np.arange(MAX_LEN)[None, :] >= lengths[:, None]] = np.nan  # padding is never read
    if layout == "last":
        y = rng.integers(0, n_out, N_SEQ) if ce else rng.standard_normal((N_SEQ, n_out))
    else:
        y = (rng.integers(0, n_out, (N_SEQ, MAX_LEN)) if ce
             else rng.standard_normal((N_SEQ, MAX_LEN, n_out)))
    return Data(x, y, layout, lengths), lengths


def _c_model(kind: str, common: Dict[str, Any], cell: Dict[str, Any], n_out: int,
             seed: int) -> Any:
    cfg = _lib.new_config(kind, hidden_size=HIDDEN, seed=seed, **common, **cell)
    return _lib.new_model(cfg, N_IN, n_out)


def _twin(kind: str, common: Dict[str, Any], cell: Dict[str, Any], n_out: int,
          dtype: Any) -> Any:
    return TWIN_CLASSES[kind](N_IN, n_out, hidden_size=HIDDEN, dtype=dtype, **common, **cell)


# ---- the cases ----------------------------------------------------------------------------------

def _pmrc_cases():
    out = []
    for recurrent in (False, True):
        for gates in (False, True):
            for om in (False, True):
                common = {"loss": "mse", "skip": recurrent != gates, "output_memory": om}
                out.append((common, {"use_recurrent": recurrent, "use_learnable_gates": gates}))
    out.append(({"loss": "cross_entropy", "skip": True, "output_memory": True},
                {"use_recurrent": True, "use_learnable_gates": True}))
    out.append(({"loss": "cross_entropy", "skip": False, "output_memory": False},
                {"use_recurrent": True, "use_learnable_gates": False}))
    return [("pmrc",) + case for case in out]


def _amn_cases():
    out = []
    for feedback in (False, True):
        for skip in (False, True):
            out.append(({"loss": "mse", "skip": skip, "output_memory": False},
                        {**AMN_BASE, "feedback": feedback}))
    out.append(({"loss": "cross_entropy", "skip": True, "output_memory": True},
                {**AMN_BASE, "feedback": True}))
    out.append(({"loss": "mse", "skip": True, "output_memory": True},
                {**AMN_BASE, "feedback": True, "dt": 0.5}))
    return [("amn",) + case for case in out]


def _dtpn_cases():
    base = {"memory_manifold_size": M_ROWS, "memory_decay": 0.8}
    out = [({"loss": "mse", "skip": True, "output_memory": False}, dict(base)),
           ({"loss": "cross_entropy", "skip": False, "output_memory": True}, dict(base)),
           ({"loss": "mse", "skip": False, "output_memory": False},
            {**base, "beta": 0.9, "alpha": 0.02, "spread_init": False})]
    return [("dtpn",) + case for case in out]


def _hyper_amn_cases():
    base = {"memory_manifold_size": M_ROWS, "n_heads": 2, "memory_decays": [0.8, 0.7]}
    out = [({"loss": "mse", "skip": True, "output_memory": False}, {**base, "feedback": True}),
           ({"loss": "mse", "skip": False, "output_memory": True}, {**base, "feedback": False}),
           ({"loss": "cross_entropy", "skip": True, "output_memory": False},
            {**base, "n_heads": 3, "memory_decays": [0.8, 0.7, 0.9], "dt": 0.5})]
    return [("hyper_amn",) + case for case in out]


def _ndm_cases():
    """Both integrators with 1 and 3 substeps, both plasticity layouts; eta 0.5 so that F matters."""
    base = {"eta": 0.5}
    out = [({"loss": "mse", "skip": False, "output_memory": False}, {**base, "integrator": "rk4"}),
           ({"loss": "mse", "skip": True, "output_memory": True},
            {**base, "integrator": "rk4", "substeps": 3, "plasticity": "weight"}),
           ({"loss": "cross_entropy", "skip": False, "output_memory": False},
            {**base, "integrator": "euler", "substeps": 3, "dt": 2.0}),
           ({"loss": "mse", "skip": False, "output_memory": False},
            {**base, "integrator": "euler", "plasticity": "weight"})]
    return [("ndm",) + case for case in out]


SGW_BASE = {"n_candidates": 8, "workspace_size": 3, "k": 3, "memory_manifold_size": M_ROWS,
            "memory_decay": 0.8, "sparsity": 0.1}


def _sgw_amn_cases():
    """Small competitions (8 candidates, 3 winners) with a heavy sparsity loss; k = 1 and k = P."""
    out = [({"loss": "mse", "skip": True, "output_memory": False}, dict(SGW_BASE)),
           ({"loss": "cross_entropy", "skip": False, "output_memory": True},
            {**SGW_BASE, "k": 1, "temperature": 2.0}),
           ({"loss": "mse", "skip": False, "output_memory": True},
            {**SGW_BASE, "k": 8, "workspace_memory": 0.5})]
    return [("sgw_amn",) + case for case in out]


CASES = (_pmrc_cases() + _amn_cases() + _dtpn_cases() + _hyper_amn_cases() + _ndm_cases()
         + _sgw_amn_cases())


def _case_id(case) -> str:
    kind, common, cell = case
    flags = [k for k, v in {**common, **cell}.items() if v is True]
    extra = [f"{k}={v}" for k, v in cell.items() if k == "dt"]
    return "-".join([kind, common["loss"]] + flags + extra)


# ---- forward, state, loss and gradients ---------------------------------------------------------

@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_twin_matches_c(case, layout: str, dtype_name: str) -> None:
    kind, common, cell = case
    seed = CASES.index(case) * len(LAYOUTS) + LAYOUTS.index(layout)
    rng = np.random.default_rng(2000 + seed)
    loss = common["loss"]
    n_out = 3 if loss == "cross_entropy" else 2
    model = _c_model(kind, common, cell, n_out, seed)
    params = _c_params(model, rng)
    data, lengths = _make_data(layout, loss, n_out, rng)
    twin = _twin(kind, common, cell, n_out, DTYPES[dtype_name])
    twin.load_parameters(params)
    target = "last" if layout == "last" else "per_step"

    # forward: C predicts probabilities for cross-entropy, 0 past a sequence's length
    c_out = _c_predict(model, data, layout == "last", n_out)
    outputs, state = twin(data.x, lengths=lengths)
    assert outputs.dtype == DTYPES[dtype_name]
    shown = torch.softmax(outputs, dim=-1) if loss == "cross_entropy" else outputs
    if lengths is not None:
        valid = torch.arange(MAX_LEN)[None, :] < torch.as_tensor(lengths)[:, None]
        shown = torch.where(valid[..., None], shown, 0.0)
        assert not outputs[~valid].any()
    if layout == "last":
        shown = shown[torch.arange(N_SEQ), torch.as_tensor(lengths) - 1]
    assert _rel(shown.detach(), c_out) <= TOL

    # a stream leaves the C memory at its end: the twin's final state
    if layout == "stream":
        c_state = _c_state(model)
        assert list(c_state) == list(twin.state_names) and set(state) == set(c_state)
        for name in twin.state_names:
            assert _rel(state[name][0].detach().reshape(-1), c_state[name]) <= TOL, name

    # loss and every parameter's gradient, in the C table's order
    c_loss, c_grad = _c_loss_gradient(model, data)
    twin.zero_grad()
    value = twin.loss(outputs, data.y, lengths=lengths, target=target)
    value.backward()
    assert abs(value.item() - c_loss) <= TOL * abs(c_loss)
    assert list(c_grad) == [name for name, _ in twin.named_parameters()]
    for name, p in twin.named_parameters():
        assert p.grad is not None, name
        assert _rel(p.grad, c_grad[name]) <= TOL, name


@pytest.mark.parametrize("kind,cell", [
    ("pmrc", {"learn_memory": False, "use_recurrent": True, "use_learnable_gates": False}),
    ("dtpn", {"learn_memory": False, "memory_manifold_size": M_ROWS, "memory_decay": 0.8})])
def test_frozen_rates_have_no_gradient_on_either_side(kind: str, cell: Dict[str, Any]) -> None:
    rng = np.random.default_rng(7)
    common = {"loss": "mse", "skip": False, "output_memory": False}
    model = _c_model(kind, common, cell, 2, 3)
    table = _c_param_table(model)
    assert not table["beta_logit"][1] and not table["alpha_logit"][1]
    twin = _twin(kind, common, cell, 2, torch.float64)
    twin.load_parameters(_c_params(model, rng))
    assert not twin.beta_logit.requires_grad and not twin.alpha_logit.requires_grad
    data, lengths = _make_data("per_step", "mse", 2, rng)
    c_loss, c_grad = _c_loss_gradient(model, data)
    outputs, _ = twin(data.x, lengths=lengths)
    twin.loss(outputs, data.y, lengths=lengths).backward()
    for name, p in twin.named_parameters():
        if p.requires_grad:
            assert _rel(p.grad, c_grad[name]) <= TOL, name
        else:
            assert p.grad is None and not c_grad[name].any(), name


@pytest.mark.parametrize("kind,cell", [("pmrc", {"use_learnable_gates": True}),
                                       ("amn", {"memory_manifold_size": M_ROWS}),
                                       ("dtpn", {"memory_manifold_size": M_ROWS}),
                                       ("hyper_amn", {"memory_manifold_size": M_ROWS})])
def test_sequences_hold_their_state_past_their_length(kind: str, cell: Dict[str, Any]) -> None:
    twin = TWIN_CLASSES[kind](N_IN, 2, hidden_size=HIDDEN, output_memory=True,
                              dtype=torch.float64, **cell)
    x = torch.randn(3, 9, N_IN, dtype=torch.float64)
    lengths = [9, 4, 1]
    outputs, state = twin(x, lengths=lengths)
    for b, n in enumerate(lengths):
        alone, alone_state = twin(x[b:b + 1, :n])
        assert torch.allclose(outputs[b, :n], alone[0], rtol=0, atol=1e-13)
        assert not outputs[b, n:].any()
        for name in twin.state_names:
            assert torch.allclose(state[name][b], alone_state[name][0], rtol=0, atol=1e-13), name


def test_amn_stream_continues_from_its_state() -> None:
    twin = AMN(N_IN, 2, hidden_size=HIDDEN, memory_manifold_size=M_ROWS, output_memory=True,
               dtype=torch.float64)
    x = torch.randn(1, STREAM_LEN, N_IN, dtype=torch.float64)
    whole, _ = twin(x)
    first, state = twin(x[:, :5])
    assert tuple(state["manifold"].shape) == (1, M_ROWS, HIDDEN)
    one_lane = {k: v[0] for k, v in state.items()}  # (M, H) and (H,) states for every lane
    second, _ = twin(x[:, 5:], state=one_lane)
    assert _rel(torch.cat([first, second], dim=1).detach(), whole.detach()) <= 1e-12


# ---- the module's contract ----------------------------------------------------------------------

TABLE_CASES = [("pmrc", {"use_recurrent": r, "use_learnable_gates": g})
               for r in (False, True) for g in (False, True)]
TABLE_CASES += [("amn", {"memory_manifold_size": M_ROWS, "feedback": f}) for f in (False, True)]
TABLE_CASES += [("dtpn", {"memory_manifold_size": M_ROWS, "learn_memory": lm}) for lm in (False, True)]
TABLE_CASES += [("hyper_amn", {"memory_manifold_size": M_ROWS, "feedback": f}) for f in (False, True)]
TABLE_CASES += [("ndm", {"plasticity": p}) for p in ("neuron", "weight")]
TABLE_CASES += [("sgw_amn", dict(SGW_BASE))]


@pytest.mark.parametrize("kind,cell", TABLE_CASES)
def test_parameter_names_and_shapes_are_the_c_table(kind: str, cell: Dict[str, Any]) -> None:
    common = {"loss": "mse", "skip": True, "output_memory": True}
    model = _c_model(kind, common, cell, 2, 0)
    c_table = {name: view.shape for name, (view, _) in _c_param_table(model).items()}
    twin = _twin(kind, common, cell, 2, torch.float32)
    assert [(n, tuple(p.shape)) for n, p in twin.named_parameters()] == list(c_table.items())
    assert list(twin.state_names) == list(_c_state(model))
    assert TWINS[kind] is TWIN_CLASSES[kind]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="beta"):
        PMRC(N_IN, 2, beta=0.0)
    with pytest.raises(ValueError, match="lru_min"):
        AMN(N_IN, 2, lru_min=0.9, lru_max=0.5)
    with pytest.raises(ValueError, match="dt"):
        AMN(N_IN, 2, dt=0.0)
    with pytest.raises(ValueError, match="memory_manifold_size"):
        AMN(N_IN, 2, memory_manifold_size=0)
    twin = AMN(N_IN, 2, hidden_size=4, memory_manifold_size=2)
    with pytest.raises(ValueError, match="manifold"):
        twin(torch.zeros(1, 3, N_IN), state={"s": torch.zeros(4), "lru": torch.zeros(4),
                                             "manifold": torch.zeros(3, 4)})


# ---- the estimators' bridge ---------------------------------------------------------------------

def _stream(n: int = 60, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, N_IN)).astype(np.float32)
    return x, np.tanh(x[:, :2] + 0.5 * np.roll(x[:, :2], 1, axis=0))


@pytest.mark.parametrize("est", [
    lambda: memnative.PMRC(hidden_size=HIDDEN, use_learnable_gates=True, use_output_memory=True,
                           skip=True, beta=0.4, epochs=2, random_state=0),
    lambda: memnative.PMRC(hidden_size=HIDDEN, use_recurrent=False, epochs=2, random_state=1),
    lambda: memnative.AMN(hidden_size=HIDDEN, memory_manifold_size=M_ROWS, dt=0.5,
                          memory_decay=0.9, feedback=False, output_memory=True, epochs=2,
                          random_state=2),
    lambda: memnative.DTPN(hidden_size=HIDDEN, memory_manifold_size=M_ROWS, memory_decay=0.9,
                           output_memory=True, epochs=2, random_state=3),
    lambda: memnative.HyperAMN(hidden_size=HIDDEN, memory_manifold_size=M_ROWS, n_heads=2,
                               memory_decays=(0.9, 0.8), output_memory=True, epochs=2,
                               random_state=4),
    lambda: memnative.NDM(hidden_size=HIDDEN, integrator="euler", substeps=2, eta=0.5,
                          plasticity="weight", epochs=2, random_state=5),
    lambda: memnative.SGWAMN(hidden_size=HIDDEN, n_candidates=8, workspace_size=3, k=3,
                             memory_manifold_size=M_ROWS, memory_decay=0.8, epochs=2, random_state=6),
], ids=["pmrc-gates", "pmrc-plain", "amn", "dtpn", "hyper_amn", "ndm", "sgw_amn"])
def test_to_torch_round_trip_predicts_like_the_estimator(est) -> None:
    x, y = _stream()
    est = est().fit(x, y)
    for dtype in (torch.float32, torch.float64):
        twin = est.to_torch(dtype=dtype)
        assert type(twin) is TWINS[est._cell_kind()]
        out, _ = twin(torch.as_tensor(x[None]))
        assert _rel(out[0].detach(), est.predict(x)) <= TOL
    seq = x[:60].reshape(6, 10, N_IN)
    out, _ = twin(torch.as_tensor(seq))
    assert _rel(out.detach(), est.predict(seq)) <= TOL  # sequences: per-step predictions
