"""Command line: ``python -m memnative demo`` and ``python -m memnative info``.

``demo`` trains :class:`memnative.AMRC` on Mackey-Glass one-step-ahead prediction, forecasts the
test stream continuing the memory left by training, prints train/test NRMSE next to the naive
repeat-the-last-value baseline, and draws the forecast and the loss curve into a PNG (when
matplotlib is installed). ``info`` prints what a bug report needs (versions, build, threads, where
the library was loaded from).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Dict, List, Optional

import numpy as np

from . import __version__
from . import _lib


def nrmse(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """Normalised root mean squared error, ``sqrt(mean((y_pred - y_true)**2) / var(y_true))``."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    return float(np.sqrt(np.mean((y_pred - y_true) ** 2) / np.var(y_true)))


def demo(epochs: int = 1000, hidden_size: int = 32, out: Optional[str] = "demo.png",
         n_train: int = 2000, n_test: int = 1000) -> Dict[str, float]:
    """Train AMRC on Mackey-Glass (x_t -> x_{t+1}) and forecast the continuation of the stream.

    Parameters
    ----------
    epochs : int, default 1000
    hidden_size : int, default 32
    out : str or None, default "demo.png"
        Where to write the plot (forecast vs truth, loss curve); None: no plot.
    n_train, n_test : int, default 2000 and 1000
        Lengths of the training stream and of the test stream that continues it.

    Returns
    -------
    dict
        ``train_nrmse``, ``test_nrmse``, ``naive_nrmse`` and ``fit_seconds``.
    """
    from . import AMRC, datasets

    X_train, y_train, X_test, y_test = datasets.mackey_glass_forecast(n_train=n_train,
                                                                      n_test=n_test)
    print(f"memnative {__version__} demo: AMRC(hidden_size={hidden_size}) on Mackey-Glass "
          f"one-step prediction, {n_train} training steps, {n_test} test steps continuing them, "
          f"{epochs} epochs", flush=True)
    model = AMRC(hidden_size=hidden_size, epochs=epochs, random_state=0)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    # The forecasting protocol: fit leaves the memory at the end of the training stream, and the
    # test stream continues it (reset_memory=False), so no warm-up steps are lost.
    test_pred = model.predict(X_test, reset_memory=False)
    # The training stream from zero memory (predict's default).
    train_pred = model.predict(X_train)
    metrics = {"train_nrmse": nrmse(train_pred, y_train), "test_nrmse": nrmse(test_pred, y_test),
               # the naive forecast repeats the current value: y_hat[t] = x[t]
               "naive_nrmse": nrmse(X_test, y_test), "fit_seconds": seconds}
    print(f"fit time     {seconds:.2f} s ({model.n_iter_} epochs, final loss "
          f"{model.loss_curve_[-1]:.3g})")
    print(f"train NRMSE  {metrics['train_nrmse']:.4f}")
    print(f"test NRMSE   {metrics['test_nrmse']:.4f}   (test stream continuing the memory)")
    print(f"naive NRMSE  {metrics['naive_nrmse']:.4f}   (repeat the last value, for reference)")
    if out is not None:
        _demo_plot(model, y_test, test_pred, metrics["test_nrmse"], out)
    return metrics


def _demo_plot(model: object, y_test: np.ndarray, test_pred: np.ndarray, test_nrmse: float,
               out: str) -> None:
    try:
        from . import plot

        plt = plot._pyplot()
    except ImportError:
        print("plot         skipped: matplotlib is not installed (pip install matplotlib)")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained",
                                      gridspec_kw={"width_ratios": [2, 1]})
    plot.prediction(y_test, test_pred, ax=left,
                    title=f"Mackey-Glass test stream, one step ahead (NRMSE {test_nrmse:.4f})")
    plot.training_curve(model, ax=right)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"plot         {os.path.abspath(out)}")


def info() -> None:
    """Print versions, build information, threads and the loaded library's path."""
    build = _lib.build_info()
    print(f"memnative {__version__}")
    print(f"library   {build.pop('library')}")
    print(f"build     {_lib.string(_lib.lib.mem_build_info())}")
    if build.get("package_build"):
        print(f"package   built with {build['package_build']}")
    print(f"kinds     {', '.join(_lib.kinds())}")
    print(f"threads   {build.get('threads', '?')} (OpenMP default; "
          f"os.cpu_count() = {os.cpu_count()}, "
          f"OMP_NUM_THREADS = {os.environ.get('OMP_NUM_THREADS', 'unset')})")
    print(f"python    {platform.python_version()} ({sys.executable})")
    print(f"numpy     {np.__version__}")
    print(f"platform  {platform.platform()}")


def params(kind: Optional[str] = None) -> None:
    """Print the parameter reference of one kind (or every kind) from libmem's tables: name, type,
    table (arch: fixed once built; train: settable on a live model), default, range and doc."""
    for name in [kind] if kind else _lib.kinds():
        print(f"## {name}\n")
        print("| parameter | type | table | default | range | description |")
        print("|---|---|---|---|---|---|")
        for p in _lib.config_params(name):
            if p.type == "choice":
                allowed, default = " \\| ".join(p.choices), p.choices[int(p.default)]
            elif p.type == "bool":
                allowed, default = "0 or 1", str(bool(p.default))
            elif p.type == "floats":  # one value per entry in the range; the default is derived
                allowed, default = f"each in {'(' if p.min_open else '['}{p.min:g}, {p.max:g}{')' if p.max_open else ']'}", "see description"
            else:
                fmt = (lambda v: str(int(v))) if p.type == "int" else (lambda v: f"{v:g}")
                allowed = f"{'(' if p.min_open else '['}{fmt(p.min)}, {fmt(p.max)}{')' if p.max_open else ']'}"
                default = fmt(p.default)
            print(f"| {p.name} | {p.type} | {p.table} | {default} | {allowed} | {p.doc} |")
        print()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memnative",
                                     description="memnative command line")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions, build information and threads (for bug reports)")
    params_parser = commands.add_parser(
        "params", help="the parameter reference of the model kinds, from libmem's tables")
    params_parser.add_argument("kind", nargs="?", choices=_lib.kinds(), help="one kind (default: all)")
    demo_parser = commands.add_parser(
        "demo", help="train AMRC on Mackey-Glass, print NRMSE and write a plot",
        description="Train AMRC on Mackey-Glass one-step prediction (2000 training steps), "
                    "forecast the 1000 test steps that continue the stream, print NRMSE and "
                    "write a plot of the forecast and the loss curve.")
    demo_parser.add_argument("--epochs", type=_positive_int, default=1000,
                             help="training epochs (default 1000)")
    demo_parser.add_argument("--hidden-size", type=_positive_int, default=32,
                             help="hidden units (default 32)")
    demo_parser.add_argument("--out", default="demo.png",
                             help="where to write the plot (default demo.png)")
    args = parser.parse_args(argv)
    if args.command == "info":
        info()
    elif args.command == "params":
        params(args.kind)
    else:
        demo(epochs=args.epochs, hidden_size=args.hidden_size, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
