"""Saving, loading and pickling of memnative estimators (DESIGN §5, §6).

Covers: bit-identical predictions after ``save``/``load``, ``pickle`` and ``joblib`` for streams,
3-D sequences (per-step and per-sequence targets) and lists of variable-length sequences;
continuation of the stored stream memory and of training (``partial_fit``, ``warm_start``)
after a round trip; the fitted attributes and hyper-parameters restored by ``memnative.load``;
errors for missing, foreign, truncated and corrupted files and buffers; atomic saves; the
zero-copy ``parameters_`` views; and the ``get_memory_state``/``set_memory_state`` round trip.

Models are tiny (hidden_size 4, a few epochs, short streams) so the whole file runs in seconds.
"""
from __future__ import annotations

import gc
import os
import pickle
import stat
import struct
import threading
import zlib
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import joblib
import numpy as np
import pytest

import memnative
from memnative import AMRC, FormatError, MemoryClassifier, MemoryRegressor, NotFittedError

# ---- data ------------------------------------------------------------------------------------

_RNG = np.random.default_rng(20240611)
_XS = _RNG.normal(size=(120, 2))
_YS = np.sin(_XS[:, 0]) + 0.5 * _XS[:, 1]
_X3 = _RNG.normal(size=(12, 6, 2))
_Y3_LAST = _X3.sum(axis=(1, 2))
_Y3_STEP = np.cumsum(_X3[..., :1], axis=1)             # (n_seq, seq_len, 1): per step
_XL = [_RNG.normal(size=(n, 2)) for n in (3, 5, 4, 6, 2, 5, 4, 3)]
_YL_LAST = np.array([s.sum() for s in _XL])
_YL_STEP = [np.cumsum(s[:, 0]) for s in _XL]


def _labels(values: np.ndarray, names: Tuple[Any, ...]) -> np.ndarray:
    """Three classes from a continuous signal (every class present in every split used)."""
    idx = np.digitize(values, np.quantile(values, [1 / 3, 2 / 3]))
    return np.asarray(names)[idx]


_YS_STR = _labels(_YS, ("ant", "bee", "cat"))
_Y3_CLS = np.array([0, 1, 2] * 4)
_Y3_CLS_STEP = (np.cumsum(_X3[..., 0], axis=1) > 0).astype(np.int64)  # (n_seq, seq_len)


class Case:
    """One estimator and data layout: fit on (X0, y0), continue training on (X1, y1), predict Xp."""

    def __init__(self, make: Callable[[], Any], X0: Any, y0: Any, X1: Any, y1: Any, Xp: Any,
                 stream: bool) -> None:
        self.make, self.X0, self.y0, self.X1, self.y1, self.Xp = make, X0, y0, X1, y1, Xp
        self.stream = stream


_SMALL = dict(hidden_size=4, epochs=3, random_state=0)

CASES: Dict[str, Case] = {
    "amrc-stream": Case(lambda: AMRC(**_SMALL, bptt=8, batch_size=2),
                        _XS[:80], _YS[:80], _XS[80:100], _YS[80:100], _XS[100:], True),
    "regressor-stream-2out": Case(
        lambda: MemoryRegressor(cell="amrc", cell_params={"beta": 0.4}, **_SMALL, bptt=8),
        _XS[:80], np.c_[_YS[:80], -_YS[:80]], _XS[80:100], np.c_[_YS[80:100], -_YS[80:100]],
        _XS[100:], True),
    "classifier-stream-str": Case(lambda: MemoryClassifier(cell="amrc", **_SMALL, bptt=8),
                                  _XS[:80], _YS_STR[:80], _XS[80:100], _YS_STR[80:100], _XS[100:],
                                  True),
    "amrc-seq-last": Case(lambda: AMRC(**_SMALL, batch_size=4),
                          _X3[:6], _Y3_LAST[:6], _X3[6:9], _Y3_LAST[6:9], _X3[9:], False),
    "amrc-seq-per-step": Case(lambda: AMRC(**_SMALL, batch_size=4),
                              _X3[:6], _Y3_STEP[:6], _X3[6:9], _Y3_STEP[6:9], _X3[9:], False),
    "regressor-seq-target-per-step": Case(
        lambda: MemoryRegressor(cell="amrc", **_SMALL, batch_size=4, target="per_step"),
        _X3[:6], _Y3_STEP[:6, :, 0], _X3[6:9], _Y3_STEP[6:9, :, 0], _X3[9:], False),
    "classifier-seq-last": Case(lambda: MemoryClassifier(cell="amrc", **_SMALL, batch_size=4),
                                _X3[:6], _Y3_CLS[:6], _X3[6:9], _Y3_CLS[6:9], _X3[9:], False),
    "classifier-seq-per-step": Case(lambda: MemoryClassifier(cell="amrc", **_SMALL, batch_size=4),
                                    _X3[:6], _Y3_CLS_STEP[:6], _X3[6:9], _Y3_CLS_STEP[6:9],
                                    _X3[9:], False),
    "regressor-list-last": Case(lambda: MemoryRegressor(cell="amrc", **_SMALL, batch_size=3),
                                _XL[:5], _YL_LAST[:5], _XL[5:], _YL_LAST[5:], _XL[3:], False),
    "regressor-list-per-step": Case(lambda: MemoryRegressor(cell="amrc", **_SMALL, batch_size=3),
                                    _XL[:5], _YL_STEP[:5], _XL[5:], _YL_STEP[5:], _XL[3:], False),
    "amrc-list-per-step": Case(lambda: AMRC(**_SMALL, batch_size=3),
                               _XL[:5], _YL_STEP[:5], _XL[5:], _YL_STEP[5:], _XL[3:], False),
}


