"""Seeded generators for the benchmark tasks of memnative (pure numpy; no C library needed).

Every generator takes ``random_state`` (an ``int``, ``None`` or a :class:`numpy.random.Generator`)
and returns arrays shaped for the estimators:

- a 2-D ``X`` of shape ``(n_steps, n_features)`` is **one stream** (reservoir-style tasks:
  :func:`mackey_glass_forecast`, :func:`narma10`);
- a 3-D ``X`` of shape ``(n_sequences, seq_len, n_features)`` is a batch of independent
  **sequences** (:func:`adding_problem`, :func:`copy_task`, :func:`associative_recall`,
  :func:`digits_sequences`, :func:`split_digits`, :func:`permuted_digits`).

Inputs and real-valued targets are ``float32``; class labels are ``int64``.

Seeding follows numpy: an ``int`` seeds a fresh :func:`numpy.random.default_rng`, so the same int
gives identical arrays; ``None`` draws fresh OS entropy; a ``Generator`` is used (and advanced) as
is. The task definitions follow ``spec/paper-anchors.md`` §1–2 and the design notes (§6): the copy
task uses Arjovsky's exact layout, Mackey-Glass is integrated exactly like the C test-suite's
generator (``tests/c/test_util.h``), and NARMA10 discards 200 washout steps.

Examples
--------
>>> from memnative import datasets
>>> X, y = datasets.adding_problem(n_sequences=4, seq_len=20, random_state=0)
>>> X.shape, y.shape
((4, 20, 2), (4,))
>>> X_tr, y_tr, X_te, y_te = datasets.mackey_glass_forecast(n_train=200, n_test=100)
>>> X_tr.shape, X_te.shape
((200, 1), (100, 1))
"""
from __future__ import annotations

import math
import numbers
from typing import List, NamedTuple, Optional, Tuple, Union

import numpy as np

__all__ = [
    "mackey_glass",
    "mackey_glass_forecast",
    "narma10",
    "adding_problem",
    "copy_task",
    "associative_recall",
    "digits_sequences",
    "split_digits",
    "permuted_digits",
    "DigitsTask",
    "COPY_BLANK",
    "AR_VOCAB",
]

RandomState = Optional[Union[int, np.integer, np.random.Generator]]

#: Class index of the blank in :func:`copy_task` (input channel and target class 0).
COPY_BLANK = 0

#: Token vocabulary of :func:`associative_recall`: letters ``a``–``z`` (ids 0–25), digits
#: ``0``–``9`` (ids 26–35) and the separator ``?`` (id 36); a token's one-hot channel is its id.
AR_VOCAB = "abcdefghijklmnopqrstuvwxyz0123456789?"


# ---- helpers ----------------------------------------------------------------------------------

