"""Neuron permutation, matching and merging of memnative models (spec/merge-and-continual.md §3),
for every kind in libmem's registry."""
from __future__ import annotations

import copy
from typing import Dict, Tuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memnative
from memnative import align
from memnative._match import _param_table
from memnative._lib import kinds

KINDS = kinds()
_CACHE: Dict[Tuple[str, int, int], object] = {}


def _data(n: int = 80, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = np.sin(0.4 * np.cumsum(X[:, :2], axis=0)).astype(np.float32)
    return X, y


def _model(kind: str, seed: int = 0, hidden: int = 6):
    """A small fitted model (cached; callers copy before changing it)."""
    key = (kind, seed, hidden)
    if key not in _CACHE:
        X, y = _data()
        _CACHE[key] = memnative.create_model(kind, hidden_size=hidden, epochs=3,
                                             random_state=seed).fit(X, y)
    return copy.deepcopy(_CACHE[key])


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=4)
@given(seed=st.integers(0, 2**31 - 1))
def test_permute_keeps_predictions(kind: str, seed: int) -> None:
    model = _model(kind)
    X, _ = _data(60, seed=1)
    rng = np.random.default_rng(seed)
    axes = align.permutable_axes(model)
    assert axes["H"] == 6
    perm = {axis: rng.permutation(n) for axis, n in axes.items()}
    before = copy.deepcopy(model).predict(X)
    moved = align.permute(model, perm)
    assert _rel(before, moved.predict(X)) <= 1e-5
    # a stream with carried state: the memory is permuted with the weights
    model.predict(X[:30])
    moved = align.permute(model, perm)
    assert _rel(model.predict(X[30:], reset_memory=False), moved.predict(X[30:], reset_memory=False)) <= 1e-5
    # every tensor with a permuted axis moved as x[perm]
    p, q = model.parameters_, moved.parameters_
    for t in _param_table(model):
        expect = p[t.name]
        for k, tag in enumerate(t.axes):
            if tag in perm and t.permutable[k]:
                expect = np.take(expect, perm[tag], axis=k)
        np.testing.assert_array_equal(q[t.name], expect)


def test_permute_moves_freeze_masks_and_rejects_bad_input() -> None:
    model = _model("pmrc")
    model.freeze_specific_neurons([1])
    perm = np.array([1, 0, 2, 3, 4, 5])
    moved = align.permute(model, {"H": perm})
    X, y = _data()
    w_before = moved.parameters_["W"].copy()
    moved.set_params(warm_start=True).fit(X, y, epochs=1)
    np.testing.assert_array_equal(moved.parameters_["W"][0], w_before[0])  # unit 1 now sits at 0
    assert not np.array_equal(moved.parameters_["W"][1], w_before[1])
    with pytest.raises(ValueError, match="not a permutable axis"):
        align.permute(model, {"O": [0, 1]})
    with pytest.raises(ValueError, match="permutation"):
        align.permute(model, {"H": [0, 0, 1, 2, 3, 4]})
    with pytest.raises(ValueError, match="units"):
        align.permute(model, {"H": [0, 1]})
    with pytest.raises(ValueError, match="integers"):
        align.permute(model, {"H": np.arange(6.0)})


def test_hidden_states() -> None:
    model = _model("amn")
    X, _ = _data(40, seed=2)
    states = model.hidden_states(X)
    assert states["s"].shape == (40, 6) and states["manifold"].shape == (40, 64, 6)
    memory = model.get_memory_state()  # left at the end of X, as predict does
    for name, value in memory.items():
        np.testing.assert_allclose(states[name][-1], value, rtol=1e-5, atol=1e-6)
    # continuing the memory: the second half continues where the first ended
    first = model.hidden_states(X[:20])
    second = model.hidden_states(X[20:], reset_memory=False)
    np.testing.assert_allclose(np.concatenate([first["s"], second["s"]]), states["s"], rtol=1e-4, atol=1e-5)
    seqs = model.hidden_states(np.stack([X[:10], X[10:20]]))
    assert seqs["lru"].shape == (2, 10, 6)
    np.testing.assert_allclose(seqs["lru"][0], states["lru"][:10], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="reset_memory"):
        model.hidden_states(np.stack([X[:10], X[10:20]]), reset_memory=False)
    with pytest.raises(memnative.NotFittedError):
        memnative.AMN().hidden_states(X)


