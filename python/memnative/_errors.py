"""Exception types of memnative that Python's built-ins do not cover.

The mapping from libmem status codes to exceptions lives in :mod:`memnative._lib` (``check``).
"""
from __future__ import annotations

__all__ = ["FormatError", "NumericalError"]


class FormatError(ValueError):
    """A file or buffer is not a valid libmem model (truncated, bad checksum, foreign data).

    Raised for ``MEM_ERR_CORRUPT``.
    """


class NumericalError(ValueError):
    """A non-finite value appeared in the input, the loss or a gradient.

    Raised for ``MEM_ERR_NUMERIC``; the message names the cell and the step where it happened.
    """
