"""Plots of memnative models: training curves, predictions and memory over time.

matplotlib is optional for memnative and imported only when a function here is called (an
``ImportError`` then says how to install it). Without a display (no ``DISPLAY`` or
``WAYLAND_DISPLAY`` on Linux) and with no backend chosen (``MPLBACKEND`` unset, pyplot not yet
imported), the non-interactive Agg backend is selected, so plots can always be saved with
``ax.figure.savefig(path)``.

Every function draws into ``ax`` when given, otherwise into a new figure, and returns the
matplotlib ``Axes``.

Examples
--------
>>> import memnative, memnative.plot  # doctest: +SKIP
>>> X, y, X_next, y_next = memnative.datasets.mackey_glass_forecast()  # doctest: +SKIP
>>> est = memnative.AMRC(epochs=200, random_state=0).fit(X, y)  # doctest: +SKIP
>>> ax = memnative.plot.training_curve(est)  # doctest: +SKIP
>>> ax.figure.savefig("loss.png")  # doctest: +SKIP
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from ._compat import NotFittedError

__all__ = ["training_curve", "prediction", "memory_heatmap"]

_INSTALL_HINT = "memnative.plot needs matplotlib, which is not installed: pip install matplotlib"


def _has_display() -> bool:
    """Whether an interactive backend could open a window (only Linux/BSD can lack one)."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _pyplot() -> Any:
    """``matplotlib.pyplot``, importing it now (Agg when there is no display and no choice yet)."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    if ("matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND")
            and not _has_display()):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _axes(ax: Any, figsize: Sequence[float] = (7.0, 3.5)) -> Any:
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=tuple(figsize), layout="constrained")
    return ax


def training_curve(estimator: Any, ax: Any = None) -> Any:
    """The training loss per epoch (``loss_curve_``) and, if present, ``validation_scores_``.

    Parameters
    ----------
    estimator : fitted memnative estimator
        Anything with a ``loss_curve_`` list (``fit`` and ``partial_fit`` append one value per
        epoch or call); ``validation_scores_`` (from ``validation_fraction > 0``) is drawn too.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The y axis is logarithmic when every value is positive.

    Raises
    ------
    ValueError
        If the estimator has no loss curve (not fitted).
    ImportError
        If matplotlib is not installed.
    """
    curve = getattr(estimator, "loss_curve_", None)
    loss = np.asarray([] if curve is None else curve, dtype=np.float64).ravel()
    if loss.size == 0:
        raise NotFittedError(f"{type(estimator).__name__} has no loss_curve_: fit it first")
    ax = _axes(ax)
    epochs = np.arange(1, loss.size + 1)
    ax.plot(epochs, loss, label="training loss")
    values = [loss]
    val = getattr(estimator, "validation_scores_", None)
    if val is not None and len(val):
        val = np.asarray(val, dtype=np.float64).ravel()
        ax.plot(np.arange(1, val.size + 1), val, label="validation loss")
        values.append(val)
    finite = np.concatenate(values)
    finite = finite[np.isfinite(finite)]
    if finite.size and np.all(finite > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{type(estimator).__name__} training")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return ax


def prediction(y_true: Any, y_pred: Any, ax: Any = None, title: Optional[str] = None) -> Any:
    """Prediction against truth over the steps of a stream (or the sequences of a batch).

    Parameters
    ----------
    y_true, y_pred : array_like of shape (n_steps,) or (n_steps, n_outputs)
        The same shape; each output is drawn as its own pair of lines.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    title : str, optional
        Axes title; by default the NRMSE, ``sqrt(mean((y_pred - y_true)**2) / var(y_true))``.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If the shapes differ or are not 1-D/2-D.
    ImportError
        If matplotlib is not installed.
    """
    true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if true.shape != pred.shape or true.ndim not in (1, 2) or true.size == 0:
        raise ValueError(f"y_true and y_pred must have the same non-empty 1-D or 2-D shape, got "
                         f"{true.shape} and {pred.shape}")
    if true.ndim == 1:
        true, pred = true[:, None], pred[:, None]
    ax = _axes(ax)
    steps = np.arange(true.shape[0])
    many = true.shape[1] > 1
    for k in range(true.shape[1]):
        suffix = f" [{k}]" if many else ""
        line, = ax.plot(steps, true[:, k], lw=2.5, alpha=0.4, label=f"truth{suffix}")
        ax.plot(steps, pred[:, k], lw=1.0, ls="--", color=line.get_color() if many else None,
                label=f"prediction{suffix}")
    if title is None:
        var = true.var()
        nrmse = float(np.sqrt(np.mean((pred - true) ** 2) / var)) if var > 0 else float("nan")
        title = f"prediction (NRMSE {nrmse:.4f})"
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + 0.15 * (high - low))  # headroom for the legend
    ax.legend(loc="upper center", ncol=2 * true.shape[1] if true.shape[1] <= 3 else 2)
    return ax


def memory_heatmap(states: Union[Any, Sequence[Mapping[str, Any]]], ax: Any = None, *,
                   key: Optional[str] = None) -> Any:
    """A heatmap of memory over time: time on the x axis, units on the y axis.

    Parameters
    ----------
    states : array_like of shape (n_steps, n_units), or a sequence of dicts
        The memory at each step, e.g. stacked from repeated ``get_memory_state()[name]``. A
        sequence of ``get_memory_state()`` dicts is accepted too; ``key`` then picks the state
        (by default the last one, which for AMRC is the leaky memory ``"m"``). States with more
        than one axis per step are flattened.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    key : str, optional
        The state to draw when ``states`` holds dicts.

    Returns
    -------
    matplotlib.axes.Axes
        With a colour bar (symmetric around 0).

    Raises
    ------
    ValueError
        If the states are not 2-D after flattening, or ``key`` is not a state name.
    ImportError
        If matplotlib is not installed.
    """
    name = "memory"
    if isinstance(states, Sequence) and len(states) and isinstance(states[0], Mapping):
        names = list(states[0])
        name = names[-1] if key is None else key
        if name not in names:
            raise ValueError(f"key={key!r} is not a state; the states are {names}")
        data = np.stack([np.asarray(s[name], dtype=np.float64).ravel() for s in states])
    else:
        data = np.asarray(states, dtype=np.float64)
        if data.ndim > 2:
            data = data.reshape(data.shape[0], -1)
    if data.ndim != 2 or data.size == 0:
        raise ValueError(f"states must be a non-empty (n_steps, n_units) array, got shape "
                         f"{data.shape}")
    ax = _axes(ax)
    finite = data[np.isfinite(data)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    limit = limit if limit > 0 else 1.0
    image = ax.imshow(data.T, aspect="auto", origin="lower", interpolation="nearest",
                      cmap="RdBu_r", vmin=-limit, vmax=limit,
                      extent=(-0.5, data.shape[0] - 0.5, -0.5, data.shape[1] - 0.5))
    ax.figure.colorbar(image, ax=ax, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("unit")
    ax.set_title(f"{name} over time")
    return ax
