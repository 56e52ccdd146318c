"""memnative.align: the assignment solver against scipy (optimal totals on >= 1000 random problems,
hypothesis properties, scipy's exception types for scipy's bad inputs), CKA properties and
references, RSA and SVCCA sanity."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from memnative import align

scipy_optimize = pytest.importorskip("scipy.optimize")
scipy_stats = pytest.importorskip("scipy.stats")
scipy_lsa = scipy_optimize.linear_sum_assignment


def _outcome(fn, cost, maximize):
    """('ok', optimal total) or ('error', exception type)."""
    try:
        r, c = fn(cost, maximize=maximize)
    except (ValueError, TypeError) as exc:
        return "error", type(exc), str(exc)
    a = np.asarray(cost, dtype=np.float64)
    assert r.dtype == np.int64 and c.dtype == np.int64
    assert r.shape == c.shape == (min(a.shape),)
    assert np.all(np.diff(r) > 0)
    assert len(set(c.tolist())) == c.size
    return "ok", float(a[r, c].sum()) if r.size else 0.0, ""


def _same(cost, maximize):
    ours = _outcome(align.linear_sum_assignment, cost, maximize)
    ref = _outcome(scipy_lsa, cost, maximize)
    assert ours[0] == ref[0], (ours, ref)
    if ours[0] == "ok":
        assert ours[1] == pytest.approx(ref[1], rel=1e-9, abs=1e-9)
    else:
        assert ours[1] is ref[1], (ours, ref)
        if "infeasible" in ref[2]:
            assert "cost matrix is infeasible" in ours[2]
    return ours[0]


# ---- assignment ----------------------------------------------------------------------------------

def test_agrees_with_scipy_on_1200_random_problems():
    rng = np.random.default_rng(20261123)
    outcomes = {"ok": 0, "error": 0}
    for t in range(1200):
        n_rows, n_cols = rng.integers(1, 16, size=2)
        if t % 3 == 0:
            n_cols = n_rows
        kind = t % 4
        if kind == 0:
            cost = rng.random((n_rows, n_cols))
        elif kind == 1:
            cost = rng.integers(0, 4, (n_rows, n_cols))  # many ties
        elif kind == 2:
            cost = rng.integers(-1000, 1000, (n_rows, n_cols)).astype(np.float64)
        else:
            cost = rng.normal(size=(n_rows, n_cols)) * 1e3
        maximize = bool((t // 4) % 2)
        if t % 5 in (1, 2, 3):  # forbidden pairs, sometimes enough to make it infeasible
            cost = cost.astype(np.float64)
            cost[rng.random(cost.shape) < 0.2 * (t % 5)] = -np.inf if maximize else np.inf
        outcomes[_same(cost, maximize)] += 1
    assert outcomes["ok"] > 900 and outcomes["error"] > 20, outcomes


def test_larger_problems_agree_with_scipy():
    rng = np.random.default_rng(5)
    for shape in [(200, 200), (150, 260), (260, 150), (300, 300)]:
        for maximize in (False, True):
            cost = rng.random(shape)
            cost[rng.random(shape) < 0.3] = -np.inf if maximize else np.inf
            _same(cost, maximize)
            _same(np.floor(cost * 5), maximize)


_values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-5, 5).map(float),
    st.just(float("inf")),
)


@settings(max_examples=150)
@given(cost=arrays(np.float64, st.tuples(st.integers(0, 9), st.integers(0, 9)), elements=_values),
       maximize=st.booleans())
def test_hypothesis_matches_scipy(cost, maximize):
    if maximize:
        cost = np.where(np.isinf(cost), -np.inf, cost)
    _same(cost, maximize)


@settings(max_examples=60)
@given(cost=arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 8)),
                   elements=st.floats(-100, 100, allow_nan=False)))
def test_hypothesis_properties(cost):
    r, c = align.linear_sum_assignment(cost)
    rt, ct = align.linear_sum_assignment(cost.T)
    # transposing gives the same optimum, and maximizing is minimizing the negation
    assert cost[r, c].sum() == pytest.approx(cost.T[rt, ct].sum(), abs=1e-9)
    rm, cm = align.linear_sum_assignment(cost, maximize=True)
    rn, cn = align.linear_sum_assignment(-cost)
    assert cost[rm, cm].sum() == pytest.approx(cost[rn, cn].sum(), abs=1e-9)
    # adding a constant to a row does not change a square problem's optimal pairs' total shift
    if cost.shape[0] == cost.shape[1]:
        shifted = cost + np.arange(cost.shape[0])[:, None]
        rs, cs = align.linear_sum_assignment(shifted)
        assert shifted[rs, cs].sum() == pytest.approx(cost[r, c].sum() + cost.shape[0] * (cost.shape[0] - 1) / 2,
                                                      abs=1e-9)


BAD_INPUTS = [
    np.zeros((2, 2, 2)),
    np.zeros(3),
    np.float64(3.0),
    None,
    "ab",
    np.array([["a", "b"], ["c", "d"]]),
    np.array([[1, 2]], dtype=object),
    np.array([[1 + 1j, 2]]),
    np.array([[np.datetime64("2020-01-01")]]),
    [[1, 2], [3]],
    np.array([[1.0, np.nan]]),
    np.array([[1.0, -np.inf]]),
    np.array([[np.inf, np.inf], [1.0, 2.0]]),
    np.array([[np.inf, 1.0], [np.inf, 2.0]]),
    np.array([[1.0, np.inf], [2.0, np.inf], [3.0, np.inf]]),
]


@pytest.mark.parametrize("cost", BAD_INPUTS, ids=range(len(BAD_INPUTS)))
@pytest.mark.parametrize("maximize", [False, True])
def test_bad_inputs_raise_scipys_exception_types(cost, maximize):
    try:
        scipy_lsa(cost, maximize=maximize)
    except (ValueError, TypeError) as exc:
        ref = exc
    else:  # e.g. -inf is a forbidden pair when maximizing: both must solve it alike
        _same(cost, maximize)
        return
    with pytest.raises(type(ref)) as ours:
        align.linear_sum_assignment(cost, maximize=maximize)
    assert type(ours.value) is type(ref)
    if "infeasible" in str(ref):
        assert "cost matrix is infeasible" in str(ours.value)
    if "invalid numeric entries" in str(ref):
        assert "invalid numeric entries" in str(ours.value)


def test_plus_inf_when_maximizing_is_rejected_like_scipy():
    cost = np.array([[1.0, np.inf], [2.0, 3.0]])
    with pytest.raises(ValueError):
        scipy_lsa(cost, maximize=True)
    with pytest.raises(ValueError, match="invalid numeric entries"):
        align.linear_sum_assignment(cost, maximize=True)


@pytest.mark.parametrize("cost", [
    [[1, 2], [3, 0]],
    np.array([[True, False], [False, True]]),
    np.array([[4, 1, 3], [2, 0, 5]], dtype=np.int8),
    np.array([[4, 1, 3], [2, 0, 5]], dtype=np.uint64),
    np.array([[4, 1, 3], [2, 0, 5]], dtype=np.float32),
    np.asfortranarray(np.arange(12.0).reshape(3, 4) % 5),
])
@pytest.mark.parametrize("maximize", [False, True])
def test_converted_inputs_match_scipy(cost, maximize):
    _same(cost, maximize)


@pytest.mark.parametrize("shape", [(0, 0), (2, 0), (0, 3)])
def test_empty(shape):
    r, c = align.linear_sum_assignment(np.zeros(shape))
    assert r.shape == c.shape == (0,) and r.dtype == c.dtype == np.int64


def test_scipy_handmade_cases():
    inf = np.inf
    cases = [
        ([[400, 150, 400], [400, 450, 600], [300, 225, 300]], [150, 400, 300]),
        ([[400, 150, 400, 1], [400, 450, 600, 2], [300, 225, 300, 3]], [150, 2, 300]),
        ([[10, 10, 8], [9, 8, 1], [9, 7, 4]], [10, 1, 7]),
        ([[10, 10, 8, 11], [9, 8, 1, 1], [9, 7, 4, 10]], [10, 1, 4]),
        ([[10, inf, inf], [inf, inf, 1], [inf, 7, inf]], [10, 1, 7]),
    ]
    for cost, expected in cases:
        cost = np.array(cost, dtype=float)
        for c in (cost, cost.T):
            r, k = align.linear_sum_assignment(c)
            assert sorted(c[r, k].tolist()) == sorted(expected)


# ---- CKA -----------------------------------------------------------------------------------------

def _cka_ref(X, Y):
    X = np.asarray(X, np.float64) - np.mean(X, axis=0, dtype=np.float64)
    Y = np.asarray(Y, np.float64) - np.mean(Y, axis=0, dtype=np.float64)
    return np.linalg.norm(Y.T @ X) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))


def _kornblith_pair():
    rs = np.random.RandomState(1337)
    X = rs.randn(100, 10)
    Y = rs.randn(100, 10) + X
    return X, Y


def test_cka_published_values():
    """Values of the CKA paper's demo notebook (google-research/representation_similarity)."""
    X, Y = _kornblith_pair()
    assert align.cka(X, Y) == pytest.approx(0.55761, abs=1e-5)
    assert align.cka(X, Y, kernel="rbf", sigma=0.5) == pytest.approx(0.65483, abs=1e-5)
    assert align.cka(X, Y, debiased=True) == pytest.approx(0.51346, abs=1e-5)


