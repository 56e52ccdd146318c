"""Neuron permutations of memnative models: the permutable axes of the parameter table,
:func:`permute` (libmem's ``mem_model_permute``) and :func:`match_neurons` (activation matching and
weight matching, solved by libmem's assignment). Generic over the parameter and state tables:
nothing here knows a cell kind."""
from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ._lib import check, ffi, lib, string

__all__ = ["permute", "match_neurons", "permutable_axes", "weight_matching_objective"]


class _Tensor(NamedTuple):
    name: str
    shape: Tuple[int, ...]
    axes: Tuple[str, ...]
    permutable: Tuple[bool, ...]


def _fitted_model(est: Any, name: str) -> Any:
    model = getattr(est, "_model", None)
    if model is None:
        from ._compat import NotFittedError
        raise NotFittedError(f"{name}: the model is not fitted (a fitted memnative estimator is needed)")
    return model


def _param_table(est: Any) -> List[_Tensor]:
    model = _fitted_model(est, "param table")
    name, ndim, trainable = ffi.new("const char **"), ffi.new("int *"), ffi.new("int *")
    shape, axes, perm = ffi.new("int64_t[4]"), ffi.new("const char *[4]"), ffi.new("int[4]")
    table = []
    for i in range(int(lib.mem_model_param_count(model))):
        check(lib.mem_model_param_info(model, i, name, ndim, shape, axes, perm, trainable))
        n = int(ndim[0])
        table.append(_Tensor(string(name[0]), tuple(int(shape[k]) for k in range(n)),
                             tuple(string(axes[k]) for k in range(n)), tuple(bool(perm[k]) for k in range(n))))
    return table


def _state_axes(est: Any) -> Dict[str, Tuple[str, ...]]:
    model = _fitted_model(est, "state table")
    name, ndim = ffi.new("const char **"), ffi.new("int *")
    shape, axes = ffi.new("int64_t[4]"), ffi.new("const char *[4]")
    result = {}
    for i in range(int(lib.mem_model_state_count(model))):
        check(lib.mem_model_state_info(model, i, name, ndim, shape, axes))
        result[string(name[0])] = tuple(string(axes[k]) for k in range(int(ndim[0])))
    return result


def permutable_axes(model: Any) -> Dict[str, int]:
    """The permutation symmetries of a fitted model: ``{axis tag: size}`` (e.g. ``{"H": 32,
    "M": 64}``), from the axes its parameter table marks permutable."""
    sizes: Dict[str, int] = {}
    for t in _param_table(model):
        for tag, size, ok in zip(t.axes, t.shape, t.permutable):
            if ok:
                sizes.setdefault(tag, size)
    return sizes


def permute(model: Any, perm: Mapping[str, Any]) -> Any:
    """A copy of ``model`` with its units reordered along permutable axes.

    Every tensor axis tagged with a key of ``perm`` is reordered as ``x[perm[axis]]`` (position
    ``i`` receives unit ``perm[axis][i]``): the parameters, their freeze masks and optimizer
    moments, the stored memory and the training carries (libmem's ``mem_model_permute``, driven by
    the axis tags of the parameter and state tables). The copy predicts what ``model`` predicts,
    up to float32 rounding.

    Parameters
    ----------
    model : fitted memnative estimator
    perm : dict of str to array_like of int
        Axis tag (see :func:`permutable_axes`: ``"H"`` hidden units, ``"M"`` manifold rows) to a
        permutation of ``range(size)``.

    Returns
    -------
    estimator
        A new estimator; ``model`` is unchanged.
    """
    axes = permutable_axes(model)
    if not isinstance(perm, Mapping):
        raise ValueError(f"perm must be a dict axis -> permutation, got {type(perm).__name__}")
    for axis in perm:
        if axis not in axes:
            raise ValueError(f"perm: {axis!r} is not a permutable axis of this model "
                             f"(permutable: {sorted(axes)})")
    out = copy.deepcopy(model)
    for axis, p in perm.items():
        p = np.asarray(p)
        if p.ndim != 1 or (p.size and p.dtype.kind not in "iu"):
            raise ValueError(f"perm[{axis!r}] must be a 1-D array of integers, got {p.dtype} "
                             f"shape {p.shape}")
        p = np.ascontiguousarray(p, dtype=np.int64)
        check(lib.mem_model_permute(out._model, axis.encode(), ffi.from_buffer("int64_t[]", p), p.size))
    return out


