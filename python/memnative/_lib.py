"""The binding to libmem: loads the shared library once and turns C status codes into exceptions.

Everything in memnative calls C through this module:

- ``ffi`` / ``lib``: the cffi declarations (generated at build time from ``libmem.h`` by
  ``python/gen_cffi.py``, out-of-line ABI mode) and the loaded library. cffi releases the GIL
  around every C call.
- :func:`check`: the single choke point where a non-``MEM_OK`` status becomes a Python exception
  carrying ``mem_last_error()``'s message (design §3).
- small helpers shared by the estimators: :func:`kinds`, :func:`build_info`,
  :func:`config_params`, :func:`new_config`, :func:`new_model`, :class:`StreamData`.

Where the library comes from, first match wins:

1. ``MEMNATIVE_LIB``, the path of a ``libmem.so`` (a debug or sanitizer build). When it is set,
   it is the only candidate: a wrong path is an error rather than a silent fall-back to another
   library. Its version must equal the package's; a different build id only warns.
2. The package folder (``memnative/libmem.so``, installed by ``pip install``; for an editable
   install, the folder holding the generated ``_build_info.py``). Its version **and** build id must
   equal those recorded in ``_build_info.py`` at build time, else the import is refused.
3. A development build of a source checkout (``<repo>/build/libmem.so``,
   ``<repo>/build/*/libmem.so``, newest first; sanitizer builds are skipped, since they cannot be
   loaded into a plain interpreter). Version checked as for ``MEMNATIVE_LIB``.

If nothing loads, :class:`OSError` lists every path tried and why it failed.
"""
from __future__ import annotations

import importlib.util
import os
import re
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ._errors import FormatError, NumericalError

__all__ = [
    "ffi", "lib", "LIB_PATH", "VERSION", "BUILD_ID", "check", "error_from_status", "string",
    "kinds", "build_info", "ParamInfo", "config_params", "COMMON_KEYS", "new_config", "set_config_param",
    "new_model", "StreamData",
]

LIB_FILENAME = "libmem.so"
_PACKAGE_DIR = Path(__file__).resolve().parent
_HEADER_IN_REPO = Path("libmem", "include", "libmem", "libmem.h")


# ---- the generated binding ----------------------------------------------------------------------

def _source_root() -> Optional[Path]:
    """The repository root when this module runs from a source checkout (editable or PYTHONPATH)."""
    root = _PACKAGE_DIR.parent.parent
    if (root / "CMakeLists.txt").is_file() and (root / _HEADER_IN_REPO).is_file():
        return root
    return None


def _binding() -> Tuple[Any, str, Optional[str], List[Path]]:
    """Return ``(ffi, version, build_id, package_dirs)`` of the generated binding.

    A plain source checkout has no generated modules; there the declarations are built in memory
    from the repository's header (same generator, so the same text), the version is read from the
    header and there is no build id to compare with.
    """
    try:
        from . import _build_info
        from ._libmem_cffi import ffi as generated_ffi
    except ImportError as exc:
        root = _source_root()
        if root is None:
            raise ImportError(
                "memnative's generated binding (_libmem_cffi, _build_info) is missing: "
                "the package was not built; install it with `pip install .`") from exc
        spec = importlib.util.spec_from_file_location(
            "memnative_gen_cffi", root / "python" / "gen_cffi.py")
        assert spec is not None and spec.loader is not None
        gen: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
        header = (root / _HEADER_IN_REPO).read_text(encoding="utf-8")
        parts = [re.search(rf"#define\s+MEM_VERSION_{p}\s+(\d+)", header) for p in
                 ("MAJOR", "MINOR", "PATCH")]
        version = ".".join(m.group(1) if m else "?" for m in parts)
        return gen.make_ffi(header, None), version, None, []
    dirs = [_PACKAGE_DIR]
    info_file = getattr(_build_info, "__file__", None)
    if info_file:  # an editable install keeps the built files apart from the sources
        info_dir = Path(info_file).resolve().parent
        if info_dir != _PACKAGE_DIR:
            dirs.append(info_dir)
    return generated_ffi, _build_info.VERSION, _build_info.BUILD_ID, dirs


def _dev_build_libraries(root: Optional[Path]) -> List[Path]:
    if root is None or not (root / "build").is_dir():
        return []
    found = [root / "build" / LIB_FILENAME] + sorted(
        (root / "build").glob(f"*/{LIB_FILENAME}"), key=lambda p: p.stat().st_mtime, reverse=True)
    keep = []
    for path in found:
        cache = path.parent / "CMakeCache.txt"
        if cache.is_file() and "LIBMEM_SANITIZE:BOOL=ON" in cache.read_text(errors="replace"):
            continue  # an ASan library aborts a non-ASan process that dlopens it
        keep.append(path)
    return keep