# ---- round trips -----------------------------------------------------------------------------

def _via_save_memnative_load(est: Any, folder: Path) -> Any:
    path = folder / "model.mem"
    est.save(path)
    return memnative.load(path)


def _via_save_class_load(est: Any, folder: Path) -> Any:
    path = folder / "model.mem"
    est.save(str(path))
    return type(est).load(str(path))


def _via_pickle(est: Any, folder: Path) -> Any:
    return pickle.loads(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))


def _via_joblib(est: Any, folder: Path) -> Any:
    path = folder / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path)


ROUND_TRIPS = {"save+memnative.load": _via_save_memnative_load,
               "save+Class.load": _via_save_class_load,
               "pickle": _via_pickle,
               "joblib": _via_joblib}


def _equal_outputs(a: Any, b: Any) -> bool:
    """Bit-identical outputs (arrays, or lists of arrays for per-step lists of sequences)."""
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(
            u.dtype == v.dtype and np.array_equal(u, v) for u, v in zip(a, b))
    return a.dtype == b.dtype and np.array_equal(a, b)


def _assert_same_weights(a: Any, b: Any) -> None:
    pa, pb = a.parameters_, b.parameters_
    assert list(pa) == list(pb)
    for name in pa:
        assert pa[name].shape == pb[name].shape, name
        assert np.array_equal(pa[name], pb[name]), f"parameter {name!r} differs"


def _outputs(est: Any, X: Any, **kw: Any) -> List[Any]:
    outs = [est.predict(X, **kw)]
    if hasattr(est, "predict_proba"):
        outs.append(est.predict_proba(X, **kw))
    return outs


@pytest.mark.parametrize("how", list(ROUND_TRIPS))
@pytest.mark.parametrize("case_id", list(CASES))
def test_round_trip_predictions_are_bit_identical(case_id: str, how: str, tmp_path: Path) -> None:
    case = CASES[case_id]
    original = case.make().fit(case.X0, case.y0)
    restored = ROUND_TRIPS[how](original, tmp_path)
    assert type(restored) is type(original)
    assert restored is not original
    if case.stream:
        # the stored memory (end of the training stream) travels with the model: continuing
        # the stream gives the same outputs on both, and differs from starting afresh
        cont_a = _outputs(original, case.X1, reset_memory=False)
        cont_b = _outputs(restored, case.X1, reset_memory=False)
        for u, v in zip(cont_a, cont_b):
            assert _equal_outputs(u, v)
        fresh = restored.predict_proba(case.X1) if hasattr(restored, "predict_proba") \
            else restored.predict(case.X1)
        assert not np.array_equal(cont_b[-1], fresh), "the stored memory had no effect"
    for u, v in zip(_outputs(original, case.Xp), _outputs(restored, case.Xp)):
        assert _equal_outputs(u, v)
    if case.stream:  # after predict(X) both memories are at the end of X: continue again
        for u, v in zip(_outputs(original, case.X1, reset_memory=False),
                        _outputs(restored, case.X1, reset_memory=False)):
            assert _equal_outputs(u, v)