# ---- weight matching ------------------------------------------------------------------------

def _weights(est: Any) -> Dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in est.parameters_.items()}


def _aligned(arr: np.ndarray, t: _Tensor, perms: Mapping[str, np.ndarray], sizes: Mapping[str, int],
             skip: Optional[int] = None) -> np.ndarray:
    """b's tensor in a's basis: every permutable axis (except position ``skip``) taken through the
    first ``sizes[tag]`` entries of its permutation (a's units; b may be wider)."""
    for k, tag in enumerate(t.axes):
        if k != skip and t.permutable[k] and tag in perms:
            arr = np.take(arr, perms[tag][: sizes[tag]], axis=k)
    return arr


def weight_matching_objective(a: Any, b: Any, perm: Mapping[str, Any]) -> float:
    """The weight-matching objective: the sum over every parameter tensor with a permutable axis
    of ``<θ_a, θ_b>`` after ``perm`` (as returned by :func:`match_neurons`) is applied to b."""
    table, wa, wb = _param_table(a), _weights(a), _weights(b)
    perms = {k: np.asarray(v, dtype=np.int64) for k, v in perm.items()}
    return _objective(table, wa, wb, perms, permutable_axes(a))


def _objective(table: Sequence[_Tensor], wa: Mapping[str, np.ndarray], wb: Mapping[str, np.ndarray],
               perms: Mapping[str, np.ndarray], sizes: Mapping[str, int]) -> float:
    total = 0.0
    for t in table:
        if any(t.permutable):
            total += float(np.sum(wa[t.name] * _aligned(wb[t.name], t, perms, sizes)))
    return total


def _linear_term(table: Sequence[_Tensor], wa: Mapping[str, np.ndarray], wb: Mapping[str, np.ndarray],
                 perms: Mapping[str, np.ndarray], sizes: Mapping[str, int], axis: str,
                 width_b: int) -> np.ndarray:
    """C[i, j] = the objective's terms pairing a's unit i with b's unit j on `axis`, every other
    axis (and every other occurrence of `axis`) held at its current permutation."""
    C = np.zeros((sizes[axis], width_b))
    for t in table:
        for p, tag in enumerate(t.axes):
            if tag != axis or not t.permutable[p]:
                continue
            A = np.moveaxis(wa[t.name], p, 0).reshape(sizes[axis], -1)
            B = np.moveaxis(_aligned(wb[t.name], t, perms, sizes, skip=p), p, 0).reshape(width_b, -1)
            C += A @ B.T
    return C


def _perm_from_pairs(cols: np.ndarray, width_b: int) -> np.ndarray:
    """Positions 0..len(cols)-1 take b's units cols; b's unmatched units follow in order."""
    rest = np.setdiff1d(np.arange(width_b), cols, assume_unique=False)
    return np.concatenate([cols, rest]).astype(np.int64)


def _solve(score: np.ndarray) -> np.ndarray:
    from .align import linear_sum_assignment
    rows, cols = linear_sum_assignment(score, maximize=True)
    return _perm_from_pairs(cols[np.argsort(rows)], score.shape[1])