def _try_dlopen(ffi_: Any, path: Path, tried: List[str]) -> Any:
    if not path.is_file():
        tried.append(f"{path} (not found)")
        return None
    try:
        return ffi_.dlopen(str(path))
    except OSError as exc:
        tried.append(f"{path} ({exc})")
        return None


def _library_identity(ffi_: Any, lib_: Any) -> Tuple[str, str]:
    return (ffi_.string(lib_.mem_version_string()).decode(),
            ffi_.string(lib_.mem_build_id()).decode())


def _verify(ffi_: Any, lib_: Any, path: Path, version: str, build_id: Optional[str],
            require_build_id: bool) -> None:
    lib_version, lib_build = _library_identity(ffi_, lib_)
    if lib_version != version or (require_build_id and lib_build != build_id):
        raise ImportError(
            f"refusing to load {path}: the library reports version {lib_version} "
            f"build {lib_build}, "
            f"but this memnative package was built with version {version} build {build_id}. "
            "Reinstall memnative (`pip install --force-reinstall .`) or point MEMNATIVE_LIB at a "
            "library of the same version.")
    if build_id is not None and lib_build != build_id:
        warnings.warn(
            f"memnative: {path} is build {lib_build}, the package was built as build {build_id} "
            f"(same version {version}); using it.", RuntimeWarning, stacklevel=3)


def _load() -> Tuple[Any, Any, Path, str, Optional[str]]:
    ffi_, version, build_id, package_dirs = _binding()
    tried: List[str] = []
    env_path = os.environ.get("MEMNATIVE_LIB")
    if env_path:
        path = Path(env_path).expanduser().resolve()
        lib_ = _try_dlopen(ffi_, path, tried)
        if lib_ is None:
            raise OSError(f"cannot load libmem from MEMNATIVE_LIB: tried {tried[0]}")
        _verify(ffi_, lib_, path, version, build_id, require_build_id=False)
        return ffi_, lib_, path, version, build_id
    for folder in package_dirs:
        path = folder / LIB_FILENAME
        lib_ = _try_dlopen(ffi_, path, tried)
        if lib_ is not None:
            _verify(ffi_, lib_, path, version, build_id, require_build_id=True)
            return ffi_, lib_, path, version, build_id
    for path in _dev_build_libraries(_source_root()):
        lib_ = _try_dlopen(ffi_, path, tried)
        if lib_ is not None:
            _verify(ffi_, lib_, path, version, build_id, require_build_id=False)
            return ffi_, lib_, path, version, build_id
    listing = "\n  ".join(tried) if tried else "(no candidate path)"
    raise OSError(
        "cannot load libmem; tried, in order:\n  " + listing +
        "\nInstall the package with `pip install .`, or set MEMNATIVE_LIB to a libmem.so.")


ffi, lib, LIB_PATH, VERSION, BUILD_ID = _load()


# ---- status -> exception ------------------------------------------------------------------------

#: Exception class per mem_status (design §3). MEM_ERR_IO is built as OSError(errno, message) so
#: that Python picks the subclass (FileNotFoundError, PermissionError, ...).
STATUS_EXCEPTIONS: Dict[int, type] = {
    lib.MEM_ERR_ARG: ValueError,
    lib.MEM_ERR_SHAPE: ValueError,
    lib.MEM_ERR_NOMEM: MemoryError,
    lib.MEM_ERR_IO: OSError,
    lib.MEM_ERR_CORRUPT: FormatError,
    lib.MEM_ERR_NUMERIC: NumericalError,
    lib.MEM_ERR_STATE: RuntimeError,
    lib.MEM_ERR_UNSUPPORTED: NotImplementedError,
    lib.MEM_ERR_INFEASIBLE: ValueError,
    lib.MEM_ERR_CANCELLED: KeyboardInterrupt,
}


def string(ptr: Any) -> str:
    """Decode a C string (``const char *``) returned by libmem; NULL gives ``""``."""
    if ptr == ffi.NULL:
        return ""
    return ffi.string(ptr).decode("utf-8", errors="replace")


def error_from_status(status: int) -> BaseException:
    """The exception for a failed call's status, carrying ``mem_last_error()``'s message.

    Must be called on the thread that made the failing call (the message is thread-local) and
    before any other libmem call.
    """
    message = string(lib.mem_last_error()) or string(lib.mem_status_name(status))
    if status == lib.MEM_ERR_IO:
        err = lib.mem_errno()
        return OSError(err, message) if err else OSError(message)
    cls = STATUS_EXCEPTIONS.get(status)
    if cls is None:  # a code newer than this binding
        return RuntimeError(f"{string(lib.mem_status_name(status))} ({status}): {message}")
    return cls(message)


