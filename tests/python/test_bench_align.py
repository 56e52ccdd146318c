"""The alignment benchmark runs end to end (bench/align.py --quick): the solver's optimal total
is checked against scipy's inside the run, and both tables come out with a ratio per row. No
wall-clock figure is asserted (DESIGN §7)."""
from __future__ import annotations

import re

from cmake_util import REPO_ROOT, load_module


def test_bench_align_quick(capsys, monkeypatch) -> None:
    # the module sets these with setdefault on import: keep them from outliving the test
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    load_module("bench_align", REPO_ROOT / "bench" / "align.py").main(["--quick"])
    out = capsys.readouterr().out
    assert "### Linear sum assignment" in out and "### Linear CKA" in out
    ratios = re.findall(r"\| (\d+) \|.*\| (\d+\.\d\d)x \|", out)
    sizes = [int(n) for n, _ in ratios]
    assert 300 in sizes and 600 in sizes and 64 in sizes, out
    assert all(float(r) > 0 for _, r in ratios)
    diff = re.search(r"\| 64 \|.*\| ([0-9.e+-]+) \|\s*$", out, re.M)
    assert diff and float(diff.group(1)) < 1e-6, out
