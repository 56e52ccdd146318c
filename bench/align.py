"""Benchmark of memnative.align: the assignment solver against scipy (and the `lapjv` / `lap`
packages when installed), and linear CKA against numpy's float32 feature-space computation.

Uniform random float64 costs, one thread (set before numpy loads), median of R runs with min-max
(the solvers take turns within each round, so a shared machine's load hits them alike), ratios
against the peers measured in the same run; `lap` runs once at n > 2000 (seconds per run).
Prints a markdown table.

    python bench/align.py [--repeats 5] [--sizes 1000 2000 4000] [--cka-repeats 15] [--quick]
"""
from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from memnative import align  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import assignment_peers, checked_cost, cka_error, cka_pair, numpy_linear_cka  # noqa: E402


def _race(fns, repeats, once=()):
    """Median, min and max seconds of each function over `repeats` rounds. Every round runs each
    function once, in an order rotated per round, so that all of them see the same machine load
    (the machine may be shared). Names in `once` run in the first round only."""
    times = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            if r > 0 and name in once:
                continue
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return {k: (float(np.median(v)), min(v), max(v)) for k, v in times.items()}


def bench_assignment(sizes, repeats):
    peers = assignment_peers()
    rows = []
    for n in sizes:
        cost = checked_cost(n)
        fns = {"memnative": lambda: align.linear_sum_assignment(cost)}
        for name, fn in peers.items():
            fns[name] = (lambda f: (lambda: f(cost)))(fn)
        res = _race(fns, repeats, once=("lap",) if n > 2000 else ())
        rows.append((n, res))
    names = ["memnative"] + list(peers)
    print("### Linear sum assignment, uniform random float64, 1 thread\n")
    print("| n | " + " | ".join(f"{k} s (min-max)" for k in names) + " | " +
          " | ".join(f"{k} / memnative" for k in names[1:]) + " |")
    print("|---" * (1 + 2 * len(names) - 1) + "|")
    for n, res in rows:
        cells = [f"{res[k][0]:.4f} ({res[k][1]:.4f}-{res[k][2]:.4f})" for k in names]
        ratios = [f"{res[k][0] / res['memnative'][0]:.2f}x" for k in names[1:]]
        print(f"| {n} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print()


def bench_cka(repeats, n=2000, dims=(256, 512)):
    print(f"### Linear CKA, n = {n}, float32, 1 thread\n")
    print("| d | memnative s (min-max) | numpy s (min-max) | numpy / memnative | |diff| |")
    print("|---|---|---|---|---|")
    for d in dims:
        X, Y = cka_pair(n, d)
        res = _race({"memnative": lambda: align.cka(X, Y, n_threads=1),
                     "numpy": lambda: numpy_linear_cka(X, Y)}, repeats)
        ours, ref = res["memnative"], res["numpy"]
        diff = cka_error(X, Y)
        print(f"| {d} | {ours[0]:.4f} ({ours[1]:.4f}-{ours[2]:.4f}) | {ref[0]:.4f} "
              f"({ref[1]:.4f}-{ref[2]:.4f}) | {ref[0] / ours[0]:.2f}x | {diff:.1e} |")
    print()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    p.add_argument("--quick", action="store_true", help="small sizes, 3 repeats (smoke run)")
    p.add_argument("--skip-cka", action="store_true")
    p.add_argument("--cka-repeats", type=int, default=15,
                   help="rounds of the CKA race (a few ms each: more rounds steady the median)")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats = [300, 600], 3
    bench_assignment(args.sizes, args.repeats)
    if not args.skip_cka:
        bench_cka(args.repeats if args.quick else args.cka_repeats, n=600 if args.quick else 2000,
                  dims=(64,) if args.quick else (256, 512))


if __name__ == "__main__":
    main()
