"""Alignment of representations: linear assignment and similarity measures.

The numerics are libmem's (``mem_linear_sum_assignment``, ``mem_cka``, ``mem_rsa``); SVCCA uses
numpy's LAPACK (design §1). Functions validate their input here and raise with the C library's
message otherwise.

- :func:`linear_sum_assignment`: scipy's signature, return convention and exceptions, solved by
  shortest augmenting paths after the Jonker–Volgenant initialisation (single thread).
- :func:`cka`: centred kernel alignment (linear or RBF, optionally debiased).
- :func:`rsa`: representational similarity analysis (Pearson or Spearman).
- :func:`svcca`: singular vector CCA.

Models (``spec/merge-and-continual.md`` §3), generic over the parameter and state tables:

- :func:`permutable_axes`, :func:`permute`: the permutation symmetries of a fitted model and a
  copy with its units reordered (predictions unchanged up to rounding).
- :func:`match_neurons`: permutations aligning one model's units with another's, from
  activations (correlation + assignment) or weights (weight matching).
- :func:`merge`: average / task arithmetic / TIES after alignment, zip merge of different widths,
  quality control with a :class:`MergeReport`.
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from ._lib import check, ffi, lib

__all__ = ["linear_sum_assignment", "cka", "rsa", "svcca", "permutable_axes", "permute",
           "match_neurons", "weight_matching_objective", "merge", "MergeReport", "SourceReport"]


def linear_sum_assignment(cost_matrix: Any, maximize: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Solve the linear sum assignment problem (same contract as ``scipy.optimize``'s).

    Parameters
    ----------
    cost_matrix : array_like, shape (n_rows, n_cols)
        The cost of assigning row ``i`` to column ``j``. Booleans and integers are converted to
        float64 (anything that does not cast safely to float64 raises ``TypeError``). ``+inf``
        marks a forbidden pair (``-inf`` when maximizing).
    maximize : bool, default False
        Maximize the total instead of minimizing it.

    Returns
    -------
    row_ind, col_ind : ndarray of int64
        The optimal pairs, ``min(n_rows, n_cols)`` of them, ``row_ind`` increasing; the optimal
        total is ``cost_matrix[row_ind, col_ind].sum()``.

    Raises
    ------
    ValueError
        The input is not 2-D, holds NaN or ``-inf`` (``+inf`` when maximizing), or no assignment
        avoids the forbidden pairs ("cost matrix is infeasible").
    TypeError
        The dtype cannot be cast safely to float64 (strings, objects, complex, dates).
    """
    a = np.asarray(cost_matrix)
    if a.ndim == 0 and a.dtype.kind in "US":
        float(a.item())  # scipy converts a scalar string first: ValueError for text
    if a.ndim != 2:
        raise ValueError(f"expected a matrix (2-D array), got a {a.ndim!r} array")
    if not np.can_cast(a.dtype, np.float64, casting="safe"):
        raise TypeError(f"Cannot cast array data from {a.dtype!r} to dtype('float64') "
                        "according to the rule 'safe'")
    a = np.ascontiguousarray(a, dtype=np.float64)
    n_rows, n_cols = a.shape
    k = min(n_rows, n_cols)
    row_ind = np.empty(k, dtype=np.int64)
    col_ind = np.empty(k, dtype=np.int64)
    if k == 0:
        return row_ind, col_ind
    check(lib.mem_linear_sum_assignment(
        ffi.from_buffer("double[]", a), n_rows, n_cols, int(bool(maximize)),
        ffi.from_buffer("int64_t[]", row_ind), ffi.from_buffer("int64_t[]", col_ind), k))
    return row_ind, col_ind


def _pair(X: Any, Y: Any, name: str, min_rows: int) -> Tuple[np.ndarray, np.ndarray]:
    X = np.ascontiguousarray(X, dtype=np.float32)
    Y = np.ascontiguousarray(Y, dtype=np.float32)
    if X.ndim != 2 or Y.ndim != 2:
        raise ValueError(f"{name}: X and Y must be 2-D (n_samples, n_features); "
                         f"got shapes {X.shape} and {Y.shape}")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"{name}: X and Y must have the same number of rows; "
                         f"got {X.shape[0]} and {Y.shape[0]}")
    if X.shape[0] < min_rows or X.shape[1] < 1 or Y.shape[1] < 1:
        raise ValueError(f"{name}: need at least {min_rows} rows and 1 feature; "
                         f"got shapes {X.shape} and {Y.shape}")
    return X, Y