@pytest.mark.parametrize("how", list(ROUND_TRIPS))
@pytest.mark.parametrize("case_id", list(CASES))
def test_round_trip_then_continued_training_is_bit_identical(case_id: str, how: str,
                                                            tmp_path: Path) -> None:
    case = CASES[case_id]
    original = case.make().fit(case.X0, case.y0)
    restored = ROUND_TRIPS[how](original, tmp_path)
    # online learning on the next chunk (a stream continues its stored memory)
    original.partial_fit(case.X1, case.y1)
    restored.partial_fit(case.X1, case.y1)
    _assert_same_weights(original, restored)
    assert original.loss_curve_ == restored.loss_curve_
    assert original.n_iter_ == restored.n_iter_
    # persist again mid-way, then a warm-started fit (optimizer moments, carries, RNG counters
    # and the schedule position are all saved state)
    restored = ROUND_TRIPS[how](restored, tmp_path)
    for est in (original, restored):
        est.set_params(warm_start=True)
        est.fit(case.X0, case.y0, epochs=2)
    _assert_same_weights(original, restored)
    assert original.loss_curve_ == restored.loss_curve_
    for u, v in zip(_outputs(original, case.Xp), _outputs(restored, case.Xp)):
        assert _equal_outputs(u, v)


def test_save_load_continue_equals_uninterrupted_run(tmp_path: Path) -> None:
    """DESIGN §5: save -> load -> continue training equals an uninterrupted run, bit for bit."""
    def make() -> AMRC:
        return AMRC(hidden_size=5, epochs=4, random_state=3, bptt=8, batch_size=3)

    straight = make().fit(_XS[:90], _YS[:90])
    straight.set_params(warm_start=True).fit(_XS[:90], _YS[:90], epochs=3)
    straight.partial_fit(_XS[90:], _YS[90:])

    first = make().fit(_XS[:90], _YS[:90])
    first.save(tmp_path / "a.mem")
    second = AMRC.load(tmp_path / "a.mem")
    second.set_params(warm_start=True).fit(_XS[:90], _YS[:90], epochs=3)
    third = pickle.loads(pickle.dumps(second))
    third.partial_fit(_XS[90:], _YS[90:])
    _assert_same_weights(straight, third)
    assert straight.loss_curve_ == third.loss_curve_
    assert np.array_equal(straight.get_memory_state()["h"], third.get_memory_state()["h"])


# ---- what load restores ----------------------------------------------------------------------

_FITTED_ATTRS = ("n_features_in_", "n_outputs_", "target_mode_", "loss_curve_", "n_iter_")


@pytest.mark.parametrize("case_id", ["amrc-stream", "regressor-stream-2out",
                                     "classifier-stream-str", "classifier-seq-last",
                                     "regressor-list-per-step"])
def test_load_restores_class_params_and_fitted_attributes(case_id: str, tmp_path: Path) -> None:
    case = CASES[case_id]
    est = case.make().fit(case.X0, case.y0)
    est.save(tmp_path / "m.mem")
    loaded = memnative.load(tmp_path / "m.mem")
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    for attr in _FITTED_ATTRS:
        assert getattr(loaded, attr) == getattr(est, attr), attr
    assert type(loaded.n_iter_) is int and loaded.n_iter_ == len(loaded.loss_curve_) == 3
    assert loaded.n_features_in_ == 2
    if isinstance(est, MemoryClassifier):
        assert loaded.classes_.dtype == est.classes_.dtype
        assert np.array_equal(loaded.classes_, est.classes_)
        assert loaded.n_outputs_ == len(est.classes_)
    assert memnative.load(tmp_path / "m.mem").get_params() == est.get_params()


def test_load_restores_string_labels_of_a_classifier(tmp_path: Path) -> None:
    clf = MemoryClassifier(hidden_size=4, epochs=2, random_state=1).fit(_XS[:60], _YS_STR[:60])
    assert clf.classes_.tolist() == ["ant", "bee", "cat"]
    clf.save(tmp_path / "c.mem")
    loaded = MemoryClassifier.load(tmp_path / "c.mem")
    assert loaded.classes_.tolist() == ["ant", "bee", "cat"]
    assert loaded.classes_.dtype.kind == "U"
    pred = loaded.predict(_XS[60:])
    assert pred.dtype.kind == "U" and set(pred) <= {"ant", "bee", "cat"}
    assert np.array_equal(pred, clf.predict(_XS[60:]))
    assert loaded.score(_XS[60:], _YS_STR[60:]) == clf.score(_XS[60:], _YS_STR[60:])


def test_load_restores_validation_scores_and_readout_options(tmp_path: Path) -> None:
    est = AMRC(hidden_size=4, epochs=4, random_state=2, validation_fraction=0.25,
               n_iter_no_change=10, skip=True, output_memory=True, output_beta=0.4,
               learn_memory=False, lr_schedule="constant", optimizer="sgd", learning_rate=0.01)
    est.fit(_XS[:80], _YS[:80])
    est.save(tmp_path / "v.mem")
    loaded = AMRC.load(tmp_path / "v.mem")
    assert loaded.get_params() == est.get_params()
    assert loaded.validation_scores_ == est.validation_scores_
    assert len(loaded.validation_scores_) == 4
    assert np.array_equal(loaded.predict(_XS[80:]), est.predict(_XS[80:]))


