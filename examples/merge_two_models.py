"""Merging two trained memnative models: the loss barrier between them, before and after
aligning their neurons, and quality control of the merge.

1. Same task, different seeds: two AMRC models learn NARMA10. Along the straight line between
   their weights, (1 - α) θ_a + α θ_b, the naive interpolation climbs a loss barrier; permuting
   b's hidden units onto a's first (``memnative.align.match_neurons`` + ``permute``) lowers it.
2. Quality control: ``memnative.align.merge(..., validate=...)`` compares each source's score
   before and after the merge and reverts it when one degrades by more than the tolerance —
   shown for the two seeds, for a model and its fine-tuned copy, and for two tasks (NARMA10 and
   the mean of the last 10 inputs) on the same input stream.

Run ``python merge_two_models.py`` (about a minute) or ``--quick`` (a few seconds, one pair of
smaller models). The plot goes to ``merge_barrier.png`` (``--out`` to change it).
"""
from __future__ import annotations

import argparse
import copy
from typing import Any, Dict, List

import numpy as np

import memnative
from memnative import align, datasets

ALPHAS = np.linspace(0.0, 1.0, 11)


def test_mse(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error on the test stream, from zero memory (on a copy: no side effects)."""
    return float(np.mean((copy.deepcopy(model).predict(X) - y) ** 2))


def curve(a: Any, b: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Test loss of (1 - α) θ_a + α θ_b along ALPHAS (unit by unit, as the models stand)."""
    losses = []
    for alpha in ALPHAS:
        point, _ = align.merge([a, b], weights=[1.0 - alpha, alpha], align=None)
        losses.append(test_mse(point, X, y))
    return np.array(losses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one pair of smaller models")
    parser.add_argument("--pairs", type=int, default=None, help="pairs of seeds (default 5, quick 1)")
    parser.add_argument("--out", default="merge_barrier.png", help="where the plot goes")
    args = parser.parse_args()
    hidden, epochs, n_train = (16, 30, 600) if args.quick else (32, 60, 1000)
    pairs = args.pairs or (1 if args.quick else 5)

    X, y = datasets.narma10(n_train + 500, random_state=0)
    X_tr, y_tr, X_te, y_te = X[:n_train], y[:n_train], X[n_train:], y[n_train:]

    def train(seed: int, target: np.ndarray) -> Any:
        return memnative.AMRC(hidden_size=hidden, epochs=epochs, random_state=seed).fit(X_tr, target)

    print(f"1. same task (NARMA10), AMRC hidden_size={hidden}, {epochs} epochs; test MSE")
    curves: Dict[str, List[np.ndarray]] = {"naive": [], "aligned (activations)": [], "aligned (weights)": []}
    wins = 0
    for p in range(pairs):
        a, b = train(2 * p, y_tr), train(2 * p + 1, y_tr)
        by_act = align.permute(b, align.match_neurons(a, b, X_tr[:400], method="activations"))
        by_w = align.permute(b, align.match_neurons(a, b, method="weights"))
        for name, other in zip(curves, (b, by_act, by_w)):
            curves[name].append(curve(a, other, X_te, y_te))
        naive, act, wgt = (curves[k][-1] for k in curves)
        mid = len(ALPHAS) // 2
        wins += act[mid] < naive[mid]
        print(f"  seeds {2 * p},{2 * p + 1}: endpoints {naive[0]:.4f} {naive[-1]:.4f}  midpoint naive "
              f"{naive[mid]:.4f}  aligned (activations) {act[mid]:.4f}  aligned (weights) {wgt[mid]:.4f}")
    means = {k: np.mean(v, axis=0) for k, v in curves.items()}
    mid = len(ALPHAS) // 2
    print(f"  mean over {pairs} pairs: endpoints {means['naive'][0]:.4f} {means['naive'][-1]:.4f}  midpoint "
          f"naive {means['naive'][mid]:.4f}  aligned (activations) {means['aligned (activations)'][mid]:.4f}  "
          f"aligned (weights) {means['aligned (weights)'][mid]:.4f}")
    print(f"  aligned (activations) midpoint below naive in {wins}/{pairs} pairs")

    print("\n2. quality control (tolerance 2 % of each source's R^2 on its own test data)")
    a, b = train(0, y_tr), train(1, y_tr)
    tuned = copy.deepcopy(a).set_params(warm_start=True, learning_rate=0.003)
    tuned.fit(X_tr, y_tr, epochs=5)  # a fine-tuned copy: the same basin as a
    window = 10  # another task on the same inputs: the mean of the last 10 inputs
    smooth = np.stack([np.convolve(X[:, 0], np.ones(window) / window)[: len(X)]], axis=1).astype(np.float32)
    c = train(2, smooth[:n_train])
    cases = [("same task, two seeds", a, b, y_te, y_te),
             ("same task, a and its fine-tuned copy", a, tuned, y_te, y_te),
             ("different tasks (NARMA10, mean of the last 10 inputs)", a, c, y_te, smooth[n_train:])]
    for title, first, second, y_first, y_second in cases:
        _, report = align.merge([first, second], align="activations", X=X_tr[:400],
                                validate=[(X_te, y_first), (X_te, y_second)])
        print(f"  {title}, aligned average:\n" + _indent(str(report)))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in means.items():
        ax.plot(ALPHAS, values, marker="o", label=name)
    ax.set_xlabel("α  ((1 − α) θ_a + α θ_b)")
    ax.set_ylabel("test MSE (NARMA10)")
    ax.set_title(f"Loss barrier between two AMRC models (mean of {pairs} pairs)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"\nplot: {args.out}")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


if __name__ == "__main__":
    main()
