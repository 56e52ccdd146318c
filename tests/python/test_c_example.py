"""examples/c built against an installed libmem: with CMake's find_package, and with pkg-config.

The plain build (``build/ctest``, shared with the C test suite) is installed into a temporary
prefix; the example must build from that prefix alone and run: train AMRC, save, reload, and get
bit-identical forecasts from both models.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Dict

import pytest

from cmake_util import BUILD_JOBS, REPO_ROOT, run_logged

EXAMPLE_DIR = REPO_ROOT / "examples" / "c"


@pytest.fixture(scope="module")
def prefix(plain_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An install prefix holding the plain build (library, header, CMake config, pkg-config)."""
    root = tmp_path_factory.mktemp("prefix")
    run_logged(["cmake", "--install", str(plain_build), "--prefix", str(root)])
    return root


def _libdir(prefix: Path) -> Path:
    found = sorted(prefix.glob("lib*/libmem.so"))
    assert found, f"no libmem.so installed under {prefix}"
    return found[0].parent


def _run_env(prefix: Path) -> Dict[str, str]:
    libdir = _libdir(prefix)
    old = os.environ.get("LD_LIBRARY_PATH")
    return {**os.environ, "LD_LIBRARY_PATH": f"{libdir}{os.pathsep}{old}" if old else str(libdir),
            "PKG_CONFIG_PATH": str(libdir / "pkgconfig")}


def _check_example_output(output: str) -> None:
    train = re.search(r"^train NRMSE (\S+)$", output, re.MULTILINE)
    test = re.search(r"^test NRMSE (\S+)$", output, re.MULTILINE)
    assert train and test, output
    # A trained model forecasts far better than the mean of the series (NRMSE 1).
    assert 0.0 <= float(train.group(1)) < 0.5, output
    assert 0.0 <= float(test.group(1)) < 0.5, output
    assert "reloaded model's predictions agree: yes" in output, output


def test_example_with_find_package(prefix: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    run_logged(["cmake", "-S", str(EXAMPLE_DIR), "-B", str(build), f"-DCMAKE_PREFIX_PATH={prefix}",
                "-DCMAKE_BUILD_TYPE=Release"])
    run_logged(["cmake", "--build", str(build), "-j", BUILD_JOBS])
    output = run_logged([str(build / "train_amrc"), str(tmp_path / "model.mem")], cwd=tmp_path,
                        env=_run_env(prefix))
    _check_example_output(output)
    assert (tmp_path / "model.mem").is_file()


@pytest.mark.skipif(shutil.which("pkg-config") is None, reason="pkg-config is not installed")
def test_example_with_pkg_config(prefix: Path, tmp_path: Path) -> None:
    env = _run_env(prefix)
    flags = run_logged(["pkg-config", "--cflags", "--libs", "libmem"], env=env).split()
    exe = tmp_path / "train_amrc"
    # -lm: the example's own sqrt/pow (libmem's pkg-config file lists only -lmem for a shared link).
    run_logged(["cc", "-std=c11", "-O2", str(EXAMPLE_DIR / "train_amrc.c"), *flags, "-lm",
                "-o", str(exe)], env=env)
    output = run_logged([str(exe), str(tmp_path / "model.mem")], cwd=tmp_path, env=env)
    _check_example_output(output)


def test_readme_quickstart_compiles_and_runs(prefix: Path, tmp_path: Path) -> None:
    """The README's C quickstart is a working program."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## C quickstart.*?```c\n(.*?)```", readme, re.DOTALL)
    assert match, "README.md has no C quickstart block"
    src, exe = tmp_path / "quickstart.c", tmp_path / "quickstart"
    src.write_text(match.group(1))
    libdir = _libdir(prefix)
    run_logged(["cc", "-std=c11", "-Wall", "-Werror", str(src), f"-I{prefix / 'include'}",
                f"-L{libdir}", "-lmem", "-o", str(exe)])
    output = run_logged([str(exe)], cwd=tmp_path, env=_run_env(prefix))
    assert output.startswith("loss "), output
    assert (tmp_path / "model.mem").is_file()
