"""The fork guard (DESIGN §3): a child forked after the parent used OpenMP threads trains on one
thread instead of deadlocking on the parent's thread pool, which libgomp does not carry over."""
from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest

from memnative import _lib
from memnative._lib import check, ffi, lib


def _train_once(model: object, data: _lib.StreamData) -> float:
    loss = ffi.new("double *")
    check(lib.mem_model_train_epoch(model, data.ptr, 0, ffi.NULL, ffi.NULL, loss))
    return float(loss[0])


def _child(queue: "multiprocessing.Queue[float]") -> None:
    queue.put(_train_once(_MODEL, _DATA))


# Large enough that the cell loops and GEMMs run in parallel in the parent.
_RNG = np.random.default_rng(0)
_DATA = _lib.StreamData(_RNG.standard_normal((4096, 8)).astype(np.float32),
                        _RNG.standard_normal((4096, 2)).astype(np.float32))
_MODEL = _lib.new_model(_lib.new_config("amrc", hidden_size=256, n_threads=2), 8, 2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_trains_without_deadlock() -> None:
    parent_loss = _train_once(_MODEL, _DATA)
    assert np.isfinite(parent_loss)
    ctx = multiprocessing.get_context("fork")
    queue: "multiprocessing.Queue[float]" = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue,))
    proc.start()
    proc.join(timeout=60)  # a healthy child needs well under a second
    if proc.is_alive():
        proc.kill()
        pytest.fail("the forked child hung in training (fork guard not effective)")
    assert proc.exitcode == 0
    assert np.isfinite(queue.get(timeout=5))