@pytest.mark.parametrize("shape", [(50, 7, 3), (300, 40, 64), (64, 100, 90), (700, 130, 260)])
def test_cka_matches_float64_reference(shape):
    n, d1, d2 = shape
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, d1)).astype(np.float32) + 3.0
    Y = (X[:, : min(d1, d2)] @ rng.standard_normal((min(d1, d2), d2))).astype(np.float32)
    Y += rng.standard_normal((n, d2)).astype(np.float32)
    assert abs(align.cka(X, Y) - _cka_ref(X, Y)) < 1e-6


def test_cka_properties():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 12))
    Y = X @ rng.standard_normal((12, 9)) + 0.5 * rng.standard_normal((120, 9))
    base = align.cka(X, Y)
    assert 0.0 <= base <= 1.0
    assert align.cka(X, X) == pytest.approx(1.0, abs=1e-6)
    assert align.cka(Y, X) == pytest.approx(base, abs=1e-7)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    assert align.cka(X @ Q, Y) == pytest.approx(base, abs=1e-6)
    assert align.cka(X * 7.5, Y) == pytest.approx(base, abs=1e-6)
    assert align.cka(X + 4.0, Y - 2.0) == pytest.approx(base, abs=1e-6)
    aniso = np.diag(np.linspace(0.1, 10.0, 12))
    assert abs(align.cka(X @ aniso, Y) - base) > 1e-3
    for kernel, debiased in [("rbf", False), ("linear", True), ("rbf", True)]:
        v = align.cka(X, Y, kernel=kernel, debiased=debiased)
        assert -0.05 <= v <= 1.0
        assert align.cka(X, X, kernel=kernel, debiased=debiased) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("scale", [1e-40, 1e-25, 1e20, 3e37])