@pytest.mark.parametrize("method", ["activations", "weights"])
@pytest.mark.parametrize("kind", KINDS)
def test_match_neurons_recovers_a_permutation(kind: str, method: str) -> None:
    a = _model(kind)
    X, _ = _data(60, seed=3)
    rng = np.random.default_rng(5)
    perm = {axis: rng.permutation(n) for axis, n in align.permutable_axes(a).items()}
    b = align.permute(a, perm)
    found = align.match_neurons(a, b, X, method=method)
    assert set(found) == set(perm)
    back = align.permute(b, found)
    for name, value in a.parameters_.items():  # the known permutation (its inverse), exactly
        np.testing.assert_array_equal(back.parameters_[name], value, err_msg=name)


@pytest.mark.parametrize("kind", ["pmrc", "amn", "ndm"])
def test_weight_matching_objective_never_decreases(kind: str) -> None:
    a, b = _model(kind, seed=0), _model(kind, seed=1)
    perm, history = align.match_neurons(a, b, method="weights", random_state=3, return_history=True)
    assert len(history) >= 2  # independently trained: the identity is not the best match
    assert all(y > x for x, y in zip(history, history[1:]))
    assert history[-1] == pytest.approx(align.weight_matching_objective(a, b, perm), rel=1e-12)
    identity = {axis: np.arange(n) for axis, n in align.permutable_axes(b).items()}
    assert history[0] == pytest.approx(align.weight_matching_objective(a, b, identity), rel=1e-12)


def test_match_neurons_rejects_bad_input() -> None:
    a, b = _model("amrc"), _model("pmrc")
    with pytest.raises(ValueError, match="different kinds"):
        align.match_neurons(a, b, method="weights")
    with pytest.raises(ValueError, match="needs probe inputs"):
        align.match_neurons(a, a)
    with pytest.raises(ValueError, match="method"):
        align.match_neurons(a, a, method="cosine")
    with pytest.raises(ValueError, match="at least as wide"):
        align.match_neurons(_model("amrc", hidden=9), a, method="weights")


def test_merge_methods_on_exact_cases() -> None:
    a, b = _model("pmrc", seed=0), _model("pmrc", seed=1)
    X, y = _data()
    # a model merged with a permuted copy of itself is itself (alignment undoes the permutation)
    twin = align.permute(a, {"H": np.random.default_rng(0).permutation(6)})
    for how in ("weights", "activations"):
        merged, report = align.merge([a, twin], align=how, X=X, validate=[(X, y), (X, y)])
        assert not report.reverted and report.returned_source is None
        for s in report.sources:
            assert s.score_after == pytest.approx(s.score_before, rel=1e-5)
        np.testing.assert_allclose(merged.parameters_["U"], a.parameters_["U"], rtol=1e-6, atol=1e-7)
    # task arithmetic and TIES with one task vector at full density give that model back
    for method in ("task_arithmetic", "ties"):
        merged, _ = align.merge([b], method=method, base=a, align=None, density=1.0)
        for name, value in b.parameters_.items():
            np.testing.assert_allclose(merged.parameters_[name], value, rtol=1e-6, atol=1e-6)
    merged, _ = align.merge([a, b], method="task_arithmetic", base=a, weights=[0.0, 0.5], align=None)
    np.testing.assert_allclose(merged.parameters_["W"],
                               0.5 * (a.parameters_["W"] + b.parameters_["W"]), rtol=1e-6, atol=1e-6)
    # naive averaging is the mean of the tensors; the merged model starts from zero memory
    merged, _ = align.merge([a, b], weights=[3, 1], align=None)
    np.testing.assert_allclose(merged.parameters_["b"], 0.75 * a.parameters_["b"] + 0.25 * b.parameters_["b"],
                               rtol=1e-6, atol=1e-7)
    assert all(not v.any() for v in merged.get_memory_state().values())


