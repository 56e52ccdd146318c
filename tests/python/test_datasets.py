"""memnative.datasets: shapes, dtypes, seeding, task definitions and reference values."""
from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memnative import datasets

DATASETS_FILE = Path(datasets.__file__)

# Every seeded generator, called small, for the generic seeding tests.
SEEDED = {
    "narma10": lambda rs: datasets.narma10(n_steps=50, washout=20, random_state=rs),
    "adding_problem": lambda rs: datasets.adding_problem(n_sequences=8, seq_len=12,
                                                          random_state=rs),
    "copy_task": lambda rs: datasets.copy_task(n_sequences=8, delay=5, copy_len=3, random_state=rs),
    "associative_recall": lambda rs: datasets.associative_recall(n_sequences=8, random_state=rs),
}


def _arrays(out):
    return out if isinstance(out, tuple) else (out,)


# ---- seeding ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SEEDED))
def test_same_seed_same_arrays_different_seed_differs(name):
    gen = SEEDED[name]
    a, b, c = _arrays(gen(3)), _arrays(gen(3)), _arrays(gen(4))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_generator_accepted_and_advanced(name):
    gen = SEEDED[name]
    rng = np.random.default_rng(7)
    first, second = _arrays(gen(rng)), _arrays(gen(rng))
    np.testing.assert_array_equal(first[0], _arrays(gen(np.random.default_rng(7)))[0])
    assert not np.array_equal(first[0], second[0])
    # None draws fresh entropy: two calls differ (with overwhelming probability)
    assert not np.array_equal(_arrays(gen(None))[0], _arrays(gen(None))[0])


@pytest.mark.parametrize("bad", [1.5, "3", np.random.RandomState(0), True])
def test_bad_random_state(bad):
    with pytest.raises(TypeError, match="random_state"):
        datasets.adding_problem(n_sequences=2, seq_len=4, random_state=bad)


def test_negative_seed_rejected():
    with pytest.raises(ValueError, match="random_state"):
        datasets.narma10(n_steps=5, random_state=-1)


