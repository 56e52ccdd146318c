"""Peers of memnative.align for the benchmarks (bench/align.py, bench/run.py): the assignment
solvers installed here and numpy's float32 linear CKA."""
from __future__ import annotations

from typing import Any, Callable, Dict

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