def _rng(random_state: RandomState) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator`."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if int(random_state) < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        "random_state must be an int, None or a numpy.random.Generator, "
        f"got {type(random_state).__name__}")


def _check_random_state(random_state: RandomState) -> None:
    """Validate ``random_state`` without drawing from it (for the deterministic generators)."""
    if isinstance(random_state, np.random.Generator):
        return
    _rng(0 if random_state is None else random_state)


def _check_int(name: str, value: int, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


# ---- Mackey-Glass -----------------------------------------------------------------------------

_MG_DT = 0.1          # RK4 step
_MG_PER_UNIT = 10     # fine steps per sample (sampling step 1.0)
_MG_WASHOUT = 500     # samples discarded before the returned window
_MG_X0 = 1.2          # constant initial history


def _mackey_glass_raw(n_steps: int, tau: float) -> np.ndarray:
    """Unscaled float64 samples ``x(500), x(501), ...`` (``n_steps`` of them).

    The arithmetic mirrors ``test_mackey_glass`` in ``tests/c/test_util.h`` operation by operation
    (IEEE double, no fused multiply-add in CPython), so the two agree to the last bit on x86-64.
    """
    lag_f = tau / _MG_DT
    lag = int(round(lag_f))
    if lag < 1 or abs(lag_f - lag) > 1e-9 * max(1.0, lag_f):
        raise ValueError(f"tau must be a positive multiple of the step {_MG_DT}, got {tau}")
    steps = (_MG_WASHOUT + n_steps) * _MG_PER_UNIT + 1
    hist = [0.0] * steps
    hist[0] = _MG_X0
    dt = _MG_DT
    h6 = dt / 6.0
    x0 = _MG_X0
    for i in range(steps - 1):
        x = hist[i]
        j = i - lag
        if j < 0:
            d0 = dh = d1 = x0
        else:
            d0 = hist[j]
            diff = hist[j + 1] - d0
            dh = d0 + 0.5 * diff  # delayed value at the half step, linearly interpolated
            d1 = d0 + 1.0 * diff
        k1 = 0.2 * d0 / (1.0 + d0 ** 10.0) - 0.1 * x
        k2 = 0.2 * dh / (1.0 + dh ** 10.0) - 0.1 * (x + 0.5 * dt * k1)
        k3 = 0.2 * dh / (1.0 + dh ** 10.0) - 0.1 * (x + 0.5 * dt * k2)
        k4 = 0.2 * d1 / (1.0 + d1 ** 10.0) - 0.1 * (x + dt * k3)
        hist[i + 1] = x + h6 * (k1 + 2 * k2 + 2 * k3 + k4)
    start = _MG_WASHOUT * _MG_PER_UNIT
    return np.asarray(hist[start:start + n_steps * _MG_PER_UNIT:_MG_PER_UNIT], dtype=np.float64)


def mackey_glass(n_steps: int = 3000, tau: float = 17.0, random_state: RandomState = None,
                 scale: bool = True) -> np.ndarray:
    """The Mackey-Glass delay-differential series, sampled every 1.0 time unit.

    ``dx/dt = a x(t-tau) / (1 + x(t-tau)^n) - b x(t)`` with ``a = 0.2``, ``b = 0.1``, ``n = 10``
    (``tau = 17`` is the classic mildly chaotic regime). Integration: classical RK4 at
    ``dt = 0.1``; the delay is ``tau / dt`` fine steps (170 for ``tau = 17``) and the delayed
    value at the half step is linearly interpolated from the stored history; the history before
    ``t = 0`` is the constant 1.2 (and ``x(0) = 1.2``). The first 500 samples (``t < 500``) are a
    washout and are discarded. This is the same series as the C tests' ``test_mackey_glass``.

    Parameters
    ----------
    n_steps : int, default=3000
        Number of samples returned (``x(500), x(501), ..., x(500 + n_steps - 1)``).
    tau : float, default=17.0
        The delay; must be a positive multiple of the integration step 0.1.
    random_state : int, numpy.random.Generator or None, default=None
        Accepted for API symmetry only: the series is deterministic and nothing is drawn (a
        Generator passed in is not advanced).
    scale : bool, default=True
        If True, map the returned window affinely onto [-1, 1] using its own minimum and maximum
        (so the minimum is exactly -1 and the maximum exactly 1).

    Returns
    -------
    series : ndarray of shape (n_steps,), dtype float32
        Computed in float64 and rounded to float32 at the end.
    """
    n_steps = _check_int("n_steps", n_steps, 2 if scale else 1)
    _check_random_state(random_state)  # accepted for symmetry; nothing is drawn
    x = _mackey_glass_raw(n_steps, float(tau))
    if scale:
        lo, hi = float(x.min()), float(x.max())
        x = 2.0 * (x - lo) / (hi - lo) - 1.0
    return x.astype(np.float32)


def mackey_glass_forecast(n_train: int = 2000, n_test: int = 1000, horizon: int = 1,
                          tau: float = 17.0, random_state: RandomState = None
                          ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mackey-Glass ``horizon``-step-ahead prediction as one stream split into train and test.

    With ``s = mackey_glass(n_train + n_test + horizon, tau)`` (scaled to [-1, 1] over that whole
    window): ``X[t] = s[t]`` and ``y[t] = s[t + horizon]``. The training stream covers
    ``t = 0 .. n_train - 1`` and the test stream ``t = n_train .. n_train + n_test - 1``, i.e. the
    test stream directly continues the training stream. The forecasting protocol is therefore
    ``est.fit(X_train, y_train)`` followed by ``est.predict(X_test, reset_memory=False)``, so the
    memory left at the end of training carries on into the test stream.

    Parameters
    ----------
    n_train, n_test : int, default=2000, 1000
        Lengths of the two streams.
    horizon : int, default=1
        How many samples (time units) ahead the target lies.
    tau : float, default=17.0
        The delay, as in :func:`mackey_glass`.
    random_state : int, numpy.random.Generator or None, default=None
        Accepted for API symmetry only (the series is deterministic).

    Returns
    -------
    X_train : ndarray of shape (n_train, 1), float32
    y_train : ndarray of shape (n_train, 1), float32
    X_test : ndarray of shape (n_test, 1), float32
    y_test : ndarray of shape (n_test, 1), float32
    """
    n_train = _check_int("n_train", n_train, 1)
    n_test = _check_int("n_test", n_test, 1)
    horizon = _check_int("horizon", horizon, 1)
    s = mackey_glass(n_train + n_test + horizon, tau=tau, random_state=random_state)
    n = n_train + n_test
    X = s[:n].reshape(-1, 1)
    y = s[horizon:n + horizon].reshape(-1, 1)
    return (X[:n_train].copy(), y[:n_train].copy(), X[n_train:].copy(), y[n_train:].copy())


# ---- NARMA10 ----------------------------------------------------------------------------------

def narma10(n_steps: int = 2000, washout: int = 200, random_state: RandomState = None
            ) -> Tuple[np.ndarray, np.ndarray]:
    """The NARMA10 system identification task as one stream.

    Inputs ``u(t) ~ U[0, 0.5]`` i.i.d. drive

    ``y(t+1) = 0.3 y(t) + 0.05 y(t) * sum_{i=0}^{9} y(t-i) + 1.5 u(t-9) u(t) + 0.1``

    started from rest: ``y(t) = 0`` for ``t <= 0`` and terms with ``u`` at negative times are 0.
    The generator runs ``washout + n_steps`` inputs and discards the first ``washout`` rows.

    **Alignment**: row ``k`` holds ``X[k] = u(t)`` and ``y[k] = y(t + 1)`` with ``t = washout + k``,
    i.e. the target of a row is the NARMA output produced by the update that consumes that row's
    input. It depends on the inputs up to and including the current row (``u(t)`` and ``u(t-9)``
    enter it directly), never on future ones. Written in row indices:
    ``y[k] = 0.3 y[k-1] + 0.05 y[k-1] * sum_{i=1}^{10} y[k-i] + 1.5 X[k] X[k-9] + 0.1``.

    Parameters
    ----------
    n_steps : int, default=2000
        Number of rows returned.
    washout : int, default=200
        Number of initial steps generated and discarded (transient from the zero start).
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the input draws.

    Returns
    -------
    X : ndarray of shape (n_steps, 1), float32
        The inputs ``u``.
    y : ndarray of shape (n_steps, 1), float32
        The targets, aligned as above; they lie in roughly [0.1, 1.3].

    Notes
    -----
    For a small fraction of input draws (about 1.4 % of 2200-step runs) the NARMA10 recursion
    diverges to infinity, a known property of this benchmark. When a run exceeds 10 the whole input
    sequence is discarded and redrawn from the same generator, so the result is still a
    deterministic function of ``random_state`` (but the inputs are, strictly, conditioned on the run
    staying bounded). Very long streams (millions of steps) may need many redraws; a
    ``RuntimeError`` is raised after 1000.
    """
    n_steps = _check_int("n_steps", n_steps, 1)
    washout = _check_int("washout", washout, 0)
    rng = _rng(random_state)
    total = washout + n_steps
    for _ in range(_NARMA_MAX_DRAWS):
        u = rng.uniform(0.0, 0.5, size=total)
        ys = _narma10_run(u.tolist())
        if ys is not None:
            y = np.asarray(ys[washout + 1:], dtype=np.float64)
            X = u[washout:].astype(np.float32).reshape(-1, 1)
            return X, y.astype(np.float32).reshape(-1, 1)
    raise RuntimeError(  # pragma: no cover - needs millions of steps
        f"narma10: every one of {_NARMA_MAX_DRAWS} input draws of {total} steps diverged; "
        "ask for fewer steps")


_NARMA_MAX_DRAWS = 1000
_NARMA_BOUND = 10.0  # a bounded run stays below ~1.3; past this bound the recursion has blown up


def _narma10_run(uu: List[float]) -> Optional[List[float]]:
    """``[y(0), ..., y(len(uu))]`` for the inputs ``uu``, or None if the recursion diverges."""
    total = len(uu)
    ys = [0.0] * (total + 1)  # ys[t] = y(t); y(t) = 0 for t <= 0
    for t in range(total):
        yt = ys[t]
        window = 0.0
        for i in range(min(10, t + 1)):
            window += ys[t - i]
        forcing = 1.5 * uu[t - 9] * uu[t] if t >= 9 else 0.0
        nxt = 0.3 * yt + 0.05 * yt * window + forcing + 0.1
        if not nxt < _NARMA_BOUND:  # also catches nan
            return None
        ys[t + 1] = nxt
    return ys


# ---- adding problem ---------------------------------------------------------------------------

def adding_problem(n_sequences: int = 1000, seq_len: int = 100, random_state: RandomState = None
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """The adding problem (Le et al. 2015; Arjovsky et al. 2016; IndRNN 2018).

    Channel 0 holds values drawn i.i.d. from U(0, 1). Channel 1 is a marker that is 0 except for
    exactly two 1s: the first at an index drawn uniformly from ``[0, seq_len // 2)``, the second
    uniformly from ``[seq_len // 2, seq_len)``. The target is the sum of the two marked values, to
    be read out after the last step. Predicting the constant 1.0 gives an MSE of
    ``Var(U1 + U2) = 1/6 ≈ 0.167`` (the trivial baseline); "solved" means far below it (< 0.01).

    Parameters
    ----------
    n_sequences : int, default=1000
    seq_len : int, default=100
        Sequence length ``T`` (at least 2).
    random_state : int, numpy.random.Generator or None, default=None

    Returns
    -------
    X : ndarray of shape (n_sequences, seq_len, 2), float32
        ``X[..., 0]`` the values, ``X[..., 1]`` the marker.
    y : ndarray of shape (n_sequences,), float32
        The sum of the two marked values (of the float32 values in ``X``).
    """
    n = _check_int("n_sequences", n_sequences, 1)
    T = _check_int("seq_len", seq_len, 2)
    rng = _rng(random_state)
    values = rng.uniform(0.0, 1.0, size=(n, T)).astype(np.float32)
    half = T // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    X = np.zeros((n, T, 2), dtype=np.float32)
    X[:, :, 0] = values
    rows = np.arange(n)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = values[rows, first] + values[rows, second]
    return X, y.astype(np.float32)


# ---- copy task --------------------------------------------------------------------------------

def copy_task(n_sequences: int = 1000, n_symbols: int = 8, delay: int = 100, copy_len: int = 10,
              random_state: RandomState = None) -> Tuple[np.ndarray, np.ndarray]:
    """The copying-memory task in Arjovsky, Shah & Bengio's (2016) exact layout.

    With ``K = copy_len`` and ``T = delay``, each sequence has ``T + 2K`` steps:

    - input: ``K`` data symbols drawn i.i.d. uniformly, then ``T - 1`` blanks, then the delimiter
      (at step ``T + K - 1``), then ``K`` blanks;
    - target: the blank class for the first ``T + K`` steps, then the ``K`` input symbols in order
      (recall starts on the step right after the delimiter).

    Vocabulary (paper-anchors §1.2): class 0 is the blank, classes ``1 .. n_symbols`` the data
    symbols and class ``n_symbols + 1`` the delimiter; ``X``'s one-hot channel of a token is its
    class index, so the channels are ``[blank, symbol 1, ..., symbol n_symbols, delimiter]``.
    Targets never use the delimiter class, so ``y`` takes values in ``0 .. n_symbols``.

    The memoryless baseline (blank with certainty until the delimiter, then a uniform guess over the
    symbols) has a per-step cross-entropy of ``K ln(n_symbols) / (T + 2K)``, e.g.
    ``10 ln 8 / 120 ≈ 0.173`` for the defaults.

    Parameters
    ----------
    n_sequences : int, default=1000
    n_symbols : int, default=8
        Number of data symbols (8 in the paper).
    delay : int, default=100
        ``T`` (at least 1): the distance, in steps, from the last input symbol's successor to the
        delimiter is ``T - 1`` blanks.
    copy_len : int, default=10
        ``K``, the number of symbols to copy (10 in the paper).
    random_state : int, numpy.random.Generator or None, default=None

    Returns
    -------
    X : ndarray of shape (n_sequences, delay + 2 * copy_len, n_symbols + 2), float32
        One-hot inputs.
    y : ndarray of shape (n_sequences, delay + 2 * copy_len), int64
        Per-step target classes.
    """
    n = _check_int("n_sequences", n_sequences, 1)
    n_symbols = _check_int("n_symbols", n_symbols, 1)
    T = _check_int("delay", delay, 1)
    K = _check_int("copy_len", copy_len, 1)
    rng = _rng(random_state)
    L = T + 2 * K
    symbols = rng.integers(1, n_symbols + 1, size=(n, K))
    tokens = np.full((n, L), COPY_BLANK, dtype=np.int64)
    tokens[:, :K] = symbols
    tokens[:, T + K - 1] = n_symbols + 1
    y = np.full((n, L), COPY_BLANK, dtype=np.int64)
    y[:, T + K:] = symbols
    X = np.zeros((n, L, n_symbols + 2), dtype=np.float32)
    np.put_along_axis(X, tokens[:, :, None], 1.0, axis=2)
    return X, y


# ---- associative recall -----------------------------------------------------------------------

def associative_recall(n_sequences: int = 1000, n_pairs: int = 4, random_state: RandomState = None
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Associative retrieval (Ba, Hinton et al. 2016, "Using Fast Weights", §4.1).

    A sequence such as ``c9k8j3f1??c`` → ``9``: ``n_pairs`` key–value pairs (a letter ``a``–``z``
    followed by a digit ``0``–``9``; the keys of one sequence are distinct, the digits may repeat),
    two ``?`` separators, then a query letter drawn uniformly from the sequence's keys. The target
    is the digit paired with the query, read out after the last step. Length ``2 * n_pairs + 3``
    (11 for the paper's 4 pairs); chance accuracy is 10 %.

    Token ids (:data:`AR_VOCAB`): letters 0–25, digits 26–35, ``?`` 36; ``X``'s one-hot channel of a
    token is its id (37 channels).

    Parameters
    ----------
    n_sequences : int, default=1000
    n_pairs : int, default=4
        Number of key–value pairs (1 to 26).
    random_state : int, numpy.random.Generator or None, default=None

    Returns
    -------
    X : ndarray of shape (n_sequences, 2 * n_pairs + 3, 37), float32
        One-hot tokens.
    y : ndarray of shape (n_sequences,), int64
        The recalled digit, 0–9.
    """
    n = _check_int("n_sequences", n_sequences, 1)
    K = _check_int("n_pairs", n_pairs, 1)
    if K > 26:
        raise ValueError(f"n_pairs must be <= 26 (distinct letter keys), got {K}")
    rng = _rng(random_state)
    keys = np.argsort(rng.random((n, 26)), axis=1)[:, :K]       # distinct letters per sequence
    values = rng.integers(0, 10, size=(n, K))
    which = rng.integers(0, K, size=n)
    rows = np.arange(n)
    L = 2 * K + 3
    tokens = np.empty((n, L), dtype=np.int64)
    tokens[:, 0:2 * K:2] = keys
    tokens[:, 1:2 * K:2] = 26 + values
    tokens[:, 2 * K] = 36
    tokens[:, 2 * K + 1] = 36
    tokens[:, 2 * K + 2] = keys[rows, which]
    X = np.zeros((n, L, len(AR_VOCAB)), dtype=np.float32)
    np.put_along_axis(X, tokens[:, :, None], 1.0, axis=2)
    return X, values[rows, which].astype(np.int64)


# ---- digits -----------------------------------------------------------------------------------

def _load_digits() -> Tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits as (pixels / 16 in float32 (n, 64), labels int64)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "memnative.datasets digits generators need scikit-learn (they use its bundled "
            "load_digits data, no download): pip install scikit-learn") from exc
    d = load_digits()
    X = (np.asarray(d.data, dtype=np.float64) / 16.0).astype(np.float32)
    return X, np.asarray(d.target, dtype=np.int64)


_DIGITS_LAYOUTS = ("rows", "pixels", "permuted")


def _as_sequences(flat: np.ndarray, layout: str) -> np.ndarray:
    if layout == "rows":
        return np.ascontiguousarray(flat.reshape(-1, 8, 8))
    return np.ascontiguousarray(flat.reshape(-1, 64, 1))


def digits_sequences(split: str = "rows", random_state: RandomState = None
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (1797 images) as sequences, pixels scaled to [0, 1] (÷16).

    Parameters
    ----------
    split : {"rows", "permuted", "pixels"}, default="rows"
        How an image becomes a sequence:

        - ``"rows"``: 8 steps, the image rows top to bottom, 8 features each (the pixels of the
          row left to right);
        - ``"permuted"``: 64 steps of 1 feature, the pixels in one fixed random order (drawn from
          ``random_state``) shared by all images — the digits analogue of psMNIST;
        - ``"pixels"``: 64 steps of 1 feature in raster order (the analogue of sMNIST).
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the permutation (``"permuted"`` only; otherwise unused).

    Returns
    -------
    X : ndarray of shape (1797, 8, 8) or (1797, 64, 1), float32
    y : ndarray of shape (1797,), int64
        The digit labels 0–9.

    Raises
    ------
    ImportError
        If scikit-learn is not installed.
    """
    if split not in _DIGITS_LAYOUTS:
        raise ValueError(f"split must be one of {_DIGITS_LAYOUTS}, got {split!r}")
    rng = _rng(random_state)
    flat, y = _load_digits()
    if split == "permuted":
        flat = flat[:, rng.permutation(64)]
    return _as_sequences(flat, split), y


class DigitsTask(NamedTuple):
    """One task of :func:`split_digits` / :func:`permuted_digits`."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray
    permutation: Optional[np.ndarray]


def _stratified_split(y: np.ndarray, test_size: float, rng: np.random.Generator
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """Sorted train and test indices: ``floor(test_size * n_c + 0.5)`` of each class go to test."""
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}")
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(math.floor(test_size * idx.size + 0.5))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _check_layout(layout: str) -> str:
    if layout not in ("rows", "pixels"):
        raise ValueError(f"layout must be 'rows' or 'pixels', got {layout!r}")
    return layout


def split_digits(n_tasks: int = 5, layout: str = "rows", test_size: float = 0.3,
                 random_state: RandomState = None) -> List[DigitsTask]:
    """Split-Digits: the digits' classes divided into tasks (paper-anchors §3.2).

    The 1797 images are split once into train and test, stratified per class (``test_size`` of
    each class, rounded, goes to test), then the classes ``0..9`` are divided in order into
    ``n_tasks`` consecutive groups (``numpy.array_split``; the default 5 gives 0/1, 2/3, 4/5, 6/7,
    8/9). Labels keep their digit values (Class-IL); map them per task for Task-/Domain-IL.

    Parameters
    ----------
    n_tasks : int, default=5
        1 to 10.
    layout : {"rows", "pixels"}, default="rows"
        Sequences of 8 rows x 8 features, or of 64 pixels x 1 feature (see
        :func:`digits_sequences`).
    test_size : float, default=0.3
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the train/test split.

    Returns
    -------
    tasks : list of DigitsTask
        ``(X_train, y_train, X_test, y_test, classes, permutation=None)`` per task; ``X`` float32
        in [0, 1], ``y`` int64.
    """
    n_tasks = _check_int("n_tasks", n_tasks, 1)
    if n_tasks > 10:
        raise ValueError(f"n_tasks must be <= 10, got {n_tasks}")
    layout = _check_layout(layout)
    rng = _rng(random_state)
    flat, y = _load_digits()
    tr, te = _stratified_split(y, test_size, rng)
    X = _as_sequences(flat, layout)
    tasks = []
    for classes in np.array_split(np.arange(10), n_tasks):
        mtr, mte = np.isin(y[tr], classes), np.isin(y[te], classes)
        tasks.append(DigitsTask(X[tr[mtr]], y[tr[mtr]], X[te[mte]], y[te[mte]],
                                classes.astype(np.int64), None))
    return tasks


def permuted_digits(n_tasks: int = 5, layout: str = "rows", test_size: float = 0.3,
                    identity_first: bool = True, random_state: RandomState = None
                    ) -> List[DigitsTask]:
    """Permuted-Digits: every task is all ten digits under its own fixed pixel permutation.

    One stratified train/test split (as in :func:`split_digits`) is shared by all tasks; task ``k``
    reorders the 64 pixels of every image by ``permutation[k]`` and then lays them out as
    ``layout``. The Domain-IL scenario of paper-anchors §3.2 (labels are the digits in every task).

    Parameters
    ----------
    n_tasks : int, default=5
    layout : {"rows", "pixels"}, default="rows"
    test_size : float, default=0.3
    identity_first : bool, default=True
        If True, task 0 keeps the original pixel order (the common convention); otherwise every
        task is permuted.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the split and of the permutations.

    Returns
    -------
    tasks : list of DigitsTask
        ``permutation`` holds the task's pixel order (``X_flat[:, permutation]``).
    """
    n_tasks = _check_int("n_tasks", n_tasks, 1)
    layout = _check_layout(layout)
    rng = _rng(random_state)
    flat, y = _load_digits()
    tr, te = _stratified_split(y, test_size, rng)
    tasks = []
    for k in range(n_tasks):
        perm = np.arange(64) if (k == 0 and identity_first) else rng.permutation(64)
        X = _as_sequences(flat[:, perm], layout)
        tasks.append(DigitsTask(X[tr], y[tr], X[te], y[te], np.arange(10, dtype=np.int64),
                                perm.astype(np.int64)))
    return tasks
