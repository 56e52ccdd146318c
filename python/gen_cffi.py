#!/usr/bin/env python3
"""Generate the cffi binding of libmem from its public header.

The header ``libmem/include/libmem/libmem.h`` is the single source of truth for the Python
binding. This script turns it into a declaration text that ``cffi.FFI.cdef`` accepts and emits an
out-of-line ABI-mode module (``_libmem_cffi.py``: no C compiler needed at import time; the module
only ``dlopen``s ``libmem.so``) together with ``_build_info.py``, which records the version and
build id the library was built with so that the loader can refuse a mismatched library.

The build (``CMakeLists.txt``, ``LIBMEM_PYTHON`` branch) runs it as::

    python gen_cffi.py --header libmem.h --out-dir DIR --version 0.1.0 --build-id ID

It is also importable (``cdef_from_header``, ``function_names``, ``make_ffi``), which the tests
and a source-checkout fallback of the loader use.

What the header may contain (it says so itself): plain C declarations, with preprocessor lines only
for the include guard, ``extern "C"`` and ``MEM_API``. Integer ``#define`` constants are kept (cffi
accepts ``#define NAME 2``); every other preprocessor line is dropped, as is the
``#ifdef __cplusplus`` block content.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import List, Optional

__all__ = ["cdef_from_header", "function_names", "make_ffi", "write_binding", "main"]

_MODULE_NAME = "memnative._libmem_cffi"
_INT_DEFINE = re.compile(
    r"^#\s*define\s+([A-Za-z_]\w*)\s+\(?\s*(-?(?:0[xX][0-9a-fA-F]+|\d+))[uUlL]*\s*\)?\s*$"
)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)


def _strip_comments(text: str) -> str:
    """Remove ``/* */`` and ``//`` comments, keeping line structure for block comments."""
    def blank(match: "re.Match[str]") -> str:
        comment = match.group(0)
        return "\n" * comment.count("\n") if comment.startswith("/*") else ""

    return _COMMENT.sub(blank, text)


def cdef_from_header(text: str) -> str:
    """Turn the public header into a declaration text for ``cffi.FFI.cdef``.

    Parameters
    ----------
    text : str
        The content of ``libmem.h``.

    Returns
    -------
    str
        Declarations only: comments, includes, conditionals, non-integer macros, the
        ``extern "C"`` wrapper and ``MEM_API`` removed; integer ``#define`` constants kept.
    """
    text = _strip_comments(text).replace("\\\n", " ")
    out: List[str] = []
    # One entry per open conditional: [live, about_cplusplus]. Only conditions on __cplusplus are
    # evaluated (it is undefined: the header is read as C); other blocks stay live, and whatever
    # they hold besides declarations (the MEM_API macros) is dropped line by line below.
    blocks: List[List[bool]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            directive = line[1:].lstrip()
            if directive.startswith("if"):
                about_cpp = "__cplusplus" in directive
                live = directive.startswith("ifndef") if about_cpp else True
                blocks.append([live, about_cpp])
            elif directive.startswith("endif"):
                if blocks:
                    blocks.pop()
            elif directive.startswith(("else", "elif")):
                if blocks and blocks[-1][1]:
                    blocks[-1][0] = not blocks[-1][0]
            elif directive.startswith("define") and all(b[0] for b in blocks):
                m = _INT_DEFINE.match(line)
                if m:
                    out.append(f"#define {m.group(1)} {int(m.group(2), 0)}")
            continue  # every other preprocessor line (include, undef, pragma, non-integer define)
        if not all(b[0] for b in blocks):
            continue
        line = re.sub(r'extern\s+"C"\s*\{?', "", line)
        line = re.sub(r"\bMEM_API\b", "", line).strip()
        if line:
            out.append(line)
    return "\n".join(out) + "\n"


_STDINT_TYPEDEFS = """
typedef int int8_t; typedef int int16_t; typedef int int32_t; typedef int int64_t;
typedef int uint8_t; typedef int uint16_t; typedef int uint32_t; typedef int uint64_t;
typedef int size_t; typedef int ptrdiff_t; typedef int intptr_t; typedef int uintptr_t;
"""


def function_names(cdef: str) -> List[str]:
    """Names of the functions declared in a cdef text, in declaration order.

    Parameters
    ----------
    cdef : str
        Output of :func:`cdef_from_header`.

    Returns
    -------
    list of str
        Every function prototype's name (function-pointer typedefs and struct fields excluded).
    """
    from pycparser import c_ast, c_parser  # a dependency of cffi

    body = "\n".join(line for line in cdef.splitlines() if not line.lstrip().startswith("#"))
    ast = c_parser.CParser().parse(_STDINT_TYPEDEFS + body)
    names: List[str] = []
    for node in ast.ext:
        if isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.FuncDecl):
            names.append(node.name)
    return names


def make_ffi(header_text: str, module_name: Optional[str] = _MODULE_NAME):
    """Build a ``cffi.FFI`` holding the header's declarations.

    Parameters
    ----------
    header_text : str
        The content of ``libmem.h``.
    module_name : str or None
        Name given to ``set_source`` (out-of-line ABI mode); None skips ``set_source``, for an
        in-memory FFI that is used directly with ``ffi.dlopen``.

    Returns
    -------
    cffi.FFI
    """
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(cdef_from_header(header_text))
    if module_name is not None:
        ffi.set_source(module_name, None)
    return ffi


def write_binding(header: Path, out_dir: Path, version: str, build_id: str) -> List[Path]:
    """Write ``_libmem_cffi.py`` and ``_build_info.py`` into ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The two files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    ffi = make_ffi(header.read_text(encoding="utf-8"))
    cffi_path = out_dir / "_libmem_cffi.py"
    ffi.emit_python_code(str(cffi_path))
    info_path = out_dir / "_build_info.py"
    info_path.write_text(
        '"""Generated by python/gen_cffi.py at build time: the libmem build in this package."""\n'
        f"VERSION = {version!r}\n"
        f"BUILD_ID = {build_id!r}\n",
        encoding="utf-8",
    )
    return [cffi_path, info_path]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--header", type=Path, required=True, help="path to libmem.h")
    parser.add_argument("--out-dir", type=Path, required=True,
                        help="folder for the generated modules")
    parser.add_argument("--version", required=True, help="library version, e.g. 0.1.0")
    parser.add_argument("--build-id", required=True, help="the build id compiled into libmem")
    parser.add_argument("--print-cdef", action="store_true", help="also print the cdef text")
    args = parser.parse_args(argv)
    if args.print_cdef:
        print(cdef_from_header(args.header.read_text(encoding="utf-8")))
    write_binding(args.header, args.out_dir, args.version, args.build_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
