"""Merging memnative models (``spec/merge-and-continual.md`` §3): alignment into one basis,
averaging (with a zip merge of different widths), task arithmetic and TIES, and quality control
that reverts a merge which degrades a source model."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ._lib import check, lib
from ._match import _check_compatible, _param_table, _Tensor, match_neurons, permutable_axes

__all__ = ["merge", "MergeReport", "SourceReport"]

_METHODS = ("average", "task_arithmetic", "ties")


@dataclass
class SourceReport:
    """Quality control of one source model on its validation data (``score`` is the estimator's
    ``score``: R² for regressors, accuracy for classifiers)."""

    index: int
    score_before: float
    score_after: float
    degradation: float  #: (before - after) / |before|: the relative loss of score
    degraded: bool      #: degradation above the tolerance


@dataclass
class MergeReport:
    """What :func:`merge` did."""

    method: str
    align: Optional[str]
    tolerance: float
    reverted: bool = False
    reason: str = "no validation data: the merge was not checked"
    returned_source: Optional[int] = None  #: the source model returned instead of the merge
    sources: List[SourceReport] = field(default_factory=list)
    permutations: List[Dict[str, np.ndarray]] = field(default_factory=list)  #: per model, into the reference's basis

    def __str__(self) -> str:
        lines = [f"merge ({self.method}, align={self.align}): "
                 f"{'REVERTED' if self.reverted else 'kept'} — {self.reason}"]
        for s in self.sources:
            lines.append(f"  source {s.index}: score {s.score_before:.4f} -> {s.score_after:.4f} "
                         f"({-100 * s.degradation:+.2f} %){'  degraded' if s.degraded else ''}")
        return "\n".join(lines)


def _embed(t: _Tensor, value: np.ndarray, ref_shape: Tuple[int, ...], positions: Mapping[str, np.ndarray]
           ) -> Tuple[np.ndarray, np.ndarray]:
    """A narrower model's tensor placed at its matched positions of the reference's shape: the
    values (0 elsewhere) and a 0/1 mask of the entries it covers."""
    out = np.zeros(ref_shape)
    mask = np.zeros(ref_shape)
    index = tuple(np.asarray(positions[tag]) if ok and tag in positions else np.arange(n)
                  for tag, n, ok in zip(t.axes, value.shape, t.permutable))
    grid = np.ix_(*index) if index else ()
    out[grid] = value
    mask[grid] = 1.0
    return out, mask


def _aligned_tensors(ref: Any, models: Sequence[Any], align: Optional[str], X: Any, random_state: Any
                     ) -> Tuple[List[Dict[str, Tuple[np.ndarray, np.ndarray]]], List[Dict[str, np.ndarray]]]:
    """Every model's tensors in the reference's basis and shape, with coverage masks."""
    table = _param_table(ref)
    ref_sizes = permutable_axes(ref)
    out, perms = [], []
    for m in models:
        sizes = permutable_axes(m)
        if m is ref:
            positions = {axis: np.arange(n) for axis, n in sizes.items()}
        elif align is None:
            if sizes != ref_sizes:
                raise ValueError("models of different widths need alignment (align='weights' or "
                                 "'activations')")
            positions = {axis: np.arange(n) for axis, n in sizes.items()}
        else:
            # m's unit i sits at the reference's unit positions[axis][i]
            perm = match_neurons(m, ref, X, method=align, random_state=random_state)
            positions = {axis: perm[axis][: sizes[axis]] for axis in sizes}
        params = m.parameters_
        ref_params = ref.parameters_
        out.append({t.name: _embed(t, np.asarray(params[t.name], dtype=np.float64),
                                   ref_params[t.name].shape, positions) for t in table})
        inverse = {}
        for axis, pos in positions.items():  # as a permutation of m for permute() when widths agree
            if len(pos) == ref_sizes[axis]:
                inverse[axis] = np.argsort(pos)
        perms.append(inverse)
    return out, perms


def _trim(tau: np.ndarray, density: float) -> np.ndarray:
    """TIES trim: keep the floor(density*n + 0.5) entries of largest magnitude (ties to the lower
    index), zero the rest."""
    keep = int(np.floor(density * tau.size + 0.5))
    out = np.zeros_like(tau)
    if keep > 0:
        idx = np.argsort(-np.abs(tau), kind="stable")[:keep]
        out[idx] = tau[idx]
    return out


def _combine(method: str, tensors: List[Dict[str, Tuple[np.ndarray, np.ndarray]]], weights: np.ndarray,
             base: Optional[Dict[str, Tuple[np.ndarray, np.ndarray]]], density: float,
             names: Sequence[str]) -> Dict[str, np.ndarray]:
    if method == "average":
        merged = {}
        for name in names:
            total = sum(w * v[name][0] * v[name][1] for w, v in zip(weights, tensors))
            mass = sum(w * v[name][1] for w, v in zip(weights, tensors))
            merged[name] = np.divide(total, mass, out=np.zeros_like(total), where=mass != 0)
        return merged
    assert base is not None
    if method == "task_arithmetic":
        return {name: base[name][0] + sum(w * (v[name][0] - base[name][0]) for w, v in zip(weights, tensors))
                for name in names}
    # TIES-merging (Yadav et al. 2023): trim, elect the sign, disjoint mean
    flat_base = np.concatenate([base[n][0].ravel() for n in names])
    taus = np.stack([_trim(w * (np.concatenate([v[n][0].ravel() for n in names]) - flat_base), density)
                     for w, v in zip(weights, tensors)])
    sign = np.sign(taus.sum(axis=0))
    agree = (np.sign(taus) == sign) & (taus != 0)
    count = agree.sum(axis=0)
    mean = np.divide((taus * agree).sum(axis=0), count, out=np.zeros(taus.shape[1]), where=count > 0)
    flat = flat_base + mean
    merged, start = {}, 0
    for n in names:
        size = base[n][0].size
        merged[n] = flat[start:start + size].reshape(base[n][0].shape)
        start += size
    return merged


def _score(model: Any, X: Any, y: Any) -> float:
    return float(copy.deepcopy(model).score(X, y))  # a copy: the source's memory stays as it was


def merge(models: Sequence[Any], method: str = "average", weights: Optional[Sequence[float]] = None,
          base: Any = None, validate: Optional[Sequence[Tuple[Any, Any]]] = None, tolerance: float = 0.02,
          align: Optional[str] = "weights", X: Any = None, density: float = 0.2,
          random_state: Any = 0) -> Tuple[Any, MergeReport]:
    """Merge fitted models of one kind into one model, with quality control.

    Parameters
    ----------
    models : sequence of fitted memnative estimators
        Same kind, inputs, outputs and architecture; for ``"average"`` the sizes of the
        permutable axes (hidden units, manifold rows) may differ.
    method : {"average", "task_arithmetic", "ties"}
        ``"average"``: the weighted mean of the aligned models. Different widths merge as a zip:
        the reference is the widest model (the first of them), every other model's units are
        matched to a subset of its units, matched entries are averaged and the wider model's
        unmatched units are kept, so the result is as wide as the widest input.
        ``"task_arithmetic"``: ``θ_base + Σ λ_i (θ_i − θ_base)`` (Ilharco et al. 2023).
        ``"ties"``: TIES-merging (Yadav et al. 2023) of the task vectors ``λ_i (θ_i − θ_base)``:
        keep the ``density`` fraction of largest magnitudes of each, elect a sign per entry (the
        sign of the sum), average the entries that agree with it, add to ``θ_base``.
    weights : sequence of float, optional
        Per-model weights (normalised per entry for ``"average"``; default equal) or the
        coefficients ``λ_i`` (default 1) of the task methods.
    base : fitted estimator, optional
        The common starting point, required by the task methods (and the reference basis).
    validate : sequence of (X, y), optional
        One validation set per model. The merged model is scored (``score``) on each; when any
        source's score falls by more than ``tolerance`` relative to its own score, the merge is
        reverted: the best source (highest mean score over all validation sets) is returned.
    tolerance : float, default 0.02
    align : {"weights", "activations"} or None, default "weights"
        How models are brought into the reference's basis (:func:`match_neurons`); None merges
        unit by unit as they are (naive merging; same widths only).
    X : array_like, optional
        Probe inputs for ``align="activations"``.
    density : float in (0, 1], default 0.2
        Fraction of each task vector TIES keeps.
    random_state : int, default 0
        Order of the weight-matching sweeps.

    Returns
    -------
    model : estimator
        A new estimator (the reference's copy holding the merged weights, zero memory and fresh
        optimizer state), or a copy of the best source when the merge was reverted.
    report : MergeReport
        Per-source scores before and after, whether it was reverted and why.
    """
    models = list(models)
    if method not in _METHODS:
        raise ValueError(f"merge: method must be one of {_METHODS}, got {method!r}")
    if align not in (None, "weights", "activations"):
        raise ValueError(f"merge: align must be None, 'weights' or 'activations', got {align!r}")
    if not models:
        raise ValueError("merge: needs at least one model")
    if not 0.0 <= float(tolerance):
        raise ValueError(f"merge: tolerance={tolerance!r} must be >= 0")
    if not 0.0 < float(density) <= 1.0:
        raise ValueError(f"merge: density={density!r} must lie in (0, 1]")
    task = method != "average"
    if task and base is None:
        raise ValueError(f"merge: method={method!r} needs the common base model (base=...)")
    n = len(models)
    if weights is None:
        w = np.full(n, 1.0 if task else 1.0 / n)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,) or not np.isfinite(w).all():
            raise ValueError(f"merge: weights must be {n} finite numbers, got {weights!r}")
        if not task and ((w < 0).any() or w.sum() <= 0):
            raise ValueError(f"merge: averaging weights must be non-negative with a positive sum, got {weights!r}")
    if validate is not None and len(validate) != n:
        raise ValueError(f"merge: validate needs one (X, y) per model ({n}), got {len(validate)}")
    for m in models[1:] + ([base] if base is not None else []):
        _check_compatible(models[0], m)
    if task:
        ref = base
        if any(permutable_axes(m) != permutable_axes(base) for m in models):
            raise ValueError(f"merge: method={method!r} needs every model as wide as the base")
    else:
        widths = [sum(permutable_axes(m).values()) for m in models]
        ref = models[int(np.argmax(widths))]
    tensors, perms = _aligned_tensors(ref, models + ([base] if task else []), align, X, random_state)
    base_tensors = tensors.pop() if task else None
    names = [t.name for t in _param_table(ref)]
    merged_values = _combine(method, tensors, w, base_tensors, float(density), names)

    merged = copy.deepcopy(ref)
    views = merged.parameters_
    for name in names:
        views[name][...] = merged_values[name]
    check(lib.mem_model_reset_training_state(merged._model))
    merged.reset_memory()

    report = MergeReport(method=method, align=align, tolerance=float(tolerance), permutations=perms[:n])
    if validate is None:
        return merged, report
    for i, (Xv, yv) in enumerate(validate):
        before, after = _score(models[i], Xv, yv), _score(merged, Xv, yv)
        drop = (before - after) / max(abs(before), 1e-12)
        report.sources.append(SourceReport(i, before, after, drop, drop > tolerance))
    bad = [s for s in report.sources if s.degraded]
    if not bad:
        report.reason = f"every source within the tolerance ({100 * tolerance:g} %)"
        return merged, report
    worst = max(bad, key=lambda s: s.degradation)
    means = [np.mean([report.sources[i].score_before if j == i else _score(m, Xv, yv)
                      for j, (Xv, yv) in enumerate(validate)]) for i, m in enumerate(models)]
    best = int(np.argmax(means))
    report.reverted, report.returned_source = True, best
    report.reason = (f"source {worst.index} degraded by {100 * worst.degradation:.1f} % (score "
                     f"{worst.score_before:.4f} -> {worst.score_after:.4f}) > tolerance "
                     f"{100 * tolerance:g} %: returning source {best} (best mean score "
                     f"{means[best]:.4f})")
    return copy.deepcopy(models[best]), report