def _stop_never(estimator: Any, epoch: int, logs: Dict[str, float]) -> bool:
    return False


def test_non_json_params_do_not_prevent_saving(tmp_path: Path) -> None:
    """A numpy random state cannot be stored as JSON: save still works, the model loads and
    predicts identically, the parameter comes back as None; pickle keeps it as is."""
    est = AMRC(hidden_size=4, epochs=2, random_state=np.random.RandomState(0)).fit(_XS[:60], _YS[:60])
    est.save(tmp_path / "n.mem")
    loaded = AMRC.load(tmp_path / "n.mem")
    assert loaded.random_state is None
    assert loaded.hidden_size == 4 and loaded.epochs == 2
    assert np.array_equal(loaded.predict(_XS[60:]), est.predict(_XS[60:]))
    loaded.partial_fit(_XS[60:], _YS[60:])  # still trainable
    copy = pickle.loads(pickle.dumps(est))
    assert isinstance(copy.random_state, np.random.RandomState)


def test_model_saved_with_callbacks_loads_trainable(tmp_path: Path) -> None:
    est = AMRC(hidden_size=4, epochs=2, random_state=0, callbacks=[_stop_never]).fit(_XS[:60], _YS[:60])
    est.save(tmp_path / "cb.mem")
    loaded = AMRC.load(tmp_path / "cb.mem")
    assert np.array_equal(loaded.predict(_XS[60:]), est.predict(_XS[60:]))
    assert loaded.callbacks is None
    loaded.partial_fit(_XS[60:], _YS[60:])
    copy = pickle.loads(pickle.dumps(est))  # pickle keeps the callables
    assert copy.callbacks == [_stop_never]


def test_unfitted_estimator_pickles_and_stays_unfitted() -> None:
    est = MemoryClassifier(hidden_size=3, cell_params={"alpha": 0.2})
    copy = pickle.loads(pickle.dumps(est))
    assert copy.get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(_XS[:5])


def test_class_load_checks_the_class(tmp_path: Path) -> None:
    clf = MemoryClassifier(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS_STR[:60])
    clf.save(tmp_path / "clf.mem")
    with pytest.raises(TypeError, match=r"MemoryClassifier, not AMRC"):
        AMRC.load(tmp_path / "clf.mem")
    with pytest.raises(TypeError, match="MemoryRegressor"):
        MemoryRegressor.load(tmp_path / "clf.mem")
    assert isinstance(MemoryClassifier.load(tmp_path / "clf.mem"), MemoryClassifier)
    reg = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    reg.save(tmp_path / "reg.mem")
    with pytest.raises(TypeError, match="holds an estimator of class AMRC, not MemoryClassifier"):
        MemoryClassifier.load(tmp_path / "reg.mem")
    with pytest.raises(TypeError):
        MemoryRegressor.load(tmp_path / "reg.mem")


