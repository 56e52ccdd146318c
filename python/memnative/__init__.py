"""memnative: memory-native recurrent networks with exact gradients, on the C library libmem.

The numerics live in ``libmem.so`` (C11 + OpenMP), bundled in this package and reached through a
thin cffi layer (:mod:`memnative._lib`). Importing memnative loads the library and checks that it is
the build this package was made with.
"""
from __future__ import annotations

from ._errors import FormatError, NumericalError
from ._lib import VERSION as __version__

__all__ = ["__version__", "FormatError", "NumericalError"]
