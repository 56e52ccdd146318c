"""Acceptance-size learning runs (marked slow: `pytest --runslow` or `-m slow`; the closing notes
quote their numbers). Quick versions of the same tasks run in the default suite."""
from __future__ import annotations

import numpy as np
import pytest

import memnative
from memnative import datasets


def nrmse(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - truth) ** 2) / np.var(truth)))


def exponential_filter(n: int, decay: float = 0.8, seed: int = 0):
    """x ~ N(0, 1), y_t = sum_k decay^k x_{t-k}: the target needs memory of the input."""
    x = np.random.default_rng(seed).standard_normal(n)
    y = np.empty(n)
    acc = 0.0
    for t in range(n):
        acc = decay * acc + x[t]
        y[t] = acc
    return x[:, None].astype(np.float32), y


def r2(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(1 - ((pred - truth) ** 2).sum() / ((truth - truth.mean()) ** 2).sum())


@pytest.mark.slow
def test_mackey_glass_one_step_nrmse_below_003() -> None:
    x_tr, y_tr, x_te, y_te = datasets.mackey_glass_forecast(2000, 1000)
    est = memnative.AMRC(hidden_size=32, epochs=1000, random_state=0).fit(x_tr, y_tr)
    score = nrmse(est.predict(x_te, reset_memory=False), y_te)
    print(f"Mackey-Glass AMRC h32 test NRMSE {score:.4f}")
    assert score < 0.03


@pytest.mark.slow
def test_exponential_filter_needs_memory() -> None:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import Ridge

    x, y = exponential_filter(6000)
    est = memnative.AMRC(hidden_size=32, epochs=100, random_state=0).fit(x[:4000], y[:4000])
    ours = r2(est.predict(x[4000:], reset_memory=False), y[4000:])
    ridge = r2(Ridge().fit(x[:4000], y[:4000]).predict(x[4000:]), y[4000:])
    print(f"exponential filter: AMRC R2 {ours:.4f}, ridge on x_t {ridge:.3f}")
    assert ours > 0.95 and ridge < 0.45


def test_quick_learning_beats_memoryless_baseline() -> None:
    x, y = exponential_filter(1500)
    est = memnative.AMRC(hidden_size=16, epochs=20, random_state=0).fit(x[:1000], y[:1000])
    assert r2(est.predict(x[1000:], reset_memory=False), y[1000:]) > 0.8
