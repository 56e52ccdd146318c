"""Peers of memnative.align for the benchmarks (bench/align.py, bench/run.py): the assignment
solvers installed here and numpy's float32 linear CKA, and the inputs both scripts race them on."""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import numpy as np


def assignment_peers(slow: bool = True) -> Dict[str, Callable[[np.ndarray], Any]]:
    """scipy's solver, and the `lapjv` and `lap` packages when installed (`lap` is several times
    slower than the others: left out with slow=False)."""
    from scipy.optimize import linear_sum_assignment as scipy_lsa

    peers: Dict[str, Callable[[np.ndarray], Any]] = {"scipy": scipy_lsa}
    try:
        import lapjv
        peers["lapjv"] = lambda c: lapjv.lapjv(c)
    except ImportError:
        pass
    if slow:
        try:
            import lap
            peers["lap"] = lambda c: lap.lapjv(c)
        except ImportError:
            pass
    return peers


def numpy_linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA in numpy's float32 feature form: centred columns, then Xᵀ X, Yᵀ Y and Yᵀ X."""
    X = X - X.mean(axis=0, dtype=np.float32)
    Y = Y - Y.mean(axis=0, dtype=np.float32)
    xx = np.linalg.norm(X.T @ X)
    yy = np.linalg.norm(Y.T @ Y)
    return float(np.linalg.norm(Y.T @ X) ** 2 / (xx * yy))


def checked_cost(n: int) -> np.ndarray:
    """The n x n uniform random float64 cost of the races (seeded by n), after checking that
    memnative's optimal total equals scipy's on it."""
    from scipy.optimize import linear_sum_assignment as scipy_lsa

    from memnative import align

    cost = np.random.default_rng(n).random((n, n))
    ours, ref = cost[align.linear_sum_assignment(cost)].sum(), cost[scipy_lsa(cost)].sum()
    if abs(ours - ref) > 1e-9 * abs(ref):
        raise RuntimeError(f"assignment n={n}: memnative's total {ours} differs from scipy's {ref}")
    return cost


def cka_pair(n: int, d: int) -> Tuple[np.ndarray, np.ndarray]:
    """X (n x d) and a Y partly linear in it, float32 (seeded by d)."""
    rng = np.random.default_rng(d)
    X = rng.standard_normal((n, d), dtype=np.float32)
    Y = (X @ rng.standard_normal((d, d), dtype=np.float32) * 0.1
         + rng.standard_normal((n, d), dtype=np.float32))
    return X, Y


def cka_error(X: np.ndarray, Y: np.ndarray) -> float:
    """|memnative's linear CKA (one thread) - the float64 feature form|."""
    from memnative import align

    return abs(align.cka(X, Y, n_threads=1) - numpy_linear_cka(X.astype(np.float64), Y.astype(np.float64)))