# ---- errors on load --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a small saved model (trained with carries and optimizer moments)."""
    est = AMRC(hidden_size=4, epochs=3, random_state=0, bptt=8, batch_size=2).fit(_XS[:80], _YS[:80])
    path = tmp_path_factory.mktemp("model") / "m.mem"
    est.save(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89MEM\r\n\x1a\n"
    return data


@pytest.mark.parametrize("loader", [memnative.load, AMRC.load], ids=["memnative.load", "AMRC.load"])
def test_load_missing_file_raises_file_not_found(loader: Callable[[Any], Any], tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "model.mem"
    with pytest.raises(FileNotFoundError, match="model.mem") as info:
        loader(missing)
    assert info.value.errno == 2
    with pytest.raises(FileNotFoundError):
        loader(str(tmp_path / "missing.mem"))


def test_load_directory_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a directory"):
        memnative.load(tmp_path)
    with pytest.raises(OSError):
        AMRC.load(str(tmp_path))


def test_load_device_file_raises_os_error() -> None:
    with pytest.raises(OSError, match="not a regular file"):
        memnative.load("/dev/null")


def test_load_truncated_file_raises_format_error(model_bytes: bytes, tmp_path: Path) -> None:
    n = len(model_bytes)
    offsets = sorted(set(range(0, 40)) | set(range(40, n, 7)) | {n - 5, n - 4, n - 1})
    path = tmp_path / "t.mem"
    for cut in offsets:
        path.write_bytes(model_bytes[:cut])
        with pytest.raises(FormatError, match=r"truncated|too short") as info:
            memnative.load(path)
        assert isinstance(info.value, ValueError)
    path.write_bytes(model_bytes)  # the whole file still loads
    assert isinstance(memnative.load(path), AMRC)


def test_load_file_with_trailing_bytes_raises_format_error(model_bytes: bytes, tmp_path: Path) -> None:
    path = tmp_path / "long.mem"
    path.write_bytes(model_bytes + b"\0")
    with pytest.raises(FormatError, match="oversized|trailing"):
        memnative.load(path)


_CORRUPT_MESSAGE = r"model data|not a memnative model|model format version"


def test_load_bit_flipped_file_raises_format_error(model_bytes: bytes, tmp_path: Path) -> None:
    path = tmp_path / "f.mem"
    n_bits = 8 * len(model_bytes)
    for bit in list(range(0, 24 * 8, 3)) + list(range(24 * 8, n_bits, 13)):
        data = bytearray(model_bytes)
        data[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(data))
        with pytest.raises(FormatError, match=_CORRUPT_MESSAGE):
            memnative.load(path)


@pytest.mark.parametrize("content", [
    b"",
    b"hello, I am a text file and certainly not a model\n" * 20,
    b"\x89MEM\r\n\x1a",                                     # a prefix of the magic
    b"\x89PNG\r\n\x1a\n" + bytes(100),                       # another format's magic
    b"\x89MEM\r\n\x1a\n" + bytes(64),                        # the magic, then zeros
    np.random.default_rng(7).bytes(4096),
], ids=["empty", "text", "short-magic", "png", "magic-then-zeros", "random"])
def test_load_non_model_file_raises_format_error(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "foreign.mem"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=_CORRUPT_MESSAGE) as info:
        memnative.load(path)
    assert str(info.value)
    with pytest.raises(FormatError):
        AMRC.load(path)


def test_unpickling_corrupted_model_bytes_raises_format_error(model_bytes: bytes) -> None:
    fitted = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:50], _YS[:50])
    blob = pickle.dumps(fitted)
    buffer = fitted._buffer()
    start = blob.find(buffer)
    assert start > 0, "the pickle should carry the C model buffer"
    for offset in list(range(0, 24)) + list(range(24, len(buffer), 37)):
        data = bytearray(blob)
        data[start + offset] ^= 0x40
        with pytest.raises(FormatError, match=_CORRUPT_MESSAGE):
            pickle.loads(bytes(data))
    # a state dict whose model bytes are cut short, empty, or another file entirely
    state = fitted.__getstate__()
    for bad in (state["_model_bytes"][:100], state["_model_bytes"][:23], b"", b"junk" * 50):
        copy = AMRC.__new__(AMRC)
        with pytest.raises(FormatError):
            copy.__setstate__({**state, "_model_bytes": bad})


# Files whose checksums are recomputed after the change, so that the parser's own checks of
# sizes, names and configuration values are what must catch them (layout: libmem/src/model/io.c).

def _sections(data: bytes) -> Dict[str, Tuple[int, int]]:
    """Section name -> (payload offset, payload length)."""
    out, i = {}, 24
    while i < len(data):
        tag, n = struct.unpack_from("<IQ", data, i)
        out[tag.to_bytes(4, "little").decode("latin-1")] = (i + 12, n)
        i += 12 + n + 4
    return out


def _fix_checksums(data: bytes) -> bytes:
    buf, i = bytearray(data), 24
    while i < len(buf):
        _, n = struct.unpack_from("<IQ", buf, i)
        struct.pack_into("<I", buf, i + 12 + n, zlib.crc32(bytes(buf[i + 12:i + 12 + n])))
        i += 12 + n + 4
    struct.pack_into("<Q", buf, 12, len(buf))
    struct.pack_into("<I", buf, 20, zlib.crc32(bytes(buf[:20])))
    return bytes(buf)


