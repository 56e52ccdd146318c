"""Command line: ``python -m memnative info`` and ``python -m memnative demo``.

``info`` prints what a bug report needs (versions, build, threads, where the library was loaded
from). ``demo`` trains a small AMRC model on Mackey-Glass one-step-ahead prediction straight through
the C API and prints train/test NRMSE.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from typing import List, Optional, Tuple

import numpy as np

from . import __version__
from . import _lib
from ._lib import check, ffi, lib


def mackey_glass(n_samples: int, *, tau: float = 17.0, a: float = 0.2, b: float = 0.1,
                 n: int = 10, dt: float = 0.1, sample_every: float = 1.0, washout: int = 500,
                 initial: float = 1.2) -> np.ndarray:
    """Mackey-Glass series ``dx/dt = a x(t-tau) / (1 + x(t-tau)^n) - b x(t)``, scaled to [-1, 1].

    Integrated by RK4 with step ``dt``; delayed values between grid points are linearly
    interpolated from the history, which is the constant ``initial`` before t = 0. Sampled every
    ``sample_every`` time units; the first ``washout`` samples are dropped.

    Parameters
    ----------
    n_samples : int
        Number of samples returned.

    Returns
    -------
    numpy.ndarray of float64, shape (n_samples,)
    """
    stride = int(round(sample_every / dt))
    n_steps = (washout + n_samples) * stride
    lag = tau / dt  # the delay in integration steps
    x: List[float] = [initial]

    def delayed(s: float) -> float:
        if s <= 0.0:
            return initial if s < 0.0 else x[0]
        i = int(s)
        frac = s - i
        return x[i] if frac == 0.0 else x[i] * (1.0 - frac) + x[i + 1] * frac

    def rhs(xt: float, xd: float) -> float:
        return a * xd / (1.0 + xd ** n) - b * xt

    for k in range(n_steps):
        xk = x[k]
        d0, dh, d1 = delayed(k - lag), delayed(k + 0.5 - lag), delayed(k + 1.0 - lag)
        k1 = rhs(xk, d0)
        k2 = rhs(xk + 0.5 * dt * k1, dh)
        k3 = rhs(xk + 0.5 * dt * k2, dh)
        k4 = rhs(xk + dt * k3, d1)
        x.append(xk + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4))
    series = np.asarray(x[::stride][washout:washout + n_samples], dtype=np.float64)
    lo, hi = series.min(), series.max()
    return 2.0 * (series - lo) / (hi - lo) - 1.0


def nrmse(prediction: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error divided by the standard deviation of ``target``."""
    return float(np.sqrt(np.mean((prediction - target) ** 2)) / np.std(target))


def _predict(model: object, data: _lib.StreamData, n_outputs: int,
             reset_memory: bool) -> np.ndarray:
    out = np.empty((data.n_steps, n_outputs), dtype=np.float32)
    check(lib.mem_model_predict(model, data.ptr, int(reset_memory),
                                ffi.from_buffer("float[]", out), out.size))
    return out


def demo(epochs: int = 100, hidden_size: int = 32, n_train: int = 2000,
         n_test: int = 1000) -> Tuple[float, float]:
    """Train AMRC on Mackey-Glass (x_t -> x_{t+1}) and forecast the continuation of the stream.

    Returns
    -------
    (float, float)
        Train and test NRMSE.
    """
    series = mackey_glass(n_train + n_test + 1).astype(np.float32)[:, None]
    train = _lib.StreamData(series[:n_train], series[1:n_train + 1])
    test = _lib.StreamData(series[n_train:n_train + n_test], series[n_train + 1:])
    model = _lib.new_model(_lib.new_config("amrc", hidden_size=hidden_size, epochs=epochs), 1, 1)
    print(f"memnative {__version__} demo: AMRC (hidden {hidden_size}) on Mackey-Glass, "
          f"{n_train} training steps, {n_test} test steps, {epochs} epochs")
    loss = ffi.new("double *")
    start = time.perf_counter()
    for epoch in range(epochs):
        flags = lib.MEM_TRAIN_RESTART_SCHEDULE if epoch == 0 else 0
        check(lib.mem_model_train_epoch(model, train.ptr, flags, ffi.NULL, ffi.NULL, loss))
        if epoch == 0 or (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
            print(f"  epoch {epoch + 1:4d}  loss {loss[0]:.6f}")
        if not math.isfinite(loss[0]):
            raise SystemExit(f"training diverged at epoch {epoch + 1}")
    seconds = time.perf_counter() - start
    # Run the training stream from zero memory, then forecast the test stream continuing it.
    train_nrmse = nrmse(_predict(model, train, 1, reset_memory=True), train.y)
    test_nrmse = nrmse(_predict(model, test, 1, reset_memory=False), test.y)
    print(f"train NRMSE {train_nrmse:.4f}   test NRMSE {test_nrmse:.4f}   "
          f"training time {seconds:.2f} s")
    return train_nrmse, test_nrmse


def info() -> None:
    """Print versions, build information, threads and the loaded library's path."""
    build = _lib.build_info()
    print(f"memnative {__version__}")
    print(f"library   {build.pop('library')}")
    print(f"build     {_lib.string(lib.mem_build_info())}")
    print(f"kinds     {', '.join(_lib.kinds())}")
    print(f"threads   {build.get('threads', '?')} (OpenMP default; "
          f"os.cpu_count() = {os.cpu_count()}, "
          f"OMP_NUM_THREADS = {os.environ.get('OMP_NUM_THREADS', 'unset')})")
    print(f"python    {platform.python_version()} ({sys.executable})")
    print(f"numpy     {np.__version__}")
    print(f"platform  {platform.platform()}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memnative",
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions, build information and threads (for bug reports)")
    demo_parser = commands.add_parser("demo", help="train AMRC on Mackey-Glass and print NRMSE")
    demo_parser.add_argument("--epochs", type=int, default=100,
                             help="training epochs (default 100)")
    args = parser.parse_args(argv)
    if args.command == "info":
        info()
    else:
        demo(epochs=args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
