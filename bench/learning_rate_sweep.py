#!/usr/bin/env python
"""Learning-rate sweep behind a kind's default learning rate (bench/learning_rate_sweep.md).

For each learning rate: Mackey-Glass and NARMA10 one-step prediction (2000/1000 and 3000/1000
steps, the test stream continuing the memory left by training, hidden 32; test NRMSE) and the
adding problem (T = 50, 3000 training sequences, hidden 32, batch 50; test MSE on 1000 fresh
sequences, baseline 0.167). Everything else at the kind's defaults (AdamW, cosine schedule,
clip 1.0), 1 thread, seed 0.

Usage::

    python bench/learning_rate_sweep.py --cell amn --rates 0.003 0.01 0.03 0.1
    python bench/learning_rate_sweep.py --cell pmrc --cell-params use_learnable_gates=True
"""
from __future__ import annotations

import argparse
import ast
import sys
import time
from typing import Any, Dict, List, Optional

import numpy as np

import memnative
from memnative import datasets

from learning import nrmse, stream_data  # bench/learning.py: the same tasks and metric


def run_stream(cell: str, name: str, lr: float, epochs: int, params: Dict[str, Any]) -> float:
    Xtr, ytr, Xte, yte = stream_data(name)
    est = memnative.MemoryRegressor(cell=cell, cell_params=params or None, hidden_size=32,
                                    epochs=epochs, learning_rate=lr, n_threads=1, random_state=0)
    est.fit(Xtr, ytr)
    return nrmse(est.predict(Xte, reset_memory=False), yte)


def run_adding(cell: str, lr: float, epochs: int, params: Dict[str, Any]) -> float:
    X, y = datasets.adding_problem(3000, 50, random_state=1)
    Xt, yt = datasets.adding_problem(1000, 50, random_state=2)
    est = memnative.MemoryRegressor(cell=cell, cell_params=params or None, hidden_size=32,
                                    epochs=epochs, batch_size=50, learning_rate=lr, n_threads=1,
                                    random_state=0)
    est.fit(X, y)
    return float(np.mean((est.predict(Xt) - yt) ** 2))


def parse_params(items: List[str]) -> Dict[str, Any]:
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        params[key] = ast.literal_eval(value)
    return params


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", required=True)
    parser.add_argument("--cell-params", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--rates", nargs="+", type=float, default=[0.003, 0.01, 0.03, 0.1])
    parser.add_argument("--stream-epochs", nargs="+", type=int, default=[300, 1000])
    parser.add_argument("--adding-epochs", type=int, default=20)
    args = parser.parse_args(argv)
    params = parse_params(args.cell_params)

    columns = [f"Mackey-Glass {e} ep" for e in args.stream_epochs]
    columns += [f"NARMA10 {e} ep" for e in args.stream_epochs]
    columns.append(f"adding T=50 {args.adding_epochs} ep (MSE)")
    print(f"cell {args.cell} {params or ''}")
    print("| learning rate | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for lr in args.rates:
        started = time.perf_counter()
        row = [run_stream(args.cell, "mackey_glass", lr, e, params) for e in args.stream_epochs]
        row += [run_stream(args.cell, "narma10", lr, e, params) for e in args.stream_epochs]
        row.append(run_adding(args.cell, lr, args.adding_epochs, params))
        print(f"| {lr:g} | " + " | ".join(f"{v:.4f}" for v in row) + " |", flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
