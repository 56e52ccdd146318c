"""memnative: memory-native recurrent networks with exact gradients, on the C library libmem.

The numerics live in ``libmem.so`` (C11 + OpenMP), bundled in this package and reached through a
thin cffi layer (:mod:`memnative._lib`). Importing memnative loads the library and checks that it is
the build this package was made with.

Estimators follow scikit-learn's contract: a 2-D ``X`` (n_steps, n_features) is one stream whose
memory carries across rows; a 3-D ``X`` (n_seq, seq_len, n_features) or a list of 2-D arrays holds
independent sequences.
"""
from __future__ import annotations

from . import align, datasets
from ._base import load_estimator as load
from ._compat import NotFittedError
from ._errors import FormatError, NumericalError
from ._cells import AMN, AMRC, DTPN, NDM, PMRC, SGWAMN, HyperAMN
from ._estimators import MemoryClassifier, MemoryRegressor, create_model, sklearn_expected_failures
from ._lib import VERSION as __version__

__all__ = ["__version__", "align", "datasets", "AMRC", "PMRC", "AMN", "DTPN", "HyperAMN", "NDM", "SGWAMN", "MemoryRegressor", "MemoryClassifier", "create_model", "load",
           "sklearn_expected_failures", "FormatError", "NumericalError", "NotFittedError"]