def test_ties_trims_elects_and_averages() -> None:
    base = _model("amrc", seed=0)
    ones = copy.deepcopy(base)
    minus = copy.deepcopy(base)
    for name in base.parameters_:
        ones.parameters_[name][...] += 1.0
        minus.parameters_[name][...] -= 0.5
    minus.parameters_["b"][0] -= 10.0  # the one entry where the negative side wins the election
    merged, _ = align.merge([ones, minus, ones], method="ties", base=base, align=None, density=1.0)
    delta = merged.parameters_["b"] - base.parameters_["b"]
    np.testing.assert_allclose(delta[0], -10.5, rtol=1e-5)
    np.testing.assert_allclose(delta[1:], 1.0, rtol=1e-5)
    # density: only the largest task-vector entries survive
    merged, _ = align.merge([minus], method="ties", base=base, align=None, density=0.01)
    changed = sum(int((merged.parameters_[n] != base.parameters_[n]).sum()) for n in base.parameters_)
    total = sum(v.size for v in base.parameters_.values())
    assert changed == int(np.floor(0.01 * total + 0.5))


def test_zip_merge_of_different_widths() -> None:
    narrow = _model("amrc", seed=0, hidden=6)
    wide = _model("amrc", seed=1, hidden=9)
    X, y = _data()
    # embed the narrow model in units 0..5 of the wide one; the 3 extra units do not reach the output
    for name, value in narrow.parameters_.items():
        view = wide.parameters_[name]
        if name == "W_o":
            view[:, :6], view[:, 6:] = value, 0.0
        elif name == "b_o":
            view[...] = value
        else:
            view[:6] = value
    shuffled = align.permute(wide, {"H": np.random.default_rng(2).permutation(9)})
    merged, report = align.merge([narrow, shuffled], align="activations", X=X, validate=[(X, y), (X, y)])
    assert merged.parameters_["W"].shape == (9, 3)
    assert not report.reverted
    np.testing.assert_allclose(merged.predict(X), narrow.predict(X), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="different widths need alignment"):
        align.merge([narrow, wide], align=None)
    with pytest.raises(ValueError, match="as wide as the base"):
        align.merge([wide], method="ties", base=narrow, align=None)


def test_quality_control_reverts_a_degrading_merge() -> None:
    X, _ = _data(120, seed=4)
    y_a = np.sin(0.4 * np.cumsum(X[:, :2], axis=0)).astype(np.float32)
    y_b = -np.roll(X[:, :2], 3, axis=0).astype(np.float32)  # another task on the same inputs
    a = memnative.PMRC(hidden_size=8, epochs=30, random_state=0).fit(X, y_a)
    b = memnative.PMRC(hidden_size=8, epochs=30, random_state=1).fit(X, y_b)
    merged, report = align.merge([a, b], validate=[(X, y_a), (X, y_b)], tolerance=0.02)
    assert report.reverted
    assert any(s.degraded and s.degradation > 0.02 for s in report.sources)
    assert "degraded" in report.reason and "REVERTED" in str(report)
    # the best source is returned: each model is best on its own task, so the one with the
    # higher mean score over both validation sets
    means = [np.mean([copy.deepcopy(m).score(X, y_a), copy.deepcopy(m).score(X, y_b)]) for m in (a, b)]
    assert report.returned_source == int(np.argmax(means))
    np.testing.assert_array_equal(merged.parameters_["U"], (a, b)[int(np.argmax(means))].parameters_["U"])
    assert [s.score_before for s in report.sources] == pytest.approx([a.score(X, y_a), b.score(X, y_b)])
    # a generous tolerance keeps the same merge
    _, kept = align.merge([a, b], validate=[(X, y_a), (X, y_b)], tolerance=1e9)
    assert not kept.reverted


def test_merge_rejects_bad_input() -> None:
    a, b = _model("pmrc", seed=0), _model("pmrc", seed=1)
    X, y = _data()
    with pytest.raises(ValueError, match="method"):
        align.merge([a, b], method="median")
    with pytest.raises(ValueError, match="needs the common base"):
        align.merge([a, b], method="task_arithmetic")
    with pytest.raises(ValueError, match="one \\(X, y\\) per model"):
        align.merge([a, b], validate=[(X, y)])
    with pytest.raises(ValueError, match="weights"):
        align.merge([a, b], weights=[1.0])
    with pytest.raises(ValueError, match="non-negative"):
        align.merge([a, b], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="different kinds"):
        align.merge([a, _model("amrc")])
    with pytest.raises(ValueError, match="align"):
        align.merge([a, b], align="magic")
    with pytest.raises(ValueError, match="density"):
        align.merge([a], method="ties", base=b, density=0.0)
