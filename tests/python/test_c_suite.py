"""The C test suite (ctest), run once as a plain Release build and once under ASan + UBSan.

Both build trees persist under ``build/`` (``build/ctest``, ``build/ctest-asan``) so that a second
run only rebuilds what changed. A failure shows ctest's whole output.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from cmake_util import BUILD_JOBS, REPO_ROOT, cmake_build, run_logged

_LEAK_PROBE = ("#include <stdlib.h>\n"
               "int main(void) { void *volatile p = malloc(7); p = 0; return 0; }\n")


def _leak_sanitizer_works(work_dir: Path) -> bool:
    """Whether LeakSanitizer can run here: it cannot while the process is ptrace'd (some sandboxes,
    debuggers), where it dies with a fatal error instead of reporting. Probed with a tiny program
    that leaks on purpose: a working LeakSanitizer reports the leak."""
    src, exe = work_dir / "leak_probe.c", work_dir / "leak_probe"
    src.write_text(_LEAK_PROBE)
    built = subprocess.run(["cc", "-fsanitize=address", "-g", str(src), "-o", str(exe)],
                           capture_output=True, text=True)
    if built.returncode != 0:
        return False
    ran = subprocess.run([str(exe)], capture_output=True, text=True,
                         env={**os.environ, "ASAN_OPTIONS": "detect_leaks=1"})
    return "LeakSanitizer: detected memory leaks" in ran.stderr


def _sanitizer_env(build_dir: Path) -> Dict[str, str]:
    # detect_leaks=1 wherever LeakSanitizer works (it does on this project's machines); where the
    # process runs under ptrace LeakSanitizer cannot work at all, so leaks go unchecked there
    # (detect_leaks=0) rather than every test dying with "LeakSanitizer has encountered a fatal
    # error".
    leaks = "1" if _leak_sanitizer_works(build_dir) else "0"
    return {
        **os.environ,
        "ASAN_OPTIONS": f"detect_leaks={leaks}:strict_string_checks=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    }


@pytest.mark.parametrize("variant", ["plain", "asan"])
def test_ctest(variant: str, request: pytest.FixtureRequest) -> None:
    """Configure, build and run ctest; plain = Release, asan = Debug with LIBMEM_SANITIZE=ON."""
    if variant == "plain":
        build_dir: Path = request.getfixturevalue("plain_build")
        env = None
    else:
        build_dir = cmake_build(REPO_ROOT / "build" / "ctest-asan",
                                "-DLIBMEM_SANITIZE=ON", "-DCMAKE_BUILD_TYPE=Debug")
        env = _sanitizer_env(build_dir)
    output = run_logged(["ctest", "--test-dir", str(build_dir), "--output-on-failure",
                         "-j", BUILD_JOBS], env=env)
    assert "tests passed" in output, output