def cka(X: Any, Y: Any, kernel: str = "linear", debiased: bool = False, sigma: float = 0.8,
        n_threads: int = 0) -> float:
    """Centred kernel alignment between two representations of the same inputs.

    Parameters
    ----------
    X : array_like, shape (n_samples, d1)
    Y : array_like, shape (n_samples, d2)
        Activations for the same ``n_samples`` inputs (converted to float32).
    kernel : {"linear", "rbf"}, default "linear"
    debiased : bool, default False
        Use the unbiased HSIC estimator (needs ``n_samples >= 4``).
    sigma : float, default 0.8
        RBF bandwidth as a multiple of the median pairwise distance (ignored for "linear").
    n_threads : int, default 0
        Threads for the products (0 = OpenMP default); the result does not depend on it.

    Returns
    -------
    float
        CKA in [0, 1] (the debiased estimate can be slightly negative).

    Notes
    -----
    Kornblith, Norouzi, Lee, Hinton, "Similarity of Neural Network Representations Revisited",
    ICML 2019. Linear CKA is invariant to orthogonal transforms, isotropic scaling and
    translation of either input, not to general linear maps.
    """
    if kernel not in ("linear", "rbf"):
        raise ValueError(f"cka: kernel must be 'linear' or 'rbf', got {kernel!r}")
    X, Y = _pair(X, Y, "cka", 4 if debiased else 2)
    out = ffi.new("double *")
    check(lib.mem_cka(ffi.from_buffer("float[]", X), ffi.from_buffer("float[]", Y), X.shape[0],
                      X.shape[1], Y.shape[1], lib.MEM_CKA_RBF if kernel == "rbf" else lib.MEM_CKA_LINEAR,
                      int(bool(debiased)), float(sigma), int(n_threads), out))
    return float(out[0])


def rsa(X: Any, Y: Any, method: str = "pearson", n_threads: int = 0) -> float:
    """Representational similarity analysis.

    The dissimilarity matrix of each representation is ``1 - corr(row i, row j)`` (Pearson
    correlation between the activation patterns of inputs i and j); the result is the correlation
    between the upper triangles of the two matrices.

    Parameters
    ----------
    X : array_like, shape (n_samples, d1)
    Y : array_like, shape (n_samples, d2)
        Activations for the same inputs (float32; ``n_samples >= 3``, ``d1, d2 >= 2``).
    method : {"pearson", "spearman"}, default "pearson"
        Spearman ranks with average ranks for ties.
    n_threads : int, default 0
        Threads for the products; the result does not depend on it.

    Returns
    -------
    float
        A correlation in [-1, 1].
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"rsa: method must be 'pearson' or 'spearman', got {method!r}")
    X, Y = _pair(X, Y, "rsa", 3)
    out = ffi.new("double *")
    check(lib.mem_rsa(ffi.from_buffer("float[]", X), ffi.from_buffer("float[]", Y), X.shape[0],
                      X.shape[1], Y.shape[1],
                      lib.MEM_RSA_SPEARMAN if method == "spearman" else lib.MEM_RSA_PEARSON,
                      int(n_threads), out))
    return float(out[0])


def _svd_reduce(A: np.ndarray, keep: float) -> np.ndarray:
    A = A - A.mean(axis=0)
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    energy = s ** 2
    total = energy.sum()
    if not total > 0:
        raise ValueError("svcca: an input has no variance")
    k = int(np.searchsorted(np.cumsum(energy) / total, keep - 1e-12) + 1)
    k = min(k, s.size)
    return U[:, :k] * s[:k]


def svcca(X: Any, Y: Any, keep: float = 0.99) -> float:
    """Singular vector canonical correlation analysis (Raghu et al., NeurIPS 2017).

    Each representation is centred and reduced by SVD to the fewest directions explaining
    ``keep`` of its variance; the result is the mean canonical correlation between the two
    reduced representations (computed in float64 on numpy's LAPACK).

    Parameters
    ----------
    X : array_like, shape (n_samples, d1)
    Y : array_like, shape (n_samples, d2)
    keep : float, default 0.99
        Fraction of variance kept, in (0, 1].

    Returns
    -------
    float
        Mean canonical correlation in [0, 1].
    """
    if not (0.0 < keep <= 1.0):
        raise ValueError(f"svcca: keep must lie in (0, 1], got {keep!r}")
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] < 2:
        raise ValueError(f"svcca: X and Y must be 2-D with the same number (>= 2) of rows; "
                         f"got shapes {X.shape} and {Y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise ValueError("svcca: X and Y must be finite")
    a = _svd_reduce(X, keep)
    b = _svd_reduce(Y, keep)
    # CCA: canonical correlations are the singular values of Qa^T Qb for orthonormal bases.
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    rho = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return float(np.mean(np.clip(rho, 0.0, 1.0)))


from ._match import match_neurons, permutable_axes, permute, weight_matching_objective  # noqa: E402
from ._merge import MergeReport, SourceReport, merge  # noqa: E402