def test_cka_any_finite_magnitude(scale):
    """CKA does not change under isotropic scaling, so inputs whose float32 products would overflow
    or underflow (|x| beyond about 2^+-63) still give the unit-scale value: libmem scales each input
    by a power of two before the products. Feature form, Gram form, RBF and debiased."""
    rng = np.random.default_rng(5)
    for n, d in ((200, 6), (20, 30)):
        X = rng.standard_normal((n, d)).astype(np.float32)
        Y = (X[:, :3] @ rng.standard_normal((3, d)) + rng.standard_normal((n, d))).astype(np.float32)
        Xs = (X.astype(np.float64) * scale).astype(np.float32)
        for kw in ({}, {"kernel": "rbf"}, {"debiased": True}):
            expected = align.cka(X, Y, **kw)
            tol = 1e-4 if scale < 1e-38 else 1e-6  # denormal inputs keep fewer bits
            assert align.cka(Xs, Y, **kw) == pytest.approx(expected, abs=tol), kw
            assert align.cka(Xs, Xs, **kw) == pytest.approx(1.0, abs=tol), kw


@pytest.mark.parametrize("layout", ["sorted", "step", "trend", "outlier"])
def test_cka_offsets_and_orderings(layout):
    """Columns far from zero, in orders that a sample of rows could misjudge (sorted, a step, a
    trend, one outlier row): within 1e-6 of the float64 reference."""
    rng = np.random.default_rng(6)
    n, d1, d2 = 3000, 24, 30
    X = rng.standard_normal((n, d1)).astype(np.float32)
    if layout == "sorted":
        X = np.sort(X, axis=0)
    elif layout == "step":
        X[: n // 3] += 40.0
    elif layout == "trend":
        X += np.linspace(0.0, 25.0, n, dtype=np.float32)[:, None]
    else:
        X[1234] = 500.0
    Y = (X @ rng.standard_normal((d1, d2)) * 0.1 + rng.standard_normal((n, d2))).astype(np.float32)
    X += (1e4 * np.arange(1, d1 + 1)).astype(np.float32)
    for A, B in ((X, Y), (X[:40], Y[:40])):  # feature form and Gram form
        assert abs(align.cka(A, B) - _cka_ref(A, B)) < 1e-6


@settings(max_examples=25)
@given(n=st.integers(4, 40), d1=st.integers(1, 6), d2=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_cka_hypothesis(n, d1, d2, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d1)).astype(np.float32)
    Y = rng.standard_normal((n, d2)).astype(np.float32)
    v = align.cka(X, Y)
    assert 0.0 <= v <= 1.0 + 1e-9
    assert v == pytest.approx(align.cka(Y, X), abs=1e-9)
    assert abs(v - _cka_ref(X, Y)) < 1e-6


def test_cka_same_bits_for_any_thread_count():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((900, 300)).astype(np.float32)
    Y = rng.standard_normal((900, 200)).astype(np.float32)
    assert align.cka(X, Y, n_threads=1) == align.cka(X, Y, n_threads=2)
    assert align.rsa(X[:300], Y[:300], n_threads=1) == align.rsa(X[:300], Y[:300], n_threads=2)


def test_cka_bad_input():
    X = np.ones((10, 3))
    with pytest.raises(ValueError, match="no variation"):
        align.cka(X, np.random.default_rng(0).standard_normal((10, 2)))
    with pytest.raises(ValueError, match="same number of rows"):
        align.cka(np.zeros((4, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="not finite"):
        align.cka(np.array([[1.0, np.nan], [0, 1], [2, 2]]), np.eye(3)[:, :2])
    with pytest.raises(ValueError, match="kernel"):
        align.cka(np.eye(3), np.eye(3), kernel="cosine")
    with pytest.raises(ValueError, match="sigma"):
        align.cka(np.eye(3), np.eye(3), kernel="rbf", sigma=0.0)
    with pytest.raises(ValueError, match="2-D"):
        align.cka(np.zeros(5), np.zeros(5))


# ---- RSA and SVCCA -------------------------------------------------------------------------------

def _rsa_ref(X, Y, method):
    def tri(A):
        R = 1.0 - np.corrcoef(np.asarray(A, np.float64))
        return np.round(R[np.triu_indices(len(A), 1)], 12)  # exact ties stay ties
    if method == "spearman":
        return scipy_stats.spearmanr(tri(X), tri(Y))[0]
    return np.corrcoef(tri(X), tri(Y))[0, 1]


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_rsa(method):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 8)).astype(np.float32)
    Y = (X @ rng.standard_normal((8, 5)) + 0.7 * rng.standard_normal((60, 5))).astype(np.float32)
    assert align.rsa(X, Y, method=method) == pytest.approx(_rsa_ref(X, Y, method), abs=1e-6)
    assert align.rsa(X, X, method=method) == pytest.approx(1.0, abs=1e-9)
    assert align.rsa(X, Y, method=method) == pytest.approx(align.rsa(Y, X, method=method), abs=1e-12)
    # ties (duplicated inputs give equal dissimilarities) use average ranks, like scipy
    Xi, Yi = np.repeat(X[:20], 3, axis=0), np.repeat(Y[:20], 3, axis=0)
    assert align.rsa(Xi, Yi, method=method) == pytest.approx(_rsa_ref(Xi, Yi, method), abs=1e-6)
    with pytest.raises(ValueError, match="constant"):
        align.rsa(np.ones((5, 3)), Y[:5], method=method)
    with pytest.raises(ValueError, match="method"):
        align.rsa(X, Y, method="kendall")


def test_svcca():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((200, 10))
    A = rng.standard_normal((10, 10))
    assert align.svcca(X, X @ A, keep=1.0) == pytest.approx(1.0, abs=1e-8)  # any invertible map
    Y = rng.standard_normal((200, 10))
    v = align.svcca(X, Y)
    assert 0.0 <= v < 0.5
    mixed = align.svcca(X, X[:, :6] @ rng.standard_normal((6, 8)) + 0.1 * rng.standard_normal((200, 8)))
    assert v < mixed <= 1.0
    with pytest.raises(ValueError):
        align.svcca(X, Y, keep=0.0)
    with pytest.raises(ValueError):
        align.svcca(X, Y[:50])