def check(status: int) -> None:
    """Raise the exception that ``status`` maps to; return quietly for ``MEM_OK``.

    Parameters
    ----------
    status : int
        A ``mem_status`` returned by a libmem call made just before, on this thread.

    Raises
    ------
    ValueError
        ``MEM_ERR_ARG``, ``MEM_ERR_SHAPE``, ``MEM_ERR_INFEASIBLE``; the subclasses
        :class:`memnative.FormatError` (``MEM_ERR_CORRUPT``) and
        :class:`memnative.NumericalError` (``MEM_ERR_NUMERIC``).
    OSError
        ``MEM_ERR_IO``, with the C ``errno`` (``FileNotFoundError`` for ``ENOENT``, ...).
    MemoryError, RuntimeError, NotImplementedError, KeyboardInterrupt
        ``MEM_ERR_NOMEM``, ``MEM_ERR_STATE``, ``MEM_ERR_UNSUPPORTED``, ``MEM_ERR_CANCELLED``.
    """
    if status != lib.MEM_OK:
        raise error_from_status(status)


# ---- library information ------------------------------------------------------------------------

def kinds() -> List[str]:
    """Names of the model kinds (cells) this library registers, in registry order."""
    n = int(lib.mem_model_kinds(ffi.NULL, 0))
    names = ffi.new("const char *[]", max(n, 1))
    n = int(lib.mem_model_kinds(names, n))
    return [string(names[i]) for i in range(n)]


def build_info() -> Dict[str, str]:
    """The library's ``mem_build_info()`` as a dict, plus where it was loaded from.

    Returns
    -------
    dict of str to str
        Keys of the C string (``version``, ``build``, ``openmp``, ``simd``, ``threads``, ...) and
        ``library`` (the loaded path) and ``package_build`` (the build id memnative was built with,
        empty in a source checkout).
    """
    info: Dict[str, str] = {}
    for token in string(lib.mem_build_info()).split():
        key, sep, value = token.partition("=")
        info[key] = value if sep else ""
    info["library"] = str(LIB_PATH)
    info["package_build"] = BUILD_ID or ""
    return info


# ---- configurations and models ------------------------------------------------------------------

class ParamInfo(NamedTuple):
    """One row of a kind's parameter tables (``mem_config_param_info``)."""

    name: str
    type: str          #: "int", "float", "bool", "choice" or "floats"
    table: str         #: "arch" (fixed once a model exists) or "train" (settable on a live model)
    default: float
    min: float
    max: float
    min_open: bool     #: value must be > min (else >= min)
    max_open: bool     #: value must be < max (else <= max)
    choices: Tuple[str, ...]
    doc: str


_PARAM_TYPES = {0: "int", 1: "float", 2: "bool", 3: "choice", 4: "floats"}


def config_params(kind: str) -> List[ParamInfo]:
    """The parameter tables of ``kind``: common parameters, then the cell's.

    Raises
    ------
    ValueError
        For a kind the library does not know (the message lists the known kinds).
    """
    kind_c = kind.encode()
    count = int(lib.mem_config_param_count(kind_c))
    if count < 0:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(kinds())}")
    name, choices, doc = (ffi.new("const char **") for _ in range(3))
    ptype, table = ffi.new("mem_param_type *"), ffi.new("mem_param_table *")
    default, lo, hi = (ffi.new("double *") for _ in range(3))
    bounds = ffi.new("int *")
    rows = []
    for i in range(count):
        check(lib.mem_config_param_info(kind_c, i, name, ptype, table, default, lo, hi, bounds,
                                        choices, doc))
        choice_text = string(choices[0])
        rows.append(ParamInfo(
            name=string(name[0]), type=_PARAM_TYPES.get(int(ptype[0]), str(int(ptype[0]))),
            table="train" if int(table[0]) == lib.MEM_TABLE_TRAIN else "arch",
            default=float(default[0]), min=float(lo[0]), max=float(hi[0]),
            min_open=bool(bounds[0] & lib.MEM_BOUND_MIN_OPEN),
            max_open=bool(bounds[0] & lib.MEM_BOUND_MAX_OPEN),
            choices=tuple(c for c in re.split(r"[,|\s]+", choice_text) if c),
            doc=string(doc[0])))
    return rows


#: The parameters every kind's table starts with (readout, loss, seed, training); the rest of a
#: kind's table is its own (``cell_params`` of MemoryRegressor / MemoryClassifier).
COMMON_KEYS: Tuple[str, ...] = tuple(
    p.name for p in config_params(kinds()[0])[: int(lib.mem_config_common_count())])

ParamValue = Union[bool, int, float, str, Sequence[float]]