def _weight_matching(a: Any, b: Any, sizes_a: Mapping[str, int], sizes_b: Mapping[str, int],
                     max_sweeps: int, seed: Any) -> Tuple[Dict[str, np.ndarray], List[float]]:
    table, wa, wb = _param_table(a), _weights(a), _weights(b)
    perms = {axis: np.arange(n, dtype=np.int64) for axis, n in sizes_b.items()}
    best = _objective(table, wa, wb, perms, sizes_a)
    history = [best]
    rng = np.random.default_rng(seed)
    axes = sorted(sizes_a)
    for _ in range(max_sweeps):
        improved = False
        for axis in rng.permutation(axes):
            axis = str(axis)
            trial = dict(perms)
            trial[axis] = _solve(_linear_term(table, wa, wb, perms, sizes_a, axis, sizes_b[axis]))
            value = _objective(table, wa, wb, trial, sizes_a)
            # the true objective is quadratic in a recurrent axis: accept only real improvements
            if value > best + 1e-12 * max(1.0, abs(best)):
                perms, best, improved = trial, value, True
                history.append(best)
        if not improved:
            break
    return perms, history


# ---- activation matching --------------------------------------------------------------------

def _features(states: Mapping[str, np.ndarray], state_axes: Mapping[str, Tuple[str, ...]], axis: str,
              pending: Sequence[str], lead: int) -> Optional[np.ndarray]:
    """(n_samples, units) activations of `axis` from every state tensor carrying it once: the
    leading (time / sequence) axes and the other axes are samples; axes still to be matched
    (`pending`) are reduced to their sum and root sum of squares (invariant to their order)."""
    blocks = []
    for name, tags in state_axes.items():
        if tags.count(axis) != 1:
            continue
        arr = np.asarray(states[name], dtype=np.float64)
        reduce = tuple(lead + k for k, tag in enumerate(tags) if tag in pending and tag != axis)
        variants = [arr] if not reduce else [arr.sum(axis=reduce, keepdims=True),
                                             np.sqrt((arr ** 2).sum(axis=reduce, keepdims=True))]
        at = lead + tags.index(axis)
        for v in variants:
            blocks.append(np.moveaxis(v, at, -1).reshape(-1, v.shape[at]))
    return np.concatenate(blocks, axis=0) if blocks else None


