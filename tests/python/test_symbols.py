"""The binding and the library agree with the public header, symbol for symbol.

- every function declared in the header (hence in the generated cdef) resolves in the loaded
  library;
- ``nm -D --defined-only libmem.so`` exports exactly the header's functions: nothing internal leaks
  out (``-fvisibility=hidden``), nothing declared is missing.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from types import ModuleType
from typing import List, Set

import pytest

from cmake_util import REPO_ROOT, load_module
from memnative import _lib

HEADER = REPO_ROOT / "libmem" / "include" / "libmem" / "libmem.h"


def _gen_cffi() -> ModuleType:
    return load_module("gen_cffi", REPO_ROOT / "python" / "gen_cffi.py")


@pytest.fixture(scope="module")
def header_functions() -> List[str]:
    gen = _gen_cffi()
    names = gen.function_names(gen.cdef_from_header(HEADER.read_text(encoding="utf-8")))
    assert len(names) == len(set(names)), "a function is declared twice"
    assert names, "no function parsed from the header"
    return names


def test_header_parse_sees_every_prototype(header_functions: List[str]) -> None:
    # Independent count: every `MEM_API` line of the header declares one function.
    declared = re.findall(r"^MEM_API\b[^;(]*?\b(mem_\w+)\s*\(", HEADER.read_text(), re.MULTILINE)
    assert sorted(declared) == sorted(header_functions)


def test_every_declared_function_resolves(header_functions: List[str]) -> None:
    missing = []
    for name in header_functions:
        try:
            getattr(_lib.lib, name)
        except AttributeError as exc:
            missing.append(f"{name}: {exc}")
    assert not missing, "declared in libmem.h but not resolvable:\n" + "\n".join(missing)


def test_binding_declares_the_header_functions(header_functions: List[str]) -> None:
    """The generated module (what the package uses) declares the functions of this header."""
    functions = {name for name in dir(_lib.lib)
                 if isinstance(getattr(_lib.lib, name), _lib.ffi.CData)}
    assert functions == set(header_functions)


@pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")
def test_exports_are_exactly_the_header_functions(header_functions: List[str]) -> None:
    out = subprocess.run(["nm", "-D", "--defined-only", str(_lib.LIB_PATH)], capture_output=True,
                         text=True, check=True).stdout
    exported: Set[str] = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "W", "i"):  # functions: text, weak, indirect
            exported.add(parts[2].split("@")[0])
    expected = set(header_functions)
    assert not exported - expected, f"exported, not in libmem.h: {sorted(exported - expected)}"
    assert not expected - exported, f"in libmem.h, not exported: {sorted(expected - exported)}"
