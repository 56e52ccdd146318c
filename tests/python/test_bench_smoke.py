"""The speed harness runs end to end (bench/run.py --smoke: GEMM, alignment, recurrent cells) and
writes its three reports.

No wall-clock figure is asserted (DESIGN §7): the test checks that every backend produced a
positive median within its min-max, that libmem's GEMM agrees with numpy's, and that the
markdown, JSON and chart are written."""
from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

from cmake_util import REPO_ROOT, load_module


def _harness() -> ModuleType:
    return load_module("bench_run", REPO_ROOT / "bench" / "run.py")


def test_bench_smoke(tmp_path: Path) -> None:
    res = _harness().main(["--smoke", "--out", str(tmp_path)])
    stems = {p.suffix: p for p in tmp_path.iterdir()}
    assert {".json", ".md", ".png"} <= set(stems), sorted(stems)
    saved = json.loads(stems[".json"].read_text(encoding="utf-8"))
    assert saved["meta"]["mode"] == "smoke" and saved["meta"]["repeats"] >= 5
    assert res["gemm"], "no GEMM figure"
    for row in res["gemm"]:
        assert row["max_rel_diff"] < 1e-4, row
        for side in ("libmem", "numpy"):
            r = row[side]
            assert 0 < r["min"] <= r["median"] <= r["max"] and len(r["samples"]) >= 5
    measured = [r for r in res["rnn"] if "median" in r]
    backends = {r["backend"] for r in measured}
    assert {"libmem:pmrc:1t", "libmem:pmrc:2t", "libmem:amrc:1t"} <= backends, backends
    assert {r["what"] for r in measured} == {"train", "infer"}
    for r in measured:
        assert 0 < r["min"] <= r["median"] <= r["max"], r
    assert "| libmem:pmrc:1t |" in stems[".md"].read_text(encoding="utf-8")
    # the alignment section: the solver and CKA against their peers, one row each at smoke size
    align = res["align"]
    assert [r["n"] for r in align["assignment"]] == [100] and len(align["cka"]) == 1, align
    for r in align["assignment"] + align["cka"]:
        for side in [k for k in r if isinstance(r[k], dict)]:
            assert 0 < r[side]["min"] <= r[side]["median"] <= r[side]["max"], (side, r)
    assert {"libmem", "scipy"} <= set(align["assignment"][0]) and "numpy" in align["cka"][0]
    assert align["cka"][0]["abs_diff_float64"] < 1e-6
    assert "### Linear CKA" in stems[".md"].read_text(encoding="utf-8")