def _config_offsets(data: bytes) -> Dict[str, int]:
    """Offset of every numeric configuration value (f64) in the CONF section."""
    start, _ = _sections(data)["CONF"]
    count = struct.unpack_from("<I", data, start)[0]
    pos, out = start + 4, {}
    for _ in range(count):
        n = struct.unpack_from("<I", data, pos)[0]
        name = data[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        kind = data[pos]
        pos += 1
        if kind == 3:  # a choice, stored by name
            pos += 4 + struct.unpack_from("<I", data, pos)[0]
        else:
            out[name] = pos
            pos += 8
    return out


def test_checksum_helpers_reproduce_the_saved_file(model_bytes: bytes) -> None:
    assert _fix_checksums(model_bytes) == model_bytes
    assert list(_sections(model_bytes)) == ["KIND", "CONF", "PARM", "MASK", "OPTM", "STAT", "CARY",
                                            "CNTR", "META"]
    assert {"hidden_size", "beta", "alpha"} <= set(_config_offsets(model_bytes))


def test_structurally_corrupt_file_with_valid_checksums_never_crashes(model_bytes: bytes,
                                                                      tmp_path: Path) -> None:
    """Every byte of the structural sections set to a few values, checksums fixed: the load
    either succeeds or raises FormatError (never another exception, never a crash)."""
    secs = _sections(model_bytes)
    path = tmp_path / "s.mem"
    outcomes = {"ok": 0, "format": 0}
    for name in ("KIND", "CONF", "PARM", "MASK", "OPTM", "CARY", "CNTR"):
        start, n = secs[name]
        step = 1 if name in ("KIND", "MASK", "CARY", "CNTR") else 5
        for off in range(start, start + n, step):
            for value in (0x00, 0xFF, 0x80):
                data = bytearray(model_bytes)
                if data[off] == value:
                    continue
                data[off] = value
                path.write_bytes(_fix_checksums(bytes(data)))
                try:
                    memnative.load(path)
                    outcomes["ok"] += 1
                except FormatError as exc:
                    assert str(exc)
                    outcomes["format"] += 1
    assert outcomes["format"] > 100


@pytest.mark.parametrize("n_inputs, n_outputs", [(0, 1), (-1, 1), (1, 0), (2**62, 1), (1, 2**40)])
def test_impossible_sizes_in_a_file_raise_format_error(model_bytes: bytes, tmp_path: Path,
                                                       n_inputs: int, n_outputs: int) -> None:
    start, _ = _sections(model_bytes)["KIND"]
    name_len = struct.unpack_from("<I", model_bytes, start)[0]
    data = bytearray(model_bytes)
    struct.pack_into("<qq", data, start + 4 + name_len, n_inputs, n_outputs)
    path = tmp_path / "k.mem"
    path.write_bytes(_fix_checksums(bytes(data)))
    with pytest.raises(FormatError, match="invalid architecture"):
        memnative.load(path)


@pytest.mark.parametrize("what", ["n_inputs", "hidden_size", "beta"])
def test_invalid_size_or_config_in_a_file_names_the_value(model_bytes: bytes, tmp_path: Path,
                                                         what: str) -> None:
    data = bytearray(model_bytes)
    if what == "n_inputs":
        start, _ = _sections(model_bytes)["KIND"]
        name_len = struct.unpack_from("<I", model_bytes, start)[0]
        struct.pack_into("<q", data, start + 4 + name_len, 2**62)
        expected = "n_inputs=4611686018427387904"
    else:
        value = {"hidden_size": 0.0, "beta": 1.5}[what]
        struct.pack_into("<d", data, _config_offsets(model_bytes)[what], value)
        expected = f"{what}={value:g}"
    path = tmp_path / "bad.mem"
    path.write_bytes(_fix_checksums(bytes(data)))
    with pytest.raises(FormatError) as info:
        memnative.load(path)
    message = str(info.value)
    assert expected in message, message
    assert message.count("model data") == 1, message


def test_path_with_nul_byte_is_rejected(tmp_path: Path) -> None:
    est = AMRC(hidden_size=3, epochs=1, random_state=0).fit(_XS[:30], _YS[:30])
    bad = str(tmp_path / "a.mem") + "\0junk"
    try:
        with pytest.raises(ValueError, match="null"):
            est.save(bad)
        assert not (tmp_path / "a.mem").exists()
        est.save(tmp_path / "a.mem")
        with pytest.raises(ValueError, match="null"):
            memnative.load(bad)
    finally:
        assert sorted(os.listdir(tmp_path)) in ([], ["a.mem"])


def test_load_fifo_raises_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mem"
    os.mkfifo(fifo)
    outcome: List[BaseException] = []

    def target() -> None:
        try:
            memnative.load(fifo)
        except BaseException as exc:  # noqa: BLE001 - recorded for the main thread
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(1.5)
    blocked = thread.is_alive()
    if blocked:  # release the blocked open() so that no thread is left behind
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(10.0)
    assert not blocked, "memnative.load() blocked on a FIFO"
    assert outcome and isinstance(outcome[0], OSError)


# ---- saving ----------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [AMRC, MemoryRegressor, MemoryClassifier])
def test_save_unfitted_raises_not_fitted(make: Callable[..., Any], tmp_path: Path) -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        make(hidden_size=3).save(tmp_path / "u.mem")
    assert os.listdir(tmp_path) == []


def test_save_is_atomic_and_replaces_an_existing_file(tmp_path: Path) -> None:
    a = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    b = AMRC(hidden_size=6, epochs=2, random_state=1).fit(_XS[:60], _YS[:60])
    path = tmp_path / "m.mem"
    path.write_text("an older file that is not a model")
    a.save(path)
    assert os.listdir(tmp_path) == ["m.mem"]
    assert memnative.load(path).hidden_size == 4
    b.save(path)  # over an existing model
    assert os.listdir(tmp_path) == ["m.mem"]
    loaded = memnative.load(path)
    assert loaded.hidden_size == 6
    assert np.array_equal(loaded.predict(_XS[60:]), b.predict(_XS[60:]))
    # the file is ordinary data: the usual permissions (0666 less the umask), not mkstemp's 0600
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_save_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    est = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    est.save("rel.mem")
    assert os.listdir(".") == ["rel.mem"]
    assert np.array_equal(AMRC.load("rel.mem").predict(_XS[60:]), est.predict(_XS[60:]))


def test_save_into_missing_folder_raises_and_leaves_nothing(tmp_path: Path) -> None:
    est = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    target = tmp_path / "missing" / "m.mem"
    with pytest.raises(FileNotFoundError, match="m.mem") as info:
        est.save(target)
    assert isinstance(info.value, OSError) and info.value.errno == 2
    assert os.listdir(tmp_path) == []


def test_save_over_a_directory_raises_and_leaves_no_temp_file(tmp_path: Path) -> None:
    est = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        est.save(tmp_path / "taken")
    assert os.listdir(tmp_path) == ["taken"]
    assert os.listdir(tmp_path / "taken") == []


def test_save_empty_path_raises(tmp_path: Path) -> None:
    est = AMRC(hidden_size=3, epochs=1, random_state=0).fit(_XS[:30], _YS[:30])
    with pytest.raises((ValueError, OSError), match="empty|No such file"):
        est.save("")
    with pytest.raises(TypeError):
        est.save(None)


# ---- parameters_ views -----------------------------------------------------------------------

def test_writing_into_a_parameter_view_changes_predictions() -> None:
    est = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    before = est.predict(_XS[60:])
    views = est.parameters_
    assert views["W_o"].shape == (1, 4) and views["W"].shape == (4, 2)
    assert views["W_o"].flags.writeable
    views["W_o"][...] = 0.0
    views["b_o"][...] = 0.5
    after = est.predict(_XS[60:])
    assert not np.array_equal(before, after)
    # with a zero readout matrix the output is the readout bias, exactly
    assert np.array_equal(after, np.full(len(after), 0.5))
    assert np.array_equal(est.parameters_["b_o"], [0.5])
    # the views of a later call see the change (they are the same memory)
    assert np.shares_memory(est.parameters_["W_o"], views["W_o"])


def test_parameter_view_outlives_the_estimator() -> None:
    est = AMRC(hidden_size=5, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    views = est.parameters_
    copies = {k: v.copy() for k, v in views.items()}
    del est
    gc.collect()
    _churn = [AMRC(hidden_size=5, epochs=1, random_state=i).fit(_XS[:30], _YS[:30])
              for i in range(3)]  # allocate after the free: a dangling view would change
    for name, view in views.items():
        assert np.array_equal(view, copies[name]), name
    views["W"][0, 0] = 123.0  # still writable memory
    assert views["W"][0, 0] == 123.0
    del _churn


def test_old_view_reads_the_old_model_after_a_refit() -> None:
    est = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    old = est.parameters_["W"]
    old_copy = old.copy()
    est.set_params(random_state=9).fit(_XS[:60], _YS[:60])
    gc.collect()
    new = est.parameters_["W"]
    assert np.array_equal(old, old_copy)
    assert not np.array_equal(new, old_copy)
    assert not np.shares_memory(old, new)
    before = est.predict(_XS[60:])
    old[...] = 0.0  # the old model's memory: the refitted estimator is unaffected
    assert np.array_equal(est.predict(_XS[60:]), before)


def test_parameter_views_of_a_restored_model(tmp_path: Path) -> None:
    est = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    for restored in (pickle.loads(pickle.dumps(est)), _via_save_memnative_load(est, tmp_path)):
        _assert_same_weights(est, restored)
        restored.parameters_["b_o"][...] += 1.0  # independent copies of the weights
        assert not np.array_equal(restored.parameters_["b_o"], est.parameters_["b_o"])


# ---- memory state ----------------------------------------------------------------------------

def test_memory_state_round_trip_continues_the_stream() -> None:
    est = AMRC(hidden_size=4, epochs=3, random_state=0, bptt=8).fit(_XS[:80], _YS[:80])
    state = est.get_memory_state()
    assert set(state) == {"h", "m"}
    assert all(v.shape == (4,) and v.dtype == np.float32 for v in state.values())
    assert any(np.any(v != 0) for v in state.values()), "fit should leave a non-zero memory"
    continued = est.predict(_XS[80:100], reset_memory=False)
    after = est.get_memory_state()
    assert not np.array_equal(after["h"], state["h"])
    # copies, not views: changing them changes nothing
    state_copy = {k: v.copy() for k, v in state.items()}
    after["h"][...] = 99.0
    assert not np.any(est.get_memory_state()["h"] == 99.0)
    # restore and continue again: identical
    est.set_memory_state(state_copy)
    assert all(np.array_equal(est.get_memory_state()[k], state_copy[k]) for k in state_copy)
    assert np.array_equal(est.predict(_XS[80:100], reset_memory=False), continued)
    # into another copy of the model (after it forgot its memory)
    other = pickle.loads(pickle.dumps(est))
    other.reset_memory()
    assert all(np.all(v == 0) for v in other.get_memory_state().values())
    other.set_memory_state(state_copy)
    assert np.array_equal(other.predict(_XS[80:100], reset_memory=False), continued)
    # a list restores as well as an array
    est.set_memory_state({k: v.tolist() for k, v in state_copy.items()})
    assert np.array_equal(est.predict(_XS[80:100], reset_memory=False), continued)


def test_saved_memory_state_is_the_memory_at_save_time(tmp_path: Path) -> None:
    est = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    est.predict(_XS[60:90])  # memory at the end of this stream
    est.save(tmp_path / "m.mem")
    loaded = memnative.load(tmp_path / "m.mem")
    for name, value in est.get_memory_state().items():
        assert np.array_equal(loaded.get_memory_state()[name], value), name


@pytest.mark.parametrize("bad, pattern", [
    (lambda s: {"h": s["h"]}, r"exactly the keys \['h', 'm'\].*\['h'\]"),
    (lambda s: {**s, "z": s["h"]}, r"exactly the keys.*'z'"),
    (lambda s: {"H": s["h"], "m": s["m"]}, r"exactly the keys.*'H'"),
    (lambda s: {}, "exactly the keys"),
    (lambda s: [s["h"], s["m"]], "exactly the keys.*got list"),
    (lambda s: None, "exactly the keys.*NoneType"),
    (lambda s: {"h": np.zeros(5), "m": s["m"]}, r"state\['h'\] has shape \(5,\), expected \(4,\)"),
    (lambda s: {"h": s["h"], "m": np.zeros((4, 1))}, r"state\['m'\] has shape \(4, 1\), expected \(4,\)"),
    (lambda s: {"h": 0.0, "m": s["m"]}, r"state\['h'\] has shape \(\), expected \(4,\)"),
    (lambda s: {"h": np.full(4, np.nan), "m": s["m"]}, r"state\['h'\] holds non-finite"),
    (lambda s: {"h": s["h"], "m": np.array([0.0, 0.0, np.nan, 0.0])}, r"state\['m'\] holds non-finite"),
    (lambda s: {"h": s["h"], "m": np.array([0.0, np.inf, 0.0, 0.0])}, r"state\['m'\] holds non-finite"),
    (lambda s: {"h": np.array(["a"] * 4), "m": s["m"]}, "could not convert string to float"),
], ids=["missing-key", "extra-key", "wrong-key", "empty", "list", "none", "short", "2-d",
        "scalar", "nan", "nan-in-second", "inf", "strings"])
def test_set_memory_state_rejects_bad_states(bad: Callable[[Dict[str, np.ndarray]], Any],
                                            pattern: str) -> None:
    est = AMRC(hidden_size=4, epochs=2, random_state=0).fit(_XS[:60], _YS[:60])
    good = est.get_memory_state()
    with pytest.raises(ValueError, match=pattern):
        est.set_memory_state(bad(good))
    # a rejected state changes nothing
    for name, value in est.get_memory_state().items():
        assert np.array_equal(value, good[name]), name


def test_memory_methods_need_a_fitted_estimator() -> None:
    est = AMRC(hidden_size=3)
    for call in (est.get_memory_state, est.reset_memory, lambda: est.set_memory_state({}),
                 lambda: est.parameters_, lambda: est.diagnostics):
        with pytest.raises(NotFittedError):
            call()