def _correlation(fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of fa with every column of fb (0 for constant ones)."""
    def standardise(f: np.ndarray) -> np.ndarray:
        f = f - f.mean(axis=0)
        norm = np.sqrt((f ** 2).sum(axis=0))
        return np.divide(f, norm, out=np.zeros_like(f), where=norm > 0)
    return standardise(fa).T @ standardise(fb)


def _activation_matching(a: Any, b: Any, X: Any, sizes_a: Mapping[str, int],
                         sizes_b: Mapping[str, int]) -> Dict[str, np.ndarray]:
    state_axes = _state_axes(a)
    states_a = copy.deepcopy(a).hidden_states(X)
    states_b = copy.deepcopy(b).hidden_states(X)
    lead = np.asarray(X).ndim - 1 if not isinstance(X, (list, tuple)) else 2
    # first the axes some state tensor carries without another permutable axis (the hidden units)
    def entangled(axis: str) -> int:
        return min((sum(1 for t in tags if t in sizes_a and t != axis)
                    for tags in state_axes.values() if axis in tags), default=0)
    order = sorted(sizes_a, key=lambda axis: (entangled(axis), axis))
    perms: Dict[str, np.ndarray] = {}
    for i, axis in enumerate(order):
        pending = order[i + 1:]
        fa = _features(states_a, state_axes, axis, pending, lead)
        fb = _features(states_b, state_axes, axis, pending, lead)
        if fa is None:
            raise ValueError(f"match_neurons: no state tensor carries axis {axis!r}; use "
                             "method='weights'")
        perms[axis] = _solve(_correlation(fa, fb))
        for name, tags in state_axes.items():  # b's states in a's basis along this axis
            for k, tag in enumerate(tags):
                if tag == axis:
                    states_b[name] = np.take(states_b[name], perms[axis][: sizes_a[axis]], axis=lead + k)
    return perms


def match_neurons(a: Any, b: Any, X: Any = None, method: str = "activations", *,
                  max_sweeps: int = 100, random_state: Any = 0, return_history: bool = False
                  ) -> Union[Dict[str, np.ndarray], Tuple[Dict[str, np.ndarray], List[float]]]:
    """Permutations of b's units that align them with a's, on every permutable axis.

    Parameters
    ----------
    a, b : fitted memnative estimators of the same kind, inputs and outputs
        b may be wider than a on a permutable axis (then a's units are matched to a subset).
    X : array_like, optional
        Probe inputs (a stream or sequences) for ``method="activations"``.
    method : {"activations", "weights"}
        ``"activations"``: the state tensors after every step of ``X``
        (:meth:`hidden_states`) give each unit an activation profile; the pairs maximising the
        summed Pearson correlation (equivalently minimising ``1 - corr``) come from the linear
        assignment. The hidden axis is matched first; the manifold rows then use b's states with
        its hidden units already aligned. ``"weights"``: weight matching (Ainsworth et al., Git
        Re-Basin, 2023): maximise ``sum <θ_a, π(θ_b)>`` over the parameter tensors, one axis at a
        time with the others fixed. A recurrent tensor carries the same permutation on both
        sides, which makes the true problem quadratic; each axis' linear subproblem (the other
        occurrences held at their current permutation) proposes a permutation that is accepted
        only when the true objective improves, so the objective never decreases. Axes are swept in
        a random order (``random_state``) until a sweep changes nothing, or ``max_sweeps``.
    return_history : bool, default False
        Also return the weight-matching objective after every accepted change (first entry: the
        identity); ``[]`` for activations.

    Returns
    -------
    dict of str to ndarray of int64
        ``{axis: perm}`` for :func:`permute` (``permute(b, perm)`` is b in a's order: position
        ``i < size_a`` holds b's unit matched to a's unit i; b's unmatched units follow).
    """
    if method not in ("activations", "weights"):
        raise ValueError(f"match_neurons: method must be 'activations' or 'weights', got {method!r}")
    sizes_a, sizes_b = permutable_axes(a), permutable_axes(b)
    _check_compatible(a, b)
    for axis, n in sizes_a.items():
        if sizes_b.get(axis, -1) < n:
            raise ValueError(f"match_neurons: axis {axis!r} has {n} units in a and "
                             f"{sizes_b.get(axis)} in b; b must be at least as wide (swap them)")
    if method == "weights":
        perms, history = _weight_matching(a, b, sizes_a, sizes_b, int(max_sweeps), random_state)
    else:
        if X is None:
            raise ValueError("match_neurons: method='activations' needs probe inputs X")
        perms, history = _activation_matching(a, b, X, sizes_a, sizes_b), []
    return (perms, history) if return_history else perms


def _check_compatible(a: Any, b: Any) -> None:
    """Same kind, and the same parameter tensors up to the sizes of their permutable axes."""
    if a._cell_kind() != b._cell_kind():
        raise ValueError(f"models of different kinds ({a._cell_kind()!r} and {b._cell_kind()!r}) "
                         "cannot be aligned or merged")
    ta, tb = _param_table(a), _param_table(b)
    if [t.name for t in ta] != [t.name for t in tb]:
        raise ValueError(f"the models have different parameters: {[t.name for t in ta]} and "
                         f"{[t.name for t in tb]}")
    for x, y in zip(ta, tb):
        fixed_x = [n for n, ok in zip(x.shape, x.permutable) if not ok]
        fixed_y = [n for n, ok in zip(y.shape, y.permutable) if not ok]
        if x.axes != y.axes or fixed_x != fixed_y:
            raise ValueError(f"parameter {x.name!r} has shape {x.shape} {x.axes} and {y.shape} "
                             f"{y.axes}: only permutable axes may differ")
