"""A model's life through the raw binding: create, train, save, load, predict, and fail well."""
from __future__ import annotations

import math
from typing import Any, Tuple

import numpy as np
import pytest

import memnative
from memnative import _lib
from memnative._lib import check, ffi, lib

N_STEPS, N_IN, N_OUT = 200, 3, 2


def _last_error() -> str:
    return _lib.string(lib.mem_last_error())


@pytest.fixture(scope="module")
def stream() -> _lib.StreamData:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N_STEPS, N_IN)).astype(np.float32)
    y = np.tanh(x[:, :N_OUT] + 0.5 * np.roll(x[:, N_OUT - 1:], 1, axis=0)).astype(np.float32)
    return _lib.StreamData(x, y)


@pytest.fixture(scope="module")
def trained(stream: _lib.StreamData) -> Tuple[Any, float]:
    model = _lib.new_model(_lib.new_config("amrc", hidden_size=8), N_IN, N_OUT)
    loss = ffi.new("double *")
    check(lib.mem_model_train_epoch(model, stream.ptr, lib.MEM_TRAIN_RESTART_SCHEDULE, ffi.NULL,
                                    ffi.NULL, loss))
    return model, float(loss[0])


def _predict(model: Any, data: _lib.StreamData) -> np.ndarray:
    out = np.empty((data.n_steps, N_OUT), dtype=np.float32)
    check(lib.mem_model_predict(model, data.ptr, 1, ffi.from_buffer("float[]", out), out.size))
    return out


def _save_buffer(model: Any) -> bytes:
    size = ffi.new("int64_t *")
    check(lib.mem_model_save_size(model, ffi.NULL, size))
    buf = bytearray(size[0])
    check(lib.mem_model_save_buffer(model, ffi.NULL, ffi.from_buffer(buf), len(buf)))
    return bytes(buf)


def _load_buffer(buf: bytes) -> Any:
    out = ffi.new("mem_model **")
    check(lib.mem_model_load_buffer(buf, len(buf), out))
    return ffi.gc(out[0], lib.mem_model_free)


def test_amrc_is_registered() -> None:
    assert "amrc" in _lib.kinds()


def test_train_one_epoch_gives_finite_loss(trained: Tuple[Any, float]) -> None:
    model, loss = trained
    assert math.isfinite(loss) and loss > 0.0
    assert _lib.string(lib.mem_model_kind(model)) == "amrc"
    assert lib.mem_model_n_inputs(model) == N_IN and lib.mem_model_n_outputs(model) == N_OUT


def test_buffer_round_trip_predicts_bit_identically(trained: Tuple[Any, float],
                                                     stream: _lib.StreamData) -> None:
    model, _ = trained
    loaded = _load_buffer(_save_buffer(model))
    ours, theirs = _predict(model, stream), _predict(loaded, stream)
    assert np.isfinite(ours).all()
    assert ours.tobytes() == theirs.tobytes()


def test_unknown_config_key_raises_value_error_with_c_message() -> None:
    with pytest.raises(ValueError) as excinfo:
        _lib.new_config("amrc", no_such_parameter=3)
    assert str(excinfo.value) == _last_error()
    assert "no_such_parameter" in str(excinfo.value)


def test_unknown_kind_raises_value_error() -> None:
    with pytest.raises(ValueError, match="no_such_kind"):
        _lib.new_config("no_such_kind")


def test_bad_n_outputs_raises_value_error_with_c_message() -> None:
    cfg = _lib.new_config("amrc", hidden_size=8)
    with pytest.raises(ValueError) as excinfo:
        _lib.new_model(cfg, N_IN, 0)
    assert str(excinfo.value) == _last_error()
    assert "n_outputs" in str(excinfo.value)


def test_too_small_output_raises_value_error(trained: Tuple[Any, float],
                                             stream: _lib.StreamData) -> None:
    model, _ = trained
    out = np.empty((N_STEPS - 1, N_OUT), dtype=np.float32)
    with pytest.raises(ValueError) as excinfo:
        check(lib.mem_model_predict(model, stream.ptr, 1, ffi.from_buffer("float[]", out),
                                    out.size))
    assert str(excinfo.value) == _last_error()


@pytest.mark.parametrize("garbage", [b"", b"\x00" * 64, b"definitely not a libmem model" * 8])
def test_garbage_buffer_raises_format_error(garbage: bytes) -> None:
    with pytest.raises(memnative.FormatError) as excinfo:
        _load_buffer(garbage)
    assert str(excinfo.value) == _last_error()


def test_truncated_buffer_raises_format_error(trained: Tuple[Any, float]) -> None:
    buf = _save_buffer(trained[0])
    with pytest.raises(memnative.FormatError):
        _load_buffer(buf[: len(buf) // 2])

