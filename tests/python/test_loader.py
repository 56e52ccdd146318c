"""The loader's refusals and the status -> exception mapping (design §1 and §3).

The loader tests run ``import memnative`` in a fresh interpreter on a copy of the installed package
whose ``_build_info.py`` has been altered, so the library found there is not the build it records.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

import memnative
from memnative import _lib
from memnative._lib import check, lib

PACKAGE_DIR = Path(memnative.__file__).resolve().parent

needs_built_package = pytest.mark.skipif(
    _lib.BUILD_ID is None or not (PACKAGE_DIR / "libmem.so").is_file(),
    reason="needs an installed (built) memnative package, not a source checkout")


@pytest.mark.parametrize("status, expected", [
    (lib.MEM_ERR_ARG, ValueError),
    (lib.MEM_ERR_SHAPE, ValueError),
    (lib.MEM_ERR_NOMEM, MemoryError),
    (lib.MEM_ERR_IO, OSError),
    (lib.MEM_ERR_CORRUPT, memnative.FormatError),
    (lib.MEM_ERR_NUMERIC, memnative.NumericalError),
    (lib.MEM_ERR_STATE, RuntimeError),
    (lib.MEM_ERR_UNSUPPORTED, NotImplementedError),
    (lib.MEM_ERR_INFEASIBLE, ValueError),
    (lib.MEM_ERR_CANCELLED, KeyboardInterrupt),
])
def test_status_maps_to_exception(status: int, expected: type) -> None:
    with pytest.raises(expected):
        check(status)


def test_ok_does_not_raise() -> None:
    check(lib.MEM_OK)


def test_error_types_are_value_errors() -> None:
    assert issubclass(memnative.FormatError, ValueError)
    assert issubclass(memnative.NumericalError, ValueError)


def test_io_error_carries_errno(tmp_path: Path) -> None:
    out = _lib.ffi.new("mem_model **")
    with pytest.raises(OSError) as excinfo:
        check(lib.mem_model_load(str(tmp_path / "absent.mem").encode(), out))
    assert excinfo.value.errno == errno.ENOENT


def test_versions_agree() -> None:
    from importlib import metadata

    header_version = "{}.{}.{}".format(lib.MEM_VERSION_MAJOR, lib.MEM_VERSION_MINOR,
                                       lib.MEM_VERSION_PATCH)
    assert memnative.__version__ == _lib.string(lib.mem_version_string()) == header_version
    assert lib.mem_version_number() == lib.MEM_VERSION_NUMBER
    try:
        assert metadata.version("memnative") == memnative.__version__
    except metadata.PackageNotFoundError:
        pass  # a source checkout on PYTHONPATH has no distribution metadata


def test_build_info_names_the_loaded_build() -> None:
    info = _lib.build_info()
    assert info["version"] == memnative.__version__
    assert info["build"] == _lib.string(lib.mem_build_id())
    assert Path(info["library"]) == _lib.LIB_PATH


# ---- the loader, in fresh interpreters ----------------------------------------------------------

def _package_copy(tmp_path: Path, version: Optional[str] = None,
                  build_id: Optional[str] = None) -> Path:
    """Copy the installed package to ``tmp_path/site/memnative`` and alter its recorded build."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE_DIR, site / "memnative", ignore=shutil.ignore_patterns("__pycache__"))
    info = site / "memnative" / "_build_info.py"
    info.write_text(f"VERSION = {version or _lib.VERSION!r}\n"
                    f"BUILD_ID = {build_id or _lib.BUILD_ID!r}\n")
    return site


def _import_in_subprocess(site: Path, lib_env: Optional[str] = None) -> subprocess.CompletedProcess:
    env: Dict[str, str] = {k: v for k, v in os.environ.items() if k != "MEMNATIVE_LIB"}
    env["PYTHONPATH"] = str(site)
    if lib_env is not None:
        env["MEMNATIVE_LIB"] = lib_env
    code = "import memnative, memnative._lib as l; print('LOADED', l.LIB_PATH)"
    return subprocess.run([sys.executable, "-W", "always", "-c", code], cwd=site, env=env,
                          capture_output=True, text=True, timeout=120)


@needs_built_package
def test_package_library_of_another_build_is_refused(tmp_path: Path) -> None:
    proc = _import_in_subprocess(_package_copy(tmp_path, build_id="some-other-build"))
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "some-other-build" in proc.stderr and str(_lib.BUILD_ID) in proc.stderr


@needs_built_package
def test_package_library_of_another_version_is_refused(tmp_path: Path) -> None:
    proc = _import_in_subprocess(_package_copy(tmp_path, version="9.9.9"))
    assert proc.returncode != 0
    assert "9.9.9" in proc.stderr and _lib.VERSION in proc.stderr


@needs_built_package
def test_memnative_lib_of_another_build_loads_with_a_warning(tmp_path: Path) -> None:
    proc = _import_in_subprocess(_package_copy(tmp_path, build_id="some-other-build"),
                                 lib_env=str(_lib.LIB_PATH))
    assert proc.returncode == 0, proc.stderr
    assert f"LOADED {_lib.LIB_PATH}" in proc.stdout
    assert "RuntimeWarning" in proc.stderr and "some-other-build" in proc.stderr


@needs_built_package
def test_memnative_lib_of_another_version_is_refused(tmp_path: Path) -> None:
    proc = _import_in_subprocess(_package_copy(tmp_path, version="9.9.9"),
                                 lib_env=str(_lib.LIB_PATH))
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and "9.9.9" in proc.stderr


@needs_built_package
def test_missing_memnative_lib_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "libmem.so"
    proc = _import_in_subprocess(_package_copy(tmp_path), lib_env=str(missing))
    assert proc.returncode != 0
    assert "OSError" in proc.stderr and str(missing) in proc.stderr


@needs_built_package
def test_no_library_lists_every_path_tried(tmp_path: Path) -> None:
    site = _package_copy(tmp_path)
    (site / "memnative" / "libmem.so").unlink()
    proc = _import_in_subprocess(site)
    assert proc.returncode != 0
    assert "OSError" in proc.stderr
    assert str(site / "memnative" / "libmem.so") in proc.stderr
