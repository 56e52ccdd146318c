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
