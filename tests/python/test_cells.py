"""The foundation's guarantees for every kind in the registry (DESIGN §4–§6): layouts, persistence
with stream continuation, determinism across threads, bad input, non-finite detection, memory
reset, and the cells' own members (freezing helpers, AMN's manifold accessors)."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import memnative
from memnative import _lib

KINDS = _lib.kinds()
SMALL = {"amrc": {}, "pmrc": {"use_learnable_gates": True}, "amn": {"memory_manifold_size": 4},
         "dtpn": {"memory_manifold_size": 4}, "hyper_amn": {"memory_manifold_size": 4},
         "sgw_amn": {"n_candidates": 16, "k": 4, "memory_manifold_size": 4}}


def regressor(kind: str, **kw):
    return memnative.MemoryRegressor(cell=kind, cell_params=SMALL.get(kind) or None, hidden_size=6,
                                     epochs=3, random_state=0, **kw)


def stream(n: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    return x, np.tanh(x[:, :2] + 0.5 * np.roll(x[:, :2], 1, axis=0))


def test_every_kind_has_a_dedicated_class() -> None:
    assert set(KINDS) <= {"amrc", "pmrc", "amn"} | set(KINDS)
    for kind in KINDS:
        est = memnative.create_model(kind, hidden_size=4)
        assert est._cell_kind() == kind


@pytest.mark.parametrize("kind", KINDS)
def test_layouts(kind: str) -> None:
    x, y = stream()
    assert regressor(kind).fit(x, y).predict(x).shape == (240, 2)
    seq = x[:200].reshape(20, 10, 3)
    assert regressor(kind).fit(seq, seq.sum(axis=(1, 2))).predict(seq).shape == (20,)
    clf = memnative.MemoryClassifier(cell=kind, hidden_size=6, epochs=3, random_state=0)
    labels = (seq[:, :, 0] > 0).astype(int)
    assert clf.fit(seq, labels).predict_proba(seq).shape == (20, 10, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_persistence_with_stream_continuation(kind: str, tmp_path) -> None:
    x, y = stream(300)
    est = regressor(kind).fit(x[:200], y[:200])
    est.save(tmp_path / "m.mem")
    memory_after_fit = est.get_memory_state()
    for restored in (memnative.load(tmp_path / "m.mem"), pickle.loads(pickle.dumps(est))):
        assert type(restored) is type(est)
        assert np.array_equal(restored.predict(x[200:], reset_memory=False),
                              est.predict(x[200:], reset_memory=False))
        est.set_memory_state(memory_after_fit)  # rewind the original for the next copy
    a, b = pickle.loads(pickle.dumps(est)), pickle.loads(pickle.dumps(est))
    a.partial_fit(x[200:], y[200:])
    b.partial_fit(x[200:], y[200:])
    for name, value in a.parameters_.items():
        assert np.array_equal(value, b.parameters_[name])


@pytest.mark.parametrize("kind", KINDS)
def test_threads_do_not_change_results(kind: str) -> None:
    rng = np.random.default_rng(1)
    # Every cell's step loop above the single-thread threshold (MEM_PARALLEL_MIN_WORK, 2^22
    # operations): AMRC, with no matrix in its step (8 operations per unit and step), needs
    # 4096 steps at hidden 256; the others pass it at 2048 x 128.
    steps, hidden = (4096, 256) if kind == "amrc" else (2048, 128)
    x = rng.standard_normal((steps, 8)).astype(np.float32)
    y = rng.standard_normal((steps, 2))
    kw = dict(cell=kind, cell_params=SMALL.get(kind) or None, hidden_size=hidden, epochs=1,
              random_state=5)
    one = memnative.MemoryRegressor(n_threads=1, **kw).fit(x, y)
    two = memnative.MemoryRegressor(n_threads=2, **kw).fit(x, y)
    assert np.array_equal(one.predict(x), two.predict(x))


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input(kind: str) -> None:
    x, y = stream()
    est = regressor(kind).fit(x, y)
    with pytest.raises(ValueError, match="X has 2 features"):
        est.predict(x[:, :2])
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.predict(bad)
    with pytest.raises(ValueError, match="hidden_size"):
        memnative.MemoryRegressor(cell=kind, hidden_size=0).fit(x, y)


@pytest.mark.parametrize("kind", KINDS)
def test_non_finite_weight_is_reported_and_weights_kept(kind: str) -> None:
    x, y = stream()
    est = regressor(kind, warm_start=True).fit(x, y)
    est.parameters_["W_o"][0, 0] = 1e30
    before = {k: v.copy() for k, v in est.parameters_.items()}
    with pytest.raises(memnative.NumericalError, match=f"{kind}.*step"):
        est.fit(x, y)
    for name, value in est.parameters_.items():
        assert np.array_equal(value, before[name]), name


@pytest.mark.parametrize("kind", KINDS)
def test_reset_memory_clears_every_state(kind: str) -> None:
    x, y = stream()
    est = regressor(kind).fit(x, y)
    assert any(np.abs(v).sum() > 0 for v in est.get_memory_state().values())
    est.reset_memory()
    assert all(np.all(v == 0) for v in est.get_memory_state().values())


# ---- freezing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_frozen_entries_stay_bit_identical(optimizer: str) -> None:
    x, y = stream()
    est = memnative.PMRC(hidden_size=8, use_learnable_gates=True, epochs=2, optimizer=optimizer,
                         warm_start=True, random_state=0).fit(x, y)
    est.freeze_hidden_percentage(0.5)
    est.freeze_memory_gates()
    est.freeze_specific_neurons([2])
    masks = {name: est.frozen_mask(name) for name in est.parameters_}
    before = {k: v.copy() for k, v in est.parameters_.items()}
    est.fit(x, y)
    for name, value in est.parameters_.items():
        assert np.array_equal(value[masks[name]], before[name][masks[name]]), name
        if (~masks[name]).any():
            assert not np.array_equal(value[~masks[name]], before[name][~masks[name]]), name
    # unit 2: its row of W, row and column of U, per-unit values and its readout column
    assert masks["W"][2].all() and masks["U"][2].all() and masks["U"][:, 2].all()
    assert masks["W_o"][:, 2].all() and masks["w_m"][2] and masks["b"][2]


@pytest.mark.parametrize("size", [5, 6, 7, 64])
def test_percentage_freezes_exactly_half_rounded(size: int) -> None:
    x, y = stream()
    est = memnative.PMRC(hidden_size=size, epochs=1, random_state=0).fit(x, y)
    est.freeze_percentage(0.5, layer=None)
    for name, value in est.parameters_.items():
        assert est.count_frozen(name) == int(np.floor(0.5 * value.size + 0.5)), name


def test_magnitude_and_threshold_freezing() -> None:
    x, y = stream()
    est = memnative.PMRC(hidden_size=8, epochs=1, random_state=0).fit(x, y)
    est.freeze_by_magnitude(fraction=0.25, largest=True)
    w = np.abs(est.parameters_["W"]).ravel()
    frozen = est.frozen_mask("W").ravel()
    assert frozen.sum() == 6 and w[frozen].min() >= w[~frozen].max()
    est.unfreeze_all()
    assert est.count_frozen() == 0
    est.freeze_by_magnitude(threshold=0.3, largest=False, layer="output")
    wo = np.abs(est.parameters_["W_o"])
    assert np.array_equal(est.frozen_mask("W_o"), wo < 0.3)
    with pytest.raises(ValueError, match="exactly one"):
        est.freeze_by_magnitude()
    with pytest.raises(ValueError, match="gates"):
        est.freeze_memory_gates()  # gates are off
    with pytest.raises(ValueError, match="fraction"):
        est.freeze_percentage(1.5)


def test_freezing_needs_a_fitted_model_and_masks_are_saved(tmp_path) -> None:
    with pytest.raises(memnative.NotFittedError):
        memnative.PMRC().freeze_hidden_layer()
    x, y = stream()
    est = memnative.PMRC(hidden_size=6, epochs=1, random_state=0).fit(x, y)
    est.freeze_hidden_percentage(0.5)
    est.save(tmp_path / "f.mem")
    loaded = memnative.load(tmp_path / "f.mem")
    for name in est.parameters_:
        assert np.array_equal(loaded.frozen_mask(name), est.frozen_mask(name))


# ---- AMN members ------------------------------------------------------------------------------

def test_amn_members() -> None:
    x, y = stream()
    est = memnative.AMN(hidden_size=6, memory_manifold_size=4, epochs=2, random_state=0).fit(x, y)
    assert est.get_manifold_state().shape == (4, 6)
    assert est.avg_manifold_energy > 0 and est.avg_lru_magnitude > 0
    params = est.parameters_

    def softplus(v):
        return np.logaddexp(0.0, v)

    zero_input = float(np.mean(1.0 / softplus(params["a"].astype(np.float64))))
    est.reset_memory()
    assert est.avg_manifold_energy == 0.0
    assert est.avg_lc_timescale == pytest.approx(zero_input, rel=1e-6)
    # after a call: the mean time constant 1/λ_t over that call's steps and units
    est.predict(x)
    rates = softplus(params["a"].astype(np.float64) + x.astype(np.float64) @ params["W_lambda"].T.astype(np.float64))
    assert est.avg_lc_timescale == pytest.approx(float(np.mean(1.0 / rates)), rel=1e-5)
    assert est.avg_lc_timescale != pytest.approx(zero_input, rel=1e-6)  # W_lambda was trained
    est.reset_manifold()
    assert est.avg_manifold_energy == 0.0 and est.avg_lru_magnitude > 0


# ---- DTPN and Hyper-AMN members ---------------------------------------------------------------

def test_dtpn_members() -> None:
    x, y = stream()
    est = memnative.DTPN(hidden_size=6, memory_manifold_size=4, epochs=2, random_state=0).fit(x, y)
    state = est.get_memory_state()
    assert est.echo_magnitude == pytest.approx(float(np.mean(np.abs(state["e"]))), rel=1e-6)
    assert est.memory_magnitude == pytest.approx(float(np.mean(np.abs(state["n"]))), rel=1e-6)
    assert est.matrix_energy == pytest.approx(float(np.mean(np.abs(state["manifold"]))), rel=1e-6)
    assert est.get_manifold_state().shape == (4, 6) and est.matrix_energy > 0
    est.reset_memory()
    assert est.echo_magnitude == est.memory_magnitude == est.matrix_energy == 0.0


def test_hyper_amn_members_and_array_parameter(tmp_path) -> None:
    x, y = stream()
    est = memnative.HyperAMN(hidden_size=6, memory_manifold_size=4, n_heads=2,
                             memory_decays=[0.9, 0.99], epochs=2, random_state=0)
    assert est.get_params()["memory_decays"] == [0.9, 0.99]
    est.fit(x, y)
    gamma = 1.0 / (1.0 + np.exp(-est.parameters_["gamma_logit"].astype(np.float64)))
    assert gamma.shape == (2,) and np.all(np.abs(gamma - [0.9, 0.99]) < 0.05)  # 2 epochs from init
    assert est.parameters_["U"].shape == (2, 6, 6) and est.parameters_["X"].shape == (2, 2)
    act = est.get_head_activations()
    assert act.shape == (2,) and act.sum() == pytest.approx(1.0) and np.all(act > 0)
    energy = est.get_head_manifold_energy()
    manifold = est.get_memory_state()["manifold"]
    assert manifold.shape == (2, 4, 6)
    assert np.allclose(energy, np.abs(manifold).mean(axis=(1, 2)), rtol=1e-6)
    X = est.parameters_["X"].astype(np.float64)
    assert est.cross_head_flow == pytest.approx(float(np.abs(X[~np.eye(2, dtype=bool)]).mean()))
    assert est.cross_head_flow > 0  # trained away from the identity
    # after reset_memory: the gate at zero input and zero state
    est.reset_memory()
    b = est.parameters_["b_G"].astype(np.float64)
    assert np.allclose(est.get_head_activations(), np.exp(b) / np.exp(b).sum(), rtol=1e-6)
    # the array parameter is saved with the model and comes back in its configuration
    est.save(tmp_path / "h.mem")
    loaded = memnative.load(tmp_path / "h.mem")
    assert loaded.get_params()["memory_decays"] == [0.9, 0.99]
    assert loaded._model_config()["memory_decays"] == pytest.approx([0.9, 0.99])
    assert np.array_equal(loaded.predict(x), est.predict(x))
    # default: None, derived per head in C
    assert memnative.HyperAMN(hidden_size=4, memory_manifold_size=2, epochs=1).fit(
        x, y)._model_config()["memory_decays"] is None
    with pytest.raises(ValueError, match="memory_decays has 3 values; n_heads=2"):
        memnative.HyperAMN(n_heads=2, memory_decays=[0.9, 0.9, 0.9], epochs=1).fit(x, y)
    with pytest.raises(ValueError, match=r"memory_decays\[0\]=1"):
        memnative.HyperAMN(n_heads=1, memory_decays=[1.0], epochs=1).fit(x, y)
    with pytest.raises(ValueError, match="memory_decays"):
        memnative.HyperAMN(memory_decays="0.9", epochs=1).fit(x, y)
    reg = memnative.MemoryRegressor(cell="hyper_amn", hidden_size=4, epochs=1, random_state=0,
                                    cell_params={"n_heads": 1, "memory_decays": [0.5],
                                                 "memory_manifold_size": 2}).fit(x, y)
    assert reg.diagnostics["cross_head_flow"] == 0.0


# ---- NDM members ------------------------------------------------------------------------------

def test_ndm_predict_is_pure_and_consolidate_keeps_the_next_prediction() -> None:
    x, y = stream(200)
    est = memnative.NDM(hidden_size=6, eta=0.5, epochs=2, random_state=0).fit(x, y)
    weights = {k: v.copy() for k, v in est.parameters_.items()}
    first, second = est.predict(x), est.predict(x)
    assert np.array_equal(first, second)
    for name, value in est.parameters_.items():
        assert np.array_equal(value, weights[name]), name
    assert est.get_avg_weight_velocity() > 0 and est.get_avg_plasticity() == pytest.approx(0.1, abs=0.05)
    F = est.get_plastic_weights()
    P = weights["P"][:, None]
    reference = pickle.loads(pickle.dumps(est))
    est.consolidate(0.25)
    w_ref = (weights["W_rec"].astype(np.float64) + 0.25 * (P.astype(np.float64) * F)).astype(np.float32)
    assert np.max(np.abs(est.parameters_["W_rec"].view(np.int32) - w_ref.view(np.int32))) <= 1
    f_ref = (0.75 * F.astype(np.float64)).astype(np.float32)
    assert np.max(np.abs(est.get_plastic_weights().view(np.int32) - f_ref.view(np.int32))) <= 1
    nxt = x[:1]
    assert np.allclose(est.predict(nxt, reset_memory=False), reference.predict(nxt, reset_memory=False),
                       rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="rate"):
        est.consolidate(0.0)


@pytest.mark.parametrize("integrator,dt,substeps", [("euler", 1.5, 1), ("rk4", 2.8, 1), ("rk4", 6.0, 2)])
def test_ndm_step_size_outside_the_stability_range_is_rejected(integrator, dt, substeps) -> None:
    x, y = stream(50)
    with pytest.raises(ValueError, match="stability range"):
        memnative.NDM(hidden_size=4, integrator=integrator, dt=dt, substeps=substeps, epochs=1).fit(x, y)


# ---- SGW-AMN members ---------------------------------------------------------------------------

def test_sgw_amn_answer_depends_on_the_workspace_carrying_across_steps() -> None:
    """With V = 0 the manifold stores nothing (v = tanh(0) = 0), so the only path from an early
    input to a later output is the workspace w and its memory Ω. Two sequences that differ only at
    step 0 must then still differ at the last step, and clearing the carried workspace must make a
    continued stream behave as a fresh one."""
    x, y = stream(120)
    est = memnative.SGWAMN(hidden_size=6, n_candidates=16, workspace_size=4, k=4,
                           memory_manifold_size=4, epochs=2, random_state=0).fit(x, y)
    est.parameters_["V"][...] = 0.0
    rng = np.random.default_rng(3)
    seq = rng.standard_normal((2, 6, 3)).astype(np.float32)
    seq[1, 1:] = seq[0, 1:]
    out = est.predict(seq)
    assert out.shape[:2] == (2, 6)
    assert np.abs(out[0, -1] - out[1, -1]).max() > 1e-4
    est.predict(x[:50])  # leaves a workspace in the stream memory
    state = est.get_memory_state()
    assert np.abs(state["workspace"]).max() > 0 and not np.abs(state["manifold"]).any()
    carried = est.predict(x[50:60], reset_memory=False)
    state["workspace"][...] = 0.0
    state["workspace_memory"][...] = 0.0
    est.set_memory_state(state)
    cleared = est.predict(x[50:60], reset_memory=False)
    assert np.array_equal(cleared, est.predict(x[50:60]))
    assert np.abs(carried[0] - cleared[0]).max() > 1e-4
    assert 0.0 <= est.get_workspace_sparsity() <= 1.0
    assert 0.0 < est.get_competition_entropy() <= np.log(16) + 1e-6
    assert est.bottleneck_rate == pytest.approx(4 / 16)


# ---- random bad input, every kind ---------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_FITTED = {}


def _fitted(kind: str):
    if kind not in _FITTED:
        x, y = stream(120)
        _FITTED[kind] = regressor(kind).fit(x, y)
    return _FITTED[kind]


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40)
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=4),
       fill=st.sampled_from([0.5, np.nan, np.inf, -np.inf, 1e39, -3.0]),
       where=st.integers(0, 10))
def test_random_inputs_raise_or_predict_finite(kind: str, shape, fill: float, where: int) -> None:
    est = _fitted(kind)
    X = np.full(shape, 0.25, dtype=np.float64)
    if X.size:
        X.flat[where % X.size] = fill
    try:
        out = est.predict(X)
    except (ValueError, TypeError):
        return
    assert np.isfinite(np.asarray(out, dtype=np.float64)).all()
    assert len(shape) in (2, 3) and shape[-1] == 3
