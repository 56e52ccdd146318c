"""Helpers for the tests that drive CMake, ctest and compilers (run, and show all output), and for
those that load a script of the repository (bench/, python/gen_cffi.py) as a module."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_JOBS = "2"  # the design's CI budget assumes 2 cores


def run_logged(cmd: List[str], *, cwd: Path = REPO_ROOT, env: Optional[Dict[str, str]] = None,
               timeout: float = 900) -> str:
    """Run ``cmd``; on a non-zero exit fail the test showing the command and its whole output.

    Returns
    -------
    str
        stdout and stderr, interleaved.
    """
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"command failed with exit code {proc.returncode}: {' '.join(map(str, cmd))}\n"
                    f"--- output ---\n{proc.stdout}", pytrace=False)
    return proc.stdout


def cmake_build(build_dir: Path, *configure_args: str) -> Path:
    """Configure (idempotent, cheap when unchanged) and build the repository in ``build_dir``."""
    run_logged(["cmake", "-S", str(REPO_ROOT), "-B", str(build_dir), *configure_args])
    run_logged(["cmake", "--build", str(build_dir), "-j", BUILD_JOBS])
    return build_dir


def load_module(name: str, path: Path) -> ModuleType:
    """Import the Python file ``path`` as module ``name`` (registered in ``sys.modules``, where
    dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
