#!/usr/bin/env python
"""Learning results of the seven cells (AMRC, PMRC, AMN, DTPN, Hyper-AMN, SGW-AMN, NDM).

One harness for every learning figure in the README. Tasks (one thread, fixed seeds: data train 1,
test 2, model 0, so the numbers repeat on the same machine):

- ``mackey_glass``: one-step prediction, 2000 training / 1000 test steps
  (``datasets.mackey_glass_forecast(2000, 1000)``); the test stream continues the memory left by
  training (``predict(X_test, reset_memory=False)``); test NRMSE; baseline: repeating the last value;
- ``narma10``: ``datasets.narma10(4000, random_state=0)``, the first 3000 steps for training, the
  last 1000 for the test (continuing); NRMSE; baseline: the training mean (about 1);
- ``adding``: the adding problem at T = 50, 5000 training sequences, test MSE on 1000 fresh
  sequences; baseline 1/6 (always predicting 1.0); target 10x under it.

``SETTINGS`` holds each (task, cell) run: hidden 32 for streams and every cell keyword at the
kind's default unless listed; the learning rate is the kind's default (``bench/learning_rate_sweep.md``)
unless listed. ``TARGETS`` holds the acceptance targets (issue 5 for the cousins, the PMRC/AMN
issue for those two; AMRC and NDM-adding are reported only).

``--long`` adds the long-memory runs of PMRC and AMN (adding at T = 200, and 400/800 for the AMN;
the copy task at T = 100), with their own table.

Usage::

    python bench/learning.py                                   # all seven cells, all three tasks
    python bench/learning.py --cells dtpn ndm --tasks narma10  # a subset
    python bench/learning.py --quick                           # smoke sizes, seconds per run
    python bench/learning.py --readme                          # also rewrite the README table
    python bench/learning.py --table-only --readme             # README table from the JSON alone
    python bench/learning.py --long --cells amn pmrc           # + the long-memory runs

Results are merged into ``bench/results/learning.json`` (``learning_quick.json`` with ``--quick``)
after every run, keyed by (task, cell), so a partial run updates its rows; the markdown table of
all rows in the JSON is printed, written next to it (``.md``) and, with ``--readme``, put between
``<!-- learning-table:start -->`` and ``<!-- learning-table:end -->`` in README.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import memnative
from memnative import datasets

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
MARK_START, MARK_END = "<!-- learning-table:start -->", "<!-- learning-table:end -->"
ADDING_BASELINE = 1.0 / 6.0

CELLS = ["amrc", "pmrc", "amn", "dtpn", "hyper_amn", "sgw_amn", "ndm"]
TASKS = ["mackey_glass", "narma10", "adding"]
LABELS = {"amrc": "AMRC", "pmrc": "PMRC", "amn": "AMN", "dtpn": "DTPN", "hyper_amn": "Hyper-AMN",
          "sgw_amn": "SGW-AMN", "ndm": "NDM"}


@dataclass
class Result:
    task: str
    cell: str
    settings: str
    steps: int
    wall_s: float
    metric: str
    value: float
    baseline: float
    target: str
    met: Optional[bool]
    extra: str = ""
    curve: List[str] = field(default_factory=list)


# ---- helpers ------------------------------------------------------------------------------------

def nrmse(pred: np.ndarray, truth: np.ndarray) -> float:
    pred, truth = np.ravel(pred), np.ravel(truth)
    return float(np.sqrt(np.mean((pred - truth) ** 2) / np.var(truth)))


def stream_steps_per_epoch(n_steps: int, batch_size: int = 32, bptt: int = 32) -> int:
    """Optimizer steps per epoch of a stream: libmem splits it into
    min(batch_size, n_steps // (4 bptt)) sub-streams and takes one step per bptt window of the
    longest (the last) sub-stream (``libmem/src/model/train.c``)."""
    n_sub = max(1, min(batch_size, n_steps // (4 * bptt)))
    last = n_steps - (n_sub - 1) * (n_steps // n_sub)
    return math.ceil(last / bptt)


def describe(kw: Dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in kw.items())


def summarize(values: List[float], fmt: str = "{:.4f}", points: int = 5) -> str:
    """A few points of a per-epoch curve: 'ep1 a, ep4 b, ..., epN z'."""
    n = len(values)
    idx = sorted({0, n - 1, *(round(i * (n - 1) / (points - 1)) for i in range(points))})
    return ", ".join(f"ep{i + 1} " + fmt.format(values[i]) for i in idx)


class Timer:
    """Training wall time minus the time spent in the evaluation callback."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.excluded = 0.0

    def exclude(self, seconds: float) -> None:
        self.excluded += seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.excluded


def curve_callback(timer: Timer, evaluate: Callable[[Any], float], store: List[float]
                   ) -> Callable[..., bool]:
    def callback(est: Any, epoch: int, logs: Dict[str, float]) -> bool:
        t = time.perf_counter()
        store.append(evaluate(est))
        timer.exclude(time.perf_counter() - t)
        return False
    return callback


def estimator_class(cell: str) -> Any:
    return {"amn": memnative.AMN, "pmrc": memnative.PMRC}[cell]


# ---- the seven-cell table: settings and targets ---------------------------------------------------
# (task, cell) -> estimator keywords for MemoryRegressor(cell=...) beyond n_threads / random_state;
# "cell_params" are the cell's own keywords. Streams: hidden 32; adding: hidden 64 unless listed.

_STREAM = dict(hidden_size=32, epochs=1000)
_ADDING = dict(hidden_size=64, epochs=10, batch_size=50)
SETTINGS: Dict[Tuple[str, str], Dict[str, Any]] = {
    ("mackey_glass", "amrc"): dict(_STREAM),
    ("narma10", "amrc"): dict(_STREAM),
    ("adding", "amrc"): dict(_ADDING),
    ("mackey_glass", "pmrc"): dict(_STREAM, cell_params=dict(use_learnable_gates=True)),
    ("narma10", "pmrc"): dict(_STREAM, cell_params=dict(use_learnable_gates=True)),
    ("adding", "pmrc"): dict(_ADDING, cell_params=dict(use_learnable_gates=True)),
    ("mackey_glass", "amn"): dict(_STREAM),
    ("narma10", "amn"): dict(_STREAM),
    ("adding", "amn"): dict(_ADDING),
    ("mackey_glass", "dtpn"): dict(_STREAM),
    ("narma10", "dtpn"): dict(_STREAM),
    # the adding problem wants a smaller step than DTPN's stream default 0.02 (20 epochs: 0.0175-0.027
    # at 0.02, 0.0028 at 0.01)
    ("adding", "dtpn"): dict(_ADDING, epochs=20, learning_rate=0.01),
    # Hyper-AMN on the 2000-step Mackey-Glass stream: lru_max 0.99, the spec's advice for streams
    # (the slowest LRU time scale below the history seen). Seeds 0-4: 0.0045 / 0.0077 / 0.0037 /
    # 0.0176 / 0.0080; at the default 0.999: 0.049 / 0.019 / 0.0095 for seeds 0-2
    ("mackey_glass", "hyper_amn"): dict(_STREAM, cell_params=dict(lru_max=0.99)),
    ("narma10", "hyper_amn"): dict(_STREAM),
    ("adding", "hyper_amn"): dict(_ADDING),
    # SGW-AMN on Mackey-Glass: memory_decay 0.99 (DTPN's default) and 1000 epochs at lr 0.03, seeds
    # 0-4 0.0266 / 0.0338 / 0.0208 / 0.0433 / 0.0281; at its default lr 0.1 (best for the estimator's
    # 100 epochs) 1000 epochs diverge to the 0.146 baseline and 300 give 0.036 / 0.042 / 0.038 / 0.042 /
    # 0.044 (0.053 / 0.038 / 0.046 / 0.041 / 0.045 with memory_decay 0.995); adding at lr 0.01
    ("mackey_glass", "sgw_amn"): dict(_STREAM, learning_rate=0.03, cell_params=dict(memory_decay=0.99)),
    # NARMA10 stays at 0.59-0.87 whatever the setting (sparsity 0, lr 0.01/0.03, workspace 64, k 4/64,
    # temperature 0.1/2, workspace_memory 0.5, output_memory, bptt 64, hidden 64, 1000 epochs, W_in
    # initialised 3x or 10x larger; random searches over about 120 settings of the cell's and the
    # training's options, seed 0: best 0.606; longer windows help, and the figures flatten just
    # above 0.6). The setting below adds weight decay 0.01: seeds 0-4 0.6002 / 0.5945 / 0.6260 /
    # 0.6076 / 0.6021, against 0.6062 / 0.6121 / 0.6155 / 0.6171 / 0.6086 without (weight decay
    # 0.001-0.1, clip norm 5 or none, manifold 16/128 rows, 2000 epochs, slower initial workspace
    # rates: 0.60-0.86)
    ("narma10", "sgw_amn"): dict(_STREAM, learning_rate=0.02, bptt=128, batch_size=16, output_memory=True,
                                 weight_decay=0.01,
                                 cell_params=dict(n_candidates=256, workspace_size=64, k=8, temperature=2.0,
                                                  workspace_memory=0.9, sparsity=0.0, memory_decay=0.99)),
    ("adding", "sgw_amn"): dict(hidden_size=32, epochs=12, batch_size=32, learning_rate=0.01),
    # NDM: 200 epochs on Mackey-Glass; NARMA10 wants a smaller step (lr 0.003, 1000 epochs: 0.483;
    # at the default 0.03: 0.70; bench/learning_rate_sweep.md)
    ("mackey_glass", "ndm"): dict(_STREAM, epochs=200),
    ("narma10", "ndm"): dict(_STREAM, learning_rate=0.003),
    ("adding", "ndm"): dict(hidden_size=32, epochs=12, batch_size=32, learning_rate=0.01),
}
#: acceptance targets (value must be below); None = reported only
TARGETS: Dict[Tuple[str, str], Optional[float]] = {
    ("mackey_glass", "pmrc"): 0.02, ("mackey_glass", "amn"): 0.02,
    ("narma10", "pmrc"): 0.4, ("narma10", "amn"): 0.4,
    ("mackey_glass", "dtpn"): 0.03, ("mackey_glass", "hyper_amn"): 0.03,
    ("mackey_glass", "ndm"): 0.03, ("mackey_glass", "sgw_amn"): 0.05,
    ("narma10", "dtpn"): 0.5, ("narma10", "hyper_amn"): 0.5,
    ("narma10", "sgw_amn"): 0.6, ("narma10", "ndm"): 0.6,
    ("adding", "dtpn"): ADDING_BASELINE / 10, ("adding", "hyper_amn"): ADDING_BASELINE / 10,
    ("adding", "sgw_amn"): ADDING_BASELINE / 10,
}
QUICK_EPOCHS = {"mackey_glass": 20, "narma10": 20, "adding": 2}
QUICK_ADDING_TRAIN = 500


def stream_data(task: str):
    """(X_train, y_train, X_test, y_test) of a stream task."""
    if task == "mackey_glass":
        return datasets.mackey_glass_forecast(2000, 1000)
    X, y = datasets.narma10(4000, random_state=0)
    return X[:3000], y[:3000], X[3000:], y[3000:]


def make_estimator(cell: str, kw: Dict[str, Any], threads: int, **extra: Any) -> Any:
    kw = dict(kw)
    params = kw.pop("cell_params", None)
    return memnative.MemoryRegressor(cell=cell, cell_params=params, n_threads=threads,
                                     random_state=0, **kw, **extra)


def run_one(task: str, cell: str, threads: int = 1, quick: bool = False) -> Result:
    """Train and score one (task, cell) of the seven-cell table."""
    kw = dict(SETTINGS[(task, cell)])
    if quick:
        kw["epochs"] = QUICK_EPOCHS[task]
    target = TARGETS.get((task, cell))
    if task == "adding":
        n_train = QUICK_ADDING_TRAIN if quick else 5000
        X, y = datasets.adding_problem(n_train, 50, random_state=1)
        Xt, yt = datasets.adding_problem(1000, 50, random_state=2)
    else:
        X, y, Xt, yt = stream_data(task)
    est = make_estimator(cell, kw, threads)
    t0 = time.perf_counter()
    est.fit(X, y)
    wall = time.perf_counter() - t0
    if task == "adding":
        metric, value, baseline = "test MSE", float(np.mean((est.predict(Xt) - yt) ** 2)), ADDING_BASELINE
        steps = est.n_iter_ * math.ceil(len(X) / kw["batch_size"])
        extra = ""
    else:
        metric, value = "test NRMSE", nrmse(est.predict(Xt, reset_memory=False), yt)
        baseline = (nrmse(Xt, yt) if task == "mackey_glass"  # repeating the last value
                    else nrmse(np.full_like(yt, float(np.mean(y))), yt))  # the training mean
        steps = est.n_iter_ * stream_steps_per_epoch(len(X), kw.get("batch_size", 32), kw.get("bptt") or 32)
        extra = f"from zero memory (reset_memory=True) {nrmse(est.predict(Xt), yt):.4f}"
    settings = describe({k: v for k, v in kw.items() if k != "cell_params"})
    if kw.get("cell_params"):
        settings += ", " + describe(kw["cell_params"])
    if "learning_rate" not in kw:
        settings += ", lr default"
    return Result(task, cell, settings, int(steps), wall, metric, value, baseline,
                  "-" if target is None else f"< {target:.4g}",
                  None if target is None else bool(value < target), extra,
                  ["train loss: " + summarize(est.loss_curve_, "{:.3g}")])


# ---- the long-memory runs of PMRC and AMN (--long) --------------------------------------------------

ADDING = {
    # AMN with the documented long-memory settings; AMN's default learning rate (0.01)
    ("amn", 200): dict(n_train=10000, batch_size=50, epochs=4, learning_rate=None,
                       cell=dict(feedback=False, lru_max=0.9999)),
    ("pmrc", 200): dict(n_train=10000, batch_size=50, epochs=4, learning_rate=None,
                        cell=dict(use_learnable_gates=True)),
}
ADDING_LONG = {  # --long: AMN at longer T, each sized to train in under 10 minutes on one core
    ("amn", 400): dict(n_train=5000, batch_size=50, epochs=8, learning_rate=None,
                       cell=dict(feedback=False, lru_max=0.9999)),
    ("amn", 800): dict(n_train=2500, batch_size=25, epochs=8, learning_rate=None,
                       cell=dict(feedback=False, lru_max=0.9999)),
}
ADDING_QUICK = {
    ("amn", 20): dict(n_train=2000, batch_size=20, epochs=3, learning_rate=None,
                      cell=dict(feedback=False, lru_max=0.9999)),
    ("pmrc", 20): dict(n_train=2000, batch_size=20, epochs=3, learning_rate=None,
                       cell=dict(use_learnable_gates=True)),
}

COPY = {
    # measured at learning rate 0.01 (AMN's default before the sweep); not re-run at 0.03
    "amn": dict(delay=100, n_train=10000, batch_size=50, epochs=15, learning_rate=0.01,
                cell=dict(feedback=False, lru_max=0.9999)),
    "pmrc": dict(delay=100, n_train=10000, batch_size=50, epochs=50, learning_rate=None,
                 cell=dict(use_learnable_gates=True)),
}
COPY_QUICK = {
    "amn": dict(delay=20, n_train=1000, batch_size=50, epochs=2, learning_rate=None,
                cell=dict(feedback=False, lru_max=0.9999)),
    "pmrc": dict(delay=20, n_train=1000, batch_size=50, epochs=2, learning_rate=None,
                 cell=dict(use_learnable_gates=True)),
}

def run_adding(cell: str, T: int, s: Dict[str, Any], threads: int, hidden: int = 64) -> Result:
    X, y = datasets.adding_problem(s["n_train"], T, random_state=1)
    Xt, yt = datasets.adding_problem(1000, T, random_state=2)
    curve: List[float] = []
    timer = Timer()
    n_curve = 100  # a cheap per-epoch test curve on the first 100 test sequences
    cb = curve_callback(timer, lambda e: float(np.mean((e.predict(Xt[:n_curve]) - yt[:n_curve]) ** 2)),
                        curve)
    est = estimator_class(cell)(hidden_size=hidden, epochs=s["epochs"], batch_size=s["batch_size"],
                                learning_rate=s["learning_rate"], n_threads=threads, random_state=0,
                                callbacks=[cb], **s["cell"])
    timer.start = time.perf_counter()
    est.fit(X, y)
    wall = timer.elapsed()
    mse = float(np.mean((est.predict(Xt) - yt) ** 2))
    steps = est.n_iter_ * math.ceil(s["n_train"] / s["batch_size"])
    lr = s["learning_rate"] or "default"
    settings = (f"T={T}, h{hidden}, {describe(s['cell']) or 'defaults'}, lr {lr}, "
                f"batch {s['batch_size']}, {s['n_train']} seqs x {s['epochs']} ep")
    below = next((i for i, v in enumerate(curve) if v < 0.01), None)
    extra = ("first test MSE < 0.01 (100 seqs) after epoch "
             f"{below + 1} ({(below + 1) * math.ceil(s['n_train'] / s['batch_size'])} steps)"
             if below is not None else "test MSE (100 seqs) never < 0.01")
    return Result("adding", cell, settings, steps, wall, "test MSE", mse, ADDING_BASELINE,
                  "< 0.01", mse < 0.01, extra,
                  ["test MSE (100 seqs): " + summarize(curve),
                   "train loss: " + summarize(est.loss_curve_)])


def recall_accuracy(est: Any, X: np.ndarray, y: np.ndarray, K: int) -> float:
    return float(np.mean(est.predict(X)[:, -K:] == y[:, -K:]))


def run_copy(cell: str, s: Dict[str, Any], threads: int, hidden: int = 64, K: int = 10) -> Result:
    T = s["delay"]
    X, y = datasets.copy_task(s["n_train"], delay=T, copy_len=K, random_state=1)
    Xt, yt = datasets.copy_task(1000, delay=T, copy_len=K, random_state=2)
    curve: List[float] = []
    timer = Timer()
    cb = curve_callback(timer, lambda e: recall_accuracy(e, Xt[:200], yt[:200], K), curve)
    est = memnative.MemoryClassifier(
        cell=cell, cell_params=s["cell"] or None, hidden_size=hidden, target="per_step",
        epochs=s["epochs"], batch_size=s["batch_size"], learning_rate=s["learning_rate"],
        n_threads=threads, random_state=0, callbacks=[cb])
    timer.start = time.perf_counter()
    est.fit(X, y)
    wall = timer.elapsed()
    acc = recall_accuracy(est, Xt, yt, K)
    proba = est.predict_proba(Xt)  # classes_ are 0..8, so column c is class c
    p_true = np.take_along_axis(proba, yt[..., None], axis=-1)[..., 0]
    ce = float(-np.mean(np.log(np.maximum(p_true, 1e-12))))
    per_pos = np.mean(est.predict(Xt)[:, -K:] == yt[:, -K:], axis=0)
    steps = est.n_iter_ * math.ceil(s["n_train"] / s["batch_size"])
    lr = s["learning_rate"] or "default"
    settings = (f"T={T}, h{hidden}, {describe(s['cell']) or 'defaults'}, lr {lr}, "
                f"batch {s['batch_size']}, {s['n_train']} seqs x {s['epochs']} ep")
    ce_base = K * math.log(8) / (T + 2 * K)
    extra = (f"test CE {ce:.4f} (memoryless {ce_base:.4f}); recall accuracy by position "
             + " ".join(f"{v:.2f}" for v in per_pos))
    return Result("copy", cell, settings, steps, wall, "recall accuracy", acc, 1.0 / 8,
                  ">= 0.99 (goal)", acc >= 0.99, extra,
                  ["recall accuracy (200 seqs): " + summarize(curve),
                   "train loss: " + summarize(est.loss_curve_)])


def run_long(cells: List[str], quick: bool, threads: int, report: Callable[[Result], None]) -> List[Result]:
    results: List[Result] = []
    table = ADDING_QUICK if quick else {**ADDING, **ADDING_LONG}
    for key, s in table.items():
        if key[0] in cells:
            results.append(run_adding(key[0], key[1], s, threads))
            report(results[-1])
    for cell in ("amn", "pmrc"):
        if cell in cells:
            results.append(run_copy(cell, (COPY_QUICK if quick else COPY)[cell], threads))
            report(results[-1])
    return results


# ---- results file, tables, README ------------------------------------------------------------------

def load_results(path: Path) -> Dict[str, Dict[str, Any]]:
    if path.exists():
        return json.loads(path.read_text())
    return {}


def save_result(path: Path, r: Result) -> None:
    """Merge one result into the JSON (keyed 'task/cell'), written atomically."""
    data = load_results(path)
    row = asdict(r)
    row["date"] = time.strftime("%Y-%m-%d", time.gmtime())
    data[f"{r.task}/{r.cell}"] = row
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _cell_value(row: Optional[Dict[str, Any]]) -> str:
    if row is None:
        return "not run"
    mark = {True: " ✓", False: " ✗", None: ""}[row["met"]]
    return f"{row['value']:.4f}{mark}"


def seven_cell_table(data: Dict[str, Dict[str, Any]]) -> str:
    """Tasks as rows, the seven cells as columns (✓ / ✗: acceptance target met or not)."""
    names = {"mackey_glass": "Mackey-Glass 2000/1000, NRMSE", "narma10": "NARMA10 3000/1000, NRMSE",
             "adding": "adding T = 50, 5000 seqs, test MSE"}
    lines = ["| task | " + " | ".join(LABELS[c] for c in CELLS) + " |",
             "|---|" + "---|" * len(CELLS)]
    for task in TASKS:
        lines.append(f"| {names[task]} | "
                     + " | ".join(_cell_value(data.get(f"{task}/{c}")) for c in CELLS) + " |")
    return "\n".join(lines)


def settings_table(data: Dict[str, Dict[str, Any]]) -> str:
    lines = ["| task | cell | settings | steps | wall (s) | value | baseline | target | met |",
             "|---|---|---|---|---|---|---|---|---|"]
    for task in TASKS + ["copy"]:
        for cell in CELLS:
            rows = [r for k, r in sorted(data.items()) if r["task"] == task and r["cell"] == cell]
            for r in rows:
                met = "-" if r["met"] is None else ("yes" if r["met"] else "no")
                lines.append(f"| {r['task']} | {LABELS[cell]} | {r['settings']} | {r['steps']} | "
                             f"{r['wall_s']:.0f} | {r['value']:.4f} | {r['baseline']:.4f} | "
                             f"{r['target']} | {met} |")
    return "\n".join(lines)


def markdown(results: List[Result]) -> str:
    """A settings table of the given results (the --long runs)."""
    return settings_table({f"{r.task}/{r.cell}/{i}": asdict(r) for i, r in enumerate(results)})


def rewrite_readme(table: str, readme: Path = README) -> None:
    text = readme.read_text()
    if MARK_START not in text or MARK_END not in text:
        raise SystemExit(f"{readme}: markers {MARK_START} / {MARK_END} not found")
    before, rest = text.split(MARK_START, 1)
    _, after = rest.split(MARK_END, 1)
    readme.write_text(before + MARK_START + "\n" + table + "\n" + MARK_END + after)


# ---- driver ---------------------------------------------------------------------------------------

def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=CELLS)
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=TASKS)
    parser.add_argument("--quick", action="store_true",
                        help="smoke-sized runs (few epochs; targets not expected)")
    parser.add_argument("--long", action="store_true",
                        help="also PMRC/AMN adding at T=200 (AMN 400, 800) and the copy task")
    parser.add_argument("--threads", type=int, default=1, help="n_threads of every estimator")
    parser.add_argument("--json", type=Path, default=None,
                        help="results file (default bench/results/learning[_quick].json)")
    parser.add_argument("--table-only", action="store_true", help="no runs: tables from the JSON")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's seven-cell table")
    parser.add_argument("--curves", action="store_true", help="print the loss / test curves")
    args = parser.parse_args(argv)
    path = args.json or RESULTS / ("learning_quick.json" if args.quick else "learning.json")

    def report(r: Result) -> None:
        print(f"[{r.task} {r.cell}] {r.metric} {r.value:.4f} ({r.settings}; {r.steps} steps, "
              f"{r.wall_s:.0f} s) {r.extra}", file=sys.stderr, flush=True)
        if args.curves:
            for c in r.curve:
                print("    " + c, file=sys.stderr, flush=True)

    if not args.table_only:
        for cell in args.cells:  # cheap cells first, each cell's tasks together
            for task in args.tasks:
                r = run_one(task, cell, args.threads, args.quick)
                report(r)
                save_result(path, r)
    data = load_results(path)
    table = seven_cell_table(data)
    text = table + "\n\n" + settings_table(data) + "\n"
    path.with_suffix(".md").write_text(text)
    print(text)
    if args.long and not args.table_only:
        long_results = run_long(args.cells, args.quick, args.threads, report)
        print(markdown(long_results))
    if args.readme:
        rewrite_readme(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
