"""Shared pytest set-up: the hypothesis `ci` profile, the `slow` marker and the CMake builds.

- Hypothesis runs with the `ci` profile (no deadline, derandomized) unless HYPOTHESIS_PROFILE
  names another registered profile.
- Tests marked ``slow`` (acceptance-size learning runs) are skipped unless ``--runslow`` is given or
  ``-m`` selects them (``-m slow``).
- ``plain_build`` configures and builds the repository's CMake tree once per session in the
  persistent directory ``build/ctest`` (reused between runs, so later runs are incremental); the C
  test suite and the C example both use it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest
from hypothesis import settings

from cmake_util import REPO_ROOT, cmake_build

settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow (acceptance-size learning runs)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: acceptance-size run, skipped unless --runslow or -m slow")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if config.getoption("--runslow") or "slow" in (config.getoption("-m") or ""):
        return
    skip_slow = pytest.mark.skip(reason="slow test: run with --runslow or -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def plain_build() -> Path:
    """The Release build of the CMake tree in ``build/ctest`` (library, C tests)."""
    return cmake_build(REPO_ROOT / "build" / "ctest", "-DCMAKE_BUILD_TYPE=Release")