def set_config_param(cfg: Any, name: str, value: ParamValue,
                     types: Optional[Dict[str, str]] = None) -> None:
    """Set one parameter on a ``mem_config *``, choosing the setter from the parameter's type.

    Parameters
    ----------
    cfg : cdata ``mem_config *``
    name : str
    value : bool, int, float, str or sequence of float
    types : dict, optional
        ``name -> type`` of the config's kind (from :func:`config_params`); looked up if omitted.
        A name not in the table is passed to C by its Python type, so the error is C's.
    """
    if types is None:
        types = {p.name: p.type for p in config_params(string(lib.mem_config_kind(cfg)))}
    key = name.encode()
    kind = types.get(name)
    if kind is None:  # unknown: let C name the problem
        kind = ("choice" if isinstance(value, str) else
                "int" if isinstance(value, (bool, int, np.integer)) else
                "floats" if isinstance(value, (list, tuple, np.ndarray)) else "float")
    if kind in ("int", "bool"):
        check(lib.mem_config_set_int(cfg, key, _as_int64(name, value)))
    elif kind == "float":
        check(lib.mem_config_set_float(cfg, key, _as_float(name, value)))
    elif kind == "choice":
        if not isinstance(value, str):
            raise ValueError(f"{name}={value!r} must be a string")
        check(lib.mem_config_set_str(cfg, key, value.encode()))
    else:
        try:
            values = np.ascontiguousarray(np.atleast_1d(value), dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name}={value!r} must be a sequence of numbers") from None
        check(lib.mem_config_set_floats(cfg, key, ffi.from_buffer("double[]", values), values.size))


def _as_int64(name: str, value: Any) -> int:
    """An integer setting, with errors that name the parameter (C checks the range)."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        number = int(value)
    elif isinstance(value, (float, np.floating)) and float(value).is_integer():
        number = int(value)
    else:
        raise ValueError(f"{name}={value!r} must be an integer")
    if not -(1 << 63) <= number < (1 << 63):
        raise ValueError(f"{name}={number} is out of range (not a 64-bit integer)")
    return number


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}={value!r} must be a number")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name}={value!r} is out of range (too large for a double)") from None


def new_config(kind: str, **params: ParamValue) -> Any:
    """Create a ``mem_config *`` for ``kind`` with ``params`` set; freed by the garbage collector.

    Examples
    --------
    >>> cfg = new_config("amrc", hidden_size=32)  # doctest: +SKIP
    """
    out = ffi.new("mem_config **")
    check(lib.mem_config_create(kind.encode(), out))
    cfg = ffi.gc(out[0], lib.mem_config_free)
    if params:
        types = {p.name: p.type for p in config_params(kind)}
        for name, value in params.items():
            set_config_param(cfg, name, value, types)
    return cfg


def new_model(cfg: Any, n_inputs: int, n_outputs: int) -> Any:
    """Create a ``mem_model *`` from a config; freed by the garbage collector."""
    out = ffi.new("mem_model **")
    check(lib.mem_model_create(cfg, int(n_inputs), int(n_outputs), out))
    return ffi.gc(out[0], lib.mem_model_free)


class StreamData:
    """A ``mem_data`` describing one stream (``MEM_LAYOUT_STREAM``, per-step targets).

    Holds float32, C-contiguous copies (or the arrays themselves when already so) of ``x`` and
    ``y`` for as long as the struct is alive, since the struct only points at them.

    Parameters
    ----------
    x : array_like, shape (n_steps, n_inputs)
    y : array_like, shape (n_steps, n_outputs), optional
        Targets; None for prediction.
    """

    def __init__(self, x: Any, y: Any = None) -> None:
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        if self.x.ndim != 2:
            raise ValueError(f"a stream is 2-D (n_steps, n_features), got shape {self.x.shape}")
        self.y = None if y is None else np.ascontiguousarray(y, dtype=np.float32)
        if self.y is not None and (self.y.ndim != 2 or self.y.shape[0] != self.x.shape[0]):
            raise ValueError(f"targets of a stream are 2-D (n_steps, n_outputs) with the rows of "
                             f"x ({self.x.shape[0]}), got shape {self.y.shape}")
        self.ptr = ffi.new("mem_data *")
        self.ptr.layout = lib.MEM_LAYOUT_STREAM
        self.ptr.target = lib.MEM_TARGET_PER_STEP
        self.ptr.x = ffi.from_buffer("float[]", self.x)
        self.ptr.y = ffi.NULL if self.y is None else ffi.from_buffer("float[]", self.y)
        self.ptr.lengths = ffi.NULL
        self.ptr.n_seq = 1
        self.ptr.max_len = self.x.shape[0]

    @property
    def n_steps(self) -> int:
        """Number of time steps."""
        return int(self.x.shape[0])
