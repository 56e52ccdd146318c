"""Acceptance-size learning runs of the PMRC and AMN cells (slow: `pytest --runslow` or `-m slow`).

The settings and the measuring code live in ``bench/learning.py`` (one place for the numbers the
closing notes quote); these tests run its experiments and hold them to the issue's targets.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "learning.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("memnative_bench_learning", BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["amn", "pmrc"])
def test_adding_problem_T200_below_001(cell: str) -> None:
    bench = _bench()
    result = bench.run_adding(cell, 200, bench.ADDING[(cell, 200)], threads=1)
    print(result.settings, result.value)
    assert result.value < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("task", ["mackey_glass", "narma10"])
@pytest.mark.parametrize("cell", ["amn", "pmrc"])
def test_stream_tasks_with_defaults(task: str, cell: str) -> None:
    bench = _bench()
    result = bench.run_stream(task, cell, bench.STREAM[(task, cell)], threads=1, quick=False)
    print(result.settings, result.value)
    assert result.met, f"{task} {cell}: NRMSE {result.value:.4f}, target {result.target}"