def test_module_is_pure_numpy():
    """The file imports and runs on its own, without memnative's C binding."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('mn_datasets', {str(DATASETS_FILE)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "X, y = m.adding_problem(3, 6, random_state=0)\n"
        "assert X.shape == (3, 6, 2)\n"
        "assert not any(k.startswith('memnative') for k in sys.modules), sorted(sys.modules)\n"
        "assert 'cffi' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- Mackey-Glass -----------------------------------------------------------------------------

# Reference values from the C generator `test_mackey_glass` of tests/c/test_util.h, printed with
# %.9g by a throwaway program (gcc -O2 -ffp-contract=off, x86-64) that includes the header.
MG_REF_3000 = {0: 0.434199929, 1: 0.31744203, 2: 0.205644459, 10: -0.522812903,
               100: -0.0218131002, 1000: -0.0515841953, 1234: 0.493984193, 2999: -0.737401783}
MG_REF_200 = {0: 0.448239803, 17: -0.835636139, 50: 0.320926249, 123: 0.227487773,
              199: 0.498309791}
# test_mackey_glass(series, 3001), the series of tests/c/test_learning_mackey_glass.c
MG_REF_3001 = {0: 0.434199929, 500: 0.173517451, 2000: -0.454305887, 2001: -0.541738153,
               3000: -0.816687226}


@pytest.mark.parametrize("n, ref", [(3000, MG_REF_3000), (200, MG_REF_200)])
def test_mackey_glass_matches_c_generator(n, ref):
    s = datasets.mackey_glass(n)
    assert s.shape == (n,) and s.dtype == np.float32
    for k, v in ref.items():
        assert abs(float(s[k]) - v) <= 1e-6, (k, float(s[k]), v)


def test_mackey_glass_scaling_and_determinism():
    s = datasets.mackey_glass(500)
    assert s.min() == -1.0 and s.max() == 1.0
    raw = datasets.mackey_glass(500, scale=False)
    assert raw.dtype == np.float32 and 0.2 < raw.min() < raw.max() < 1.5
    lo, hi = raw.min(), raw.max()
    np.testing.assert_allclose(s, 2 * (raw - lo) / (hi - lo) - 1, atol=1e-6)
    # deterministic: random_state changes nothing and a Generator is not advanced
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    np.testing.assert_array_equal(datasets.mackey_glass(500, random_state=rng), s)
    np.testing.assert_array_equal(datasets.mackey_glass(500, random_state=123), s)
    assert rng.bit_generator.state == state
    # the returned window is a prefix of a longer one, up to the scaling
    np.testing.assert_array_equal(datasets.mackey_glass(300, scale=False), raw[:300])


def test_mackey_glass_bad_tau():
    with pytest.raises(ValueError, match="tau"):
        datasets.mackey_glass(100, tau=17.05)
    with pytest.raises(ValueError, match="tau"):
        datasets.mackey_glass(100, tau=0.0)


def test_mackey_glass_forecast_default_matches_c_learning_series():
    X_tr, y_tr, X_te, y_te = datasets.mackey_glass_forecast()
    shapes = [a.shape for a in (X_tr, y_tr, X_te, y_te)]
    assert shapes == [(2000, 1), (2000, 1), (1000, 1), (1000, 1)]
    assert all(a.dtype == np.float32 for a in (X_tr, y_tr, X_te, y_te))
    full = np.concatenate([X_tr[:, 0], X_te[:, 0], y_te[-1:, 0]])
    for k, v in MG_REF_3001.items():
        assert abs(float(full[k]) - v) <= 1e-6, (k, float(full[k]), v)


@pytest.mark.parametrize("horizon", [1, 3])
def test_mackey_glass_forecast_alignment(horizon):
    X_tr, y_tr, X_te, y_te = datasets.mackey_glass_forecast(n_train=100, n_test=40, horizon=horizon)
    s = datasets.mackey_glass(100 + 40 + horizon)
    np.testing.assert_array_equal(X_tr[:, 0], s[:100])
    np.testing.assert_array_equal(y_tr[:, 0], s[horizon:100 + horizon])
    np.testing.assert_array_equal(X_te[:, 0], s[100:140])        # test continues train
    np.testing.assert_array_equal(y_te[:, 0], s[100 + horizon:140 + horizon])
    np.testing.assert_array_equal(y_tr[:-horizon, 0], X_tr[horizon:, 0])


# ---- NARMA10 ----------------------------------------------------------------------------------

def test_narma10_shapes_bounds_and_recurrence():
    X, y = datasets.narma10(random_state=0)
    assert X.shape == (2000, 1) and y.shape == (2000, 1)
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 0.5
    assert np.isfinite(y).all() and 0.1 <= y.min() and y.max() < 1.5
    # the documented row alignment: y[k] = 0.3 y[k-1] + 0.05 y[k-1] sum_{i=1}^{10} y[k-i]
    #                                       + 1.5 X[k] X[k-9] + 0.1
    u, t = X[:, 0].astype(np.float64), y[:, 0].astype(np.float64)
    k = np.arange(10, 2000)
    window = sum(t[k - i] for i in range(1, 11))
    pred = 0.3 * t[k - 1] + 0.05 * t[k - 1] * window + 1.5 * u[k] * u[k - 9] + 0.1
    np.testing.assert_allclose(t[k], pred, atol=2e-6)


def test_narma10_washout_is_the_prefix_discarded():
    X_long, y_long = datasets.narma10(n_steps=300, washout=0, random_state=5)
    X, y = datasets.narma10(n_steps=100, washout=200, random_state=5)
    np.testing.assert_array_equal(X, X_long[200:])
    np.testing.assert_array_equal(y, y_long[200:])
    # from rest: y(1) = 0.1 is the first target
    assert y_long[0, 0] == np.float32(0.1)


def test_narma10_diverging_draws_are_redrawn():
    # seed 75's first input draw makes the recursion blow up; the generator redraws
    X, y = datasets.narma10(random_state=75)
    assert np.isfinite(y).all() and y.max() < 1.5
    np.testing.assert_array_equal(y, datasets.narma10(random_state=75)[1])
    for seed in range(40):
        assert datasets.narma10(n_steps=500, random_state=seed)[1].max() < 1.5


# ---- adding problem ---------------------------------------------------------------------------

@settings(max_examples=30)
@given(n=st.integers(1, 20), T=st.integers(2, 41), seed=st.integers(0, 2**32 - 1))
def test_adding_problem_markers_and_target(n, T, seed):
    X, y = datasets.adding_problem(n_sequences=n, seq_len=T, random_state=seed)
    assert X.shape == (n, T, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.float32
    values, marker = X[..., 0], X[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(np.unique(marker)) <= {0.0, 1.0}
    assert (marker.sum(axis=1) == 2).all()
    half = T // 2
    assert (marker[:, :half].sum(axis=1) == 1).all()
    assert (marker[:, half:].sum(axis=1) == 1).all()
    np.testing.assert_array_equal(y, (values * marker).sum(axis=1, dtype=np.float32))


def test_adding_problem_trivial_baseline():
    X, y = datasets.adding_problem(n_sequences=20000, seq_len=10, random_state=0)
    mse = float(np.mean((y.astype(np.float64) - 1.0) ** 2))
    assert abs(mse - 1 / 6) < 0.01          # ≈ 0.167; standard error ≈ 0.0014
    # marker positions are uniform over each half
    first = X[:, :5, 1].argmax(axis=1)
    second = X[:, 5:, 1].argmax(axis=1)
    for pos in (first, second):
        counts = np.bincount(pos, minlength=5) / pos.size
        assert np.abs(counts - 0.2).max() < 0.02


def test_adding_problem_defaults():
    X, y = datasets.adding_problem(random_state=1)
    assert X.shape == (1000, 100, 2) and y.shape == (1000,)


# ---- copy task --------------------------------------------------------------------------------

@settings(max_examples=30)
@given(n=st.integers(1, 10), n_symbols=st.integers(1, 9), T=st.integers(1, 30),
       K=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_copy_task_layout(n, n_symbols, T, K, seed):
    X, y = datasets.copy_task(n_sequences=n, n_symbols=n_symbols, delay=T, copy_len=K,
                              random_state=seed)
    L = T + 2 * K
    assert X.shape == (n, L, n_symbols + 2) and X.dtype == np.float32
    assert y.shape == (n, L) and y.dtype == np.int64
    assert (X.sum(axis=2) == 1).all() and set(np.unique(X)) <= {0.0, 1.0}
    tok = X.argmax(axis=2)
    delim = n_symbols + 1
    # K symbols, T-1 blanks, the delimiter, K blanks
    assert ((tok[:, :K] >= 1) & (tok[:, :K] <= n_symbols)).all()
    assert (tok[:, K:T + K - 1] == datasets.COPY_BLANK).all()
    assert (tok[:, T + K - 1] == delim).all()
    assert (tok[:, T + K:] == datasets.COPY_BLANK).all()
    # target: blank for T + K steps, then the K input symbols in order
    assert (y[:, :T + K] == datasets.COPY_BLANK).all()
    np.testing.assert_array_equal(y[:, T + K:], tok[:, :K])
    assert y.max() <= n_symbols


@pytest.mark.parametrize("T", [100, 500])
def test_copy_task_memoryless_baseline(T):
    K, n_sym = 10, 8
    X, y = datasets.copy_task(n_sequences=200, n_symbols=n_sym, delay=T, copy_len=K, random_state=0)
    # memoryless predictor: blank with certainty until the delimiter, then uniform over symbols
    p = np.zeros(y.shape[1:] + (n_sym + 1,))
    p[:T + K, 0] = 1.0
    p[T + K:, 1:] = 1.0 / n_sym
    picked = p[np.arange(y.shape[1])[None, :], y]
    ce = float(np.mean(-np.log(picked)))
    assert ce == pytest.approx(K * math.log(8) / (T + 2 * K), rel=1e-12)
    if T == 100:
        assert ce == pytest.approx(0.1733, abs=1e-4)   # paper-anchors table


def test_copy_task_symbols_uniform():
    X, y = datasets.copy_task(n_sequences=2000, delay=5, copy_len=10, random_state=3)
    counts = np.bincount(y[:, -10:].ravel(), minlength=9)
    assert counts[0] == 0
    freq = counts[1:] / counts[1:].sum()
    assert np.abs(freq - 1 / 8).max() < 0.01
    assert X.shape == (2000, 25, 10)


# ---- associative recall -----------------------------------------------------------------------

@settings(max_examples=25)
@given(n=st.integers(1, 10), K=st.integers(1, 26), seed=st.integers(0, 2**32 - 1))
def test_associative_recall_structure(n, K, seed):
    X, y = datasets.associative_recall(n_sequences=n, n_pairs=K, random_state=seed)
    L = 2 * K + 3
    assert X.shape == (n, L, 37) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert (X.sum(axis=2) == 1).all()
    tok = X.argmax(axis=2)
    keys, vals = tok[:, 0:2 * K:2], tok[:, 1:2 * K:2]
    assert (keys < 26).all() and ((vals >= 26) & (vals < 36)).all()
    assert all(len(set(row)) == K for row in keys.tolist())          # distinct keys
    assert (tok[:, 2 * K] == 36).all() and (tok[:, 2 * K + 1] == 36).all()
    query = tok[:, -1]
    for i in range(n):
        (pos,) = np.flatnonzero(keys[i] == query[i])
        assert y[i] == vals[i, pos] - 26


def test_associative_recall_paper_example_shape_and_chance():
    X, y = datasets.associative_recall(n_sequences=5000, random_state=0)
    assert X.shape == (5000, 11, 37)                              # STEP_NUM 11, ELEM_NUM 37
    text = "".join(datasets.AR_VOCAB[i] for i in X[0].argmax(axis=1))
    assert len(text) == 11 and text[8:10] == "??" and text[-1] in text[0:8:2]
    freq = np.bincount(y, minlength=10) / y.size
    assert np.abs(freq - 0.1).max() < 0.02                        # chance accuracy 10 %


def test_associative_recall_bad_pairs():
    with pytest.raises(ValueError, match="n_pairs"):
        datasets.associative_recall(n_sequences=2, n_pairs=27)


# ---- digits -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    sk = pytest.importorskip("sklearn.datasets")
    d = sk.load_digits()
    return d.data / 16.0, d.target


def test_digits_rows(digits):
    flat, target = digits
    X, y = datasets.digits_sequences("rows")
    assert X.shape == (1797, 8, 8) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_allclose(X, flat.reshape(-1, 8, 8), atol=1e-7)   # step r = image row r
    np.testing.assert_array_equal(y, target)


def test_digits_permuted_and_pixels(digits):
    flat, _ = digits
    X, y = datasets.digits_sequences("permuted", random_state=0)
    assert X.shape == (1797, 64, 1) and X.dtype == np.float32
    perm = np.random.default_rng(0).permutation(64)
    np.testing.assert_allclose(X[:, :, 0], flat[:, perm], atol=1e-7)   # one fixed permutation
    np.testing.assert_array_equal(X, datasets.digits_sequences("permuted", random_state=0)[0])
    assert not np.array_equal(X, datasets.digits_sequences("permuted", random_state=1)[0])
    P, _ = datasets.digits_sequences("pixels")
    np.testing.assert_allclose(P[:, :, 0], flat, atol=1e-7)
    with pytest.raises(ValueError, match="split"):
        datasets.digits_sequences("columns")


def test_digits_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)   # makes the import fail
    with pytest.raises(ImportError, match="scikit-learn"):
        datasets.digits_sequences()


def test_split_digits(digits):
    tasks = datasets.split_digits(random_state=0)
    assert [t.classes.tolist() for t in tasks] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    n_train = sum(len(t.y_train) for t in tasks)
    n_test = sum(len(t.y_test) for t in tasks)
    assert n_train + n_test == 1797 and abs(n_test / 1797 - 0.3) < 0.01
    for t in tasks:
        assert set(np.unique(t.y_train)) == set(t.classes) == set(np.unique(t.y_test))
        assert t.X_train.shape[1:] == (8, 8) and t.X_train.dtype == np.float32
        assert t.permutation is None
    again = datasets.split_digits(random_state=0)
    for a, b in zip(tasks, again):
        np.testing.assert_array_equal(a.X_test, b.X_test)
    other = datasets.split_digits(random_state=1)
    assert not np.array_equal(tasks[0].X_test, other[0].X_test)
    # train and test of a task share no image
    flat, _ = digits
    t = datasets.split_digits(n_tasks=2, layout="pixels", random_state=0)[0]
    assert t.X_train.shape[1:] == (64, 1)
    train_rows = {r.tobytes() for r in t.X_train[:, :, 0]}
    assert sum(r.tobytes() in train_rows for r in t.X_test[:, :, 0]) <= 5   # only exact duplicates


def test_permuted_digits():
    tasks = datasets.permuted_digits(n_tasks=3, random_state=0)
    assert len(tasks) == 3
    np.testing.assert_array_equal(tasks[0].permutation, np.arange(64))
    assert not np.array_equal(tasks[1].permutation, tasks[2].permutation)
    base = tasks[0].X_train.reshape(len(tasks[0].y_train), 64)
    for t in tasks:
        np.testing.assert_array_equal(t.y_train, tasks[0].y_train)      # same split for every task
        np.testing.assert_array_equal(t.X_train.reshape(-1, 64), base[:, t.permutation])
        assert set(t.classes.tolist()) == set(range(10))
    all_perm = datasets.permuted_digits(n_tasks=2, identity_first=False, random_state=0)
    assert not np.array_equal(all_perm[0].permutation, np.arange(64))
