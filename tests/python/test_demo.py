"""The user-facing demo (python -m memnative demo), examples/quickstart.py and memnative.plot."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import memnative

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(args, cwd, timeout=120, env_extra=None):
    env = dict(os.environ, MPLBACKEND="Agg", **(env_extra or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _nrmse(output: str, name: str) -> float:
    match = re.search(rf"^{name} NRMSE\s+([0-9.]+)", output, re.M)
    assert match, f"no '{name} NRMSE' line in:\n{output}"
    return float(match.group(1))


def test_demo_prints_metrics_and_writes_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo.png"
    proc = _run(["-m", "memnative", "demo", "--epochs", "30", "--out", str(out)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("train", "test", "naive"):
        value = _nrmse(proc.stdout, name)
        assert np.isfinite(value) and value >= 0
    assert abs(_nrmse(proc.stdout, "naive") - 0.146) < 0.01  # repeat-the-last-value baseline
    assert re.search(r"^fit time\s+[0-9.]+ s", proc.stdout, re.M), proc.stdout
    data = out.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_demo_without_matplotlib_prints_metrics_and_a_hint(tmp_path: Path) -> None:
    # sys.modules["matplotlib"] = None makes `import matplotlib` raise ImportError
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from memnative.__main__ import main\n"
            "sys.exit(main(['demo', '--epochs', '3', '--hidden-size', '8', '--out', 'demo.png']))")
    proc = _run(["-c", code], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _nrmse(proc.stdout, "test") >= 0
    assert "pip install matplotlib" in proc.stdout
    assert not (tmp_path / "demo.png").exists()


def test_demo_rejects_bad_arguments(tmp_path: Path) -> None:
    proc = _run(["-m", "memnative", "demo", "--epochs", "0"], cwd=tmp_path)
    assert proc.returncode == 2 and "--epochs" in proc.stderr


def test_info_names_version_and_library(tmp_path: Path) -> None:
    proc = _run(["-m", "memnative", "info"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"memnative {memnative.__version__}" in proc.stdout
    assert "libmem" in proc.stdout and "threads" in proc.stdout


def test_quickstart_example_runs(tmp_path: Path) -> None:
    proc = _run([str(REPO / "examples" / "quickstart.py")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "identical predictions: True" in proc.stdout
    assert "same as 3-D: True" in proc.stdout


# ---- memnative.plot ------------------------------------------------------------------------

@pytest.fixture()
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


@pytest.fixture(scope="module")
def fitted() -> memnative.AMRC:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 2)).astype(np.float32)
    y = np.cumsum(X[:, :1], axis=0) * 0.1
    return memnative.AMRC(hidden_size=8, epochs=5, validation_fraction=0.2,
                          random_state=0).fit(X, y)


def test_training_curve(plt, fitted) -> None:
    from matplotlib.axes import Axes

    from memnative import plot

    ax = plot.training_curve(fitted)
    assert isinstance(ax, Axes)
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 2  # training and validation
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), fitted.loss_curve_)
    _, given = plt.subplots()
    assert plot.training_curve(fitted, ax=given) is given


def test_training_curve_needs_a_fitted_estimator(plt) -> None:
    from memnative import plot

    with pytest.raises(ValueError, match="fit it first"):
        plot.training_curve(memnative.AMRC())


def test_prediction(plt) -> None:
    from matplotlib.axes import Axes

    from memnative import plot

    t = np.linspace(0, 10, 200)
    ax = plot.prediction(np.sin(t), np.sin(t) + 0.01, title="sine")
    assert isinstance(ax, Axes) and ax.get_title() == "sine"
    assert len(ax.get_lines()) == 2
    ax2 = plot.prediction(np.c_[np.sin(t), np.cos(t)], np.c_[np.sin(t), np.cos(t)])
    assert len(ax2.get_lines()) == 4 and "NRMSE 0.0000" in ax2.get_title()
    with pytest.raises(ValueError, match="same"):
        plot.prediction(np.zeros(5), np.zeros(6))


def test_memory_heatmap(plt, fitted) -> None:
    from matplotlib.axes import Axes

    from memnative import plot

    # memory over time: predict step by step, continuing the memory, and record it
    X = np.random.default_rng(1).standard_normal((20, 2)).astype(np.float32)
    fitted.reset_memory()
    states = []
    for row in X:
        fitted.predict(row[None], reset_memory=False)
        states.append(fitted.get_memory_state())
    ax = plot.memory_heatmap(np.stack([s["m"] for s in states]))
    assert isinstance(ax, Axes)
    image = ax.get_images()[0].get_array()
    assert image.shape == (8, 20)  # units x steps
    ax_h = plot.memory_heatmap(states, key="h")
    assert "h" in ax_h.get_title()
    with pytest.raises(ValueError, match="not a state"):
        plot.memory_heatmap(states, key="nope")
    with pytest.raises(ValueError, match="n_units"):
        plot.memory_heatmap(np.zeros(5))


def test_params_prints_the_reference_from_the_c_tables() -> None:
    from memnative import __main__ as cli

    out = subprocess.run([sys.executable, "-m", "memnative", "params", "amrc"], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("## amrc") and "| beta | float | arch | 0.3 | (0, 1) |" in out
    assert "| learning_rate | float | train |" in out
    with pytest.raises(SystemExit):
        cli.main(["params", "lstm"])
