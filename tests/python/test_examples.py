"""The Python examples run and say what they promise (slow: each trains for tens of seconds)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=EXAMPLES, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_pmrc_transfer_beats_training_from_scratch() -> None:
    out = _run("pmrc_transfer.py")
    transferred = float(re.search(r"transferred: test MSE ([\d.]+)", out).group(1))
    scratch = float(re.search(r"from scratch: test MSE ([\d.]+)", out).group(1))
    assert "bit-identical after training on B: True" in out
    assert "mask of U all frozen: True" in out
    assert transferred < scratch


@pytest.mark.slow
def test_long_memory_adding_quick_learns() -> None:
    out = _run("long_memory_adding.py", "--quick")
    final = float(re.search(r"^test MSE ([\d.]+)", out, re.M).group(1))
    assert final < 0.05  # T = 50: well under the 0.167 baseline


def _merge_example(tmp_path: Path, *args: str) -> str:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "barrier.png"
    out = _run("merge_two_models.py", "--out", str(plot), *args)
    assert plot.stat().st_size > 0
    mean = re.search(r"mean over (\d+) pairs: endpoints ([\d.]+) ([\d.]+)  midpoint naive ([\d.]+)  "
                     r"aligned \(activations\) ([\d.]+)", out)
    assert mean, out
    naive, aligned = float(mean.group(4)), float(mean.group(5))
    assert aligned < naive  # aligning the neurons lowers the loss barrier
    assert "a and its fine-tuned copy, aligned average:\n    merge (average, align=activations): kept" in out
    assert "different tasks (NARMA10, mean of the last 10 inputs), aligned average:\n    merge " \
           "(average, align=activations): REVERTED" in out
    return out


def test_merge_two_models_quick(tmp_path: Path) -> None:
    _merge_example(tmp_path, "--quick")


@pytest.mark.slow
def test_merge_two_models_every_pair(tmp_path: Path) -> None:
    out = _merge_example(tmp_path)
    pairs = re.search(r"aligned \(activations\) midpoint below naive in (\d+)/(\d+) pairs", out)
    assert pairs.group(1) == pairs.group(2)
