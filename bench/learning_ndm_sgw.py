#!/usr/bin/env python
"""Learning acceptance runs for NDM and SGW-AMN (issue 5), one thread, fixed seeds.

Tasks: Mackey-Glass one-step (2000 train / 1000 test steps, the test continuing the memory left by
training), NARMA10 (``narma10(4000, random_state=0)``, first 3000 train, last 1000 test, continuing),
adding problem T = 50 (5000 training sequences, 1000 fresh test sequences; baseline 1/6).

Usage::

    python bench/learning_ndm_sgw.py --cell ndm --task mg --lr 0.01 --epochs 200
    python bench/learning_ndm_sgw.py --cell sgw_amn --task adding --epochs 30 --set k=8
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import memnative
from memnative import datasets

from learning import nrmse, stream_data  # bench/learning.py: the same tasks and metric


def make(cell: str, lr, epochs: int, extra: dict, **kw):
    cls = {"ndm": memnative.NDM, "sgw_amn": memnative.SGWAMN}[cell]
    return cls(learning_rate=lr, epochs=epochs, random_state=0, n_threads=1, **kw, **extra)


def run(cell: str, task: str, lr, epochs: int, extra: dict, hidden: int) -> str:
    if task in ("mg", "narma"):
        Xtr, ytr, Xte, yte = stream_data("mackey_glass" if task == "mg" else "narma10")
        est = make(cell, lr, epochs, extra, hidden_size=hidden)
        t0 = time.perf_counter()
        est.fit(Xtr, ytr)
        wall = time.perf_counter() - t0
        value = nrmse(est.predict(Xte, reset_memory=False), yte)
        return f"{cell} {task} lr={est.learning_rate} epochs={epochs} {extra} NRMSE {value:.4f} wall {wall:.1f}s"
    Xtr, ytr = datasets.adding_problem(5000, 50, random_state=1)
    Xte, yte = datasets.adding_problem(1000, 50, random_state=2)
    est = make(cell, lr, epochs, extra, hidden_size=hidden, batch_size=32)
    t0 = time.perf_counter()
    est.fit(Xtr, ytr)
    wall = time.perf_counter() - t0
    mse = float(np.mean((est.predict(Xte).ravel() - yte.ravel()) ** 2))
    return (f"{cell} adding T=50 lr={est.learning_rate} epochs={epochs} {extra} test MSE {mse:.4f} "
            f"(baseline {1 / 6:.4f}) wall {wall:.1f}s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cell", required=True)
    ap.add_argument("--task", required=True, choices=["mg", "narma", "adding"])
    ap.add_argument("--lr", type=float, nargs="*", default=[None])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--set", nargs="*", default=[])
    args = ap.parse_args()
    extra = {}
    for item in args.set:
        k, v = item.split("=")
        try:
            extra[k] = int(v)
        except ValueError:
            try:
                extra[k] = float(v)
            except ValueError:
                extra[k] = v
    for lr in args.lr:
        print(run(args.cell, args.task, lr, args.epochs, extra, args.hidden), flush=True)


if __name__ == "__main__":
    main()
