"""The torch twin of AMRC against the C library: same outputs, same state, same loss and gradients.

A C model is built through the raw binding, its parameters (perturbed, so that biases are not 0)
are copied into the twin by name, and both run the same random data: streams from zero memory,
sequences of varied lengths with per-step and last-step targets, MSE and cross-entropy, with and
without the readout's skip and output memory. Agreement is norm-relative per tensor: 1e-4 for the
float32 twin and for the float64 twin (the C side is float32 either way).
"""
from __future__ import annotations

import subprocess
import sys
from typing import Any, Dict, Optional, Tuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from memnative import _lib  # noqa: E402
from memnative._lib import check, ffi, lib  # noqa: E402
from memnative.torch import AMRC, TWINS  # noqa: E402

N_IN, HIDDEN, N_SEQ, MAX_LEN, STREAM_LEN = 3, 7, 5, 13, 40
TOL = 1e-4
DTYPES = {"float32": torch.float32, "float64": torch.float64}
LAYOUTS = ("stream", "per_step", "last")


# ---- the C side ---------------------------------------------------------------------------------

def _c_model(loss: str, skip: bool, output_memory: bool, n_out: int, seed: int,
             **extra: Any) -> Any:
    cfg = _lib.new_config("amrc", hidden_size=HIDDEN, loss=loss, skip=skip,
                          output_memory=output_memory, seed=seed, **extra)
    return _lib.new_model(cfg, N_IN, n_out)


def _c_param_table(model: Any) -> Dict[str, Tuple[np.ndarray, bool]]:
    """Name -> (a writable float32 view of the C tensor, trainable), in table order."""
    name, data = ffi.new("const char **"), ffi.new("float **")
    ndim, trainable = ffi.new("int *"), ffi.new("int *")
    shape, permutable = ffi.new("int64_t[4]"), ffi.new("int[4]")
    axes = ffi.new("const char *[4]")
    table = {}
    for i in range(int(lib.mem_model_param_count(model))):
        check(lib.mem_model_param_info(model, i, name, ndim, shape, axes, permutable, trainable))
        check(lib.mem_model_param_data(model, i, data))
        dims = tuple(int(shape[k]) for k in range(ndim[0]))
        size = int(np.prod(dims, dtype=np.int64))
        view = np.frombuffer(ffi.buffer(data[0], 4 * size), dtype=np.float32).reshape(dims)
        table[_lib.string(name[0])] = (view, bool(trainable[0]))
    return table


def _c_params(model: Any, rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Perturb every C parameter in place (non-zero biases, varied gains) and return copies."""
    out = {}
    for name, (view, _) in _c_param_table(model).items():
        view += (0.3 * rng.standard_normal(view.shape)).astype(np.float32)
        out[name] = view.copy()
    return out


def _c_state(model: Any) -> Dict[str, np.ndarray]:
    name, data = ffi.new("const char **"), ffi.new("float **")
    ndim, shape, axes = ffi.new("int *"), ffi.new("int64_t[4]"), ffi.new("const char *[4]")
    out = {}
    for i in range(int(lib.mem_model_state_count(model))):
        check(lib.mem_model_state_info(model, i, name, ndim, shape, axes))
        check(lib.mem_model_state_data(model, i, data))
        size = int(np.prod([shape[k] for k in range(ndim[0])], dtype=np.int64))
        out[_lib.string(name[0])] = np.frombuffer(ffi.buffer(data[0], 4 * size),
                                                  dtype=np.float32).copy()
    return out


class Data:
    """A ``mem_data`` over numpy arrays kept alive with it (x: (n_seq, max_len, I))."""

    def __init__(self, x: np.ndarray, y: np.ndarray, layout: str,
                 lengths: Optional[np.ndarray] = None) -> None:
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.y = np.ascontiguousarray(y, dtype=np.float32)
        self.lengths = None if lengths is None else np.ascontiguousarray(lengths, dtype=np.int64)
        self.ptr = ffi.new("mem_data *")
        self.ptr.layout = lib.MEM_LAYOUT_STREAM if layout == "stream" else lib.MEM_LAYOUT_SEQUENCES
        self.ptr.target = lib.MEM_TARGET_LAST if layout == "last" else lib.MEM_TARGET_PER_STEP
        self.ptr.x = ffi.from_buffer("float[]", self.x)
        self.ptr.y = ffi.from_buffer("float[]", self.y)
        self.ptr.lengths = (ffi.NULL if self.lengths is None
                            else ffi.from_buffer("int64_t[]", self.lengths))
        self.ptr.n_seq = self.x.shape[0]
        self.ptr.max_len = self.x.shape[1]


def _c_predict(model: Any, data: Data, last: bool, n_out: int) -> np.ndarray:
    n_seq, max_len = data.x.shape[:2]
    out = np.empty((n_seq, n_out) if last else (n_seq, max_len, n_out), dtype=np.float32)
    check(lib.mem_model_predict(model, data.ptr, 1, ffi.from_buffer("float[]", out), out.size))
    return out


def _c_loss_gradient(model: Any, data: Data) -> Tuple[float, Dict[str, np.ndarray]]:
    table = _c_param_table(model)
    grad = np.empty(int(lib.mem_model_weight_count(model)), dtype=np.float32)
    loss = ffi.new("double *")
    check(lib.mem_model_loss_gradient(model, data.ptr, 1, loss,
                                      ffi.from_buffer("float[]", grad), grad.size))
    out, offset = {}, 0
    for name, (view, _) in table.items():
        out[name] = grad[offset:offset + view.size].reshape(view.shape)
        offset += view.size
    assert offset == grad.size
    return float(loss[0]), out


# ---- helpers ------------------------------------------------------------------------------------

def _rel(ours: Any, ref: Any) -> float:
    """Norm-relative difference ||ours - ref|| / ||ref|| (absolute when ref is ~0)."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / (scale if scale > 1e-12 else 1.0))


def _make_data(layout: str, loss: str, n_out: int,
               rng: np.random.Generator) -> Tuple[Data, Optional[np.ndarray]]:
    ce = loss == "cross_entropy"
    if layout == "stream":
        x = rng.standard_normal((1, STREAM_LEN, N_IN))
        y = (rng.integers(0, n_out, (1, STREAM_LEN)) if ce
             else rng.standard_normal((1, STREAM_LEN, n_out)))
        return Data(x, y, layout), None
    lengths = rng.integers(1, MAX_LEN + 1, N_SEQ)
    lengths[0], lengths[1] = MAX_LEN, 1  # a full-length and a one-step sequence
    x = rng.standard_normal((N_SEQ, MAX_LEN, N_IN))
    x[np.arange(MAX_LEN)[None, :] >= lengths[:, None]] = np.nan  # padding is never read
    if layout == "last":
        y = rng.integers(0, n_out, N_SEQ) if ce else rng.standard_normal((N_SEQ, n_out))
    else:
        y = (rng.integers(0, n_out, (N_SEQ, MAX_LEN)) if ce
             else rng.standard_normal((N_SEQ, MAX_LEN, n_out)))
    return Data(x, y, layout, lengths), lengths


def _twin_for(params: Dict[str, np.ndarray], loss: str, skip: bool, output_memory: bool,
              n_out: int, dtype: Any) -> AMRC:
    twin = AMRC(N_IN, n_out, hidden_size=HIDDEN, output_memory=output_memory, skip=skip,
                loss=loss, dtype=dtype)
    twin.load_parameters(params)
    return twin


# ---- forward, loss and gradients ----------------------------------------------------------------

CASES = [(loss, skip, om, layout)
         for loss in ("mse", "cross_entropy") for skip in (False, True)
         for om in (False, True) for layout in LAYOUTS]


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
@pytest.mark.parametrize("loss,skip,output_memory,layout", CASES)
def test_twin_matches_c(loss: str, skip: bool, output_memory: bool, layout: str,
                        dtype_name: str) -> None:
    seed = CASES.index((loss, skip, output_memory, layout))
    rng = np.random.default_rng(1000 + seed)
    n_out = 3 if loss == "cross_entropy" else 2
    model = _c_model(loss, skip, output_memory, n_out, seed)
    params = _c_params(model, rng)
    data, lengths = _make_data(layout, loss, n_out, rng)
    twin = _twin_for(params, loss, skip, output_memory, n_out, DTYPES[dtype_name])
    target = "last" if layout == "last" else "per_step"

    # forward: C predicts probabilities for cross-entropy, 0 past a sequence's length
    c_out = _c_predict(model, data, layout == "last", n_out)
    outputs, state = twin(data.x, lengths=lengths)
    assert outputs.dtype == DTYPES[dtype_name]
    shown = torch.softmax(outputs, dim=-1) if loss == "cross_entropy" else outputs
    if lengths is not None:  # the C predictions past the length are 0, probabilities included
        valid = torch.arange(MAX_LEN)[None, :] < torch.as_tensor(lengths)[:, None]
        shown = torch.where(valid[..., None], shown, 0.0)
        assert not outputs[~valid].any()
    if layout == "last":
        shown = shown[torch.arange(N_SEQ), torch.as_tensor(lengths) - 1]
    assert _rel(shown.detach(), c_out) <= TOL

    # a stream leaves the C memory at its end: the twin's final state
    if layout == "stream":
        c_state = _c_state(model)
        assert set(c_state) == set(state) == set(twin.state_names)
        for name in twin.state_names:
            assert _rel(state[name][0].detach(), c_state[name]) <= TOL, name

    # loss and every parameter's gradient
    c_loss, c_grad = _c_loss_gradient(model, data)
    twin.zero_grad()
    value = twin.loss(outputs, data.y, lengths=lengths, target=target)
    value.backward()
    assert abs(value.item() - c_loss) <= TOL * abs(c_loss)
    assert list(c_grad) == [name for name, _ in twin.named_parameters()]
    for name, p in twin.named_parameters():
        assert p.grad is not None, name
        assert _rel(p.grad, c_grad[name]) <= TOL, name


def test_frozen_rates_have_no_gradient_on_either_side() -> None:
    """learn_memory=False: C reports 0 for beta/alpha logits, the twin does not track them."""
    rng = np.random.default_rng(7)
    model = _c_model("mse", False, False, 2, 3, learn_memory=False)
    table = _c_param_table(model)
    assert not table["beta_logit"][1] and not table["alpha_logit"][1]
    params = _c_params(model, rng)
    data, lengths = _make_data("per_step", "mse", 2, rng)
    twin = AMRC(N_IN, 2, hidden_size=HIDDEN, learn_memory=False, dtype=torch.float64)
    twin.load_parameters(params)
    assert not twin.beta_logit.requires_grad and not twin.alpha_logit.requires_grad
    c_loss, c_grad = _c_loss_gradient(model, data)
    outputs, _ = twin(data.x, lengths=lengths)
    value = twin.loss(outputs, data.y, lengths=lengths)
    value.backward()
    assert abs(value.item() - c_loss) <= TOL * c_loss
    for name, p in twin.named_parameters():
        if p.requires_grad:
            assert _rel(p.grad, c_grad[name]) <= TOL, name
        else:
            assert p.grad is None and not c_grad[name].any(), name


def test_stream_continues_from_state_as_c_memory_does() -> None:
    """Two halves with the state carried equal the whole stream, in the twin and in C."""
    rng = np.random.default_rng(11)
    model = _c_model("mse", True, True, 2, 5)
    twin = _twin_for(_c_params(model, rng), "mse", True, True, 2, torch.float64)
    x = rng.standard_normal((STREAM_LEN, N_IN)).astype(np.float32)
    whole, _ = twin(x[None])
    first, state = twin(x[None, :17])
    second, _ = twin(x[None, 17:], state=state)
    assert _rel(torch.cat([first, second], dim=1).detach(), whole.detach()) <= 1e-12
    c_first = np.empty((17, 2), dtype=np.float32)
    c_second = np.empty((STREAM_LEN - 17, 2), dtype=np.float32)
    for part, out, reset in ((x[:17], c_first, 1), (x[17:], c_second, 0)):
        stream = _lib.StreamData(part)
        check(lib.mem_model_predict(model, stream.ptr, reset, ffi.from_buffer("float[]", out),
                                    out.size))
    assert _rel(np.concatenate([c_first, c_second]), whole[0].detach()) <= TOL


def test_sequences_hold_their_state_past_their_length() -> None:
    twin = AMRC(N_IN, 2, hidden_size=HIDDEN, output_memory=True, dtype=torch.float64)
    x = torch.randn(3, 9, N_IN, dtype=torch.float64)
    lengths = [9, 4, 1]
    outputs, state = twin(x, lengths=lengths)
    for b, n in enumerate(lengths):
        alone, alone_state = twin(x[b:b + 1, :n])
        assert torch.equal(outputs[b, :n], alone[0])
        assert not outputs[b, n:].any()
        for name in twin.state_names:
            assert torch.equal(state[name][b], alone_state[name][0]), name


# ---- the module's contract ----------------------------------------------------------------------

@pytest.mark.parametrize("skip,output_memory", [(False, False), (True, True)])
def test_parameter_names_and_shapes_are_the_c_table(skip: bool, output_memory: bool) -> None:
    model = _c_model("mse", skip, output_memory, 2, 0)
    c_table = {name: view.shape for name, (view, _) in _c_param_table(model).items()}
    twin = AMRC(N_IN, 2, hidden_size=HIDDEN, skip=skip, output_memory=output_memory)
    assert {n: tuple(p.shape) for n, p in twin.named_parameters()} == c_table
    assert list(twin.parameters_numpy()) == list(c_table)
    assert list(twin.state_names) == list(_c_state(model))


def test_load_parameters_round_trip_and_errors() -> None:
    twin = AMRC(N_IN, 2, hidden_size=HIDDEN, skip=True, dtype=torch.float64)
    params = {k: np.random.default_rng(1).standard_normal(v.shape)
              for k, v in twin.parameters_numpy().items()}
    twin.load_parameters(params)
    for name, values in twin.parameters_numpy().items():
        assert values.dtype == np.float64 and np.array_equal(values, params[name])
    with pytest.raises(KeyError, match="missing"):
        twin.load_parameters({"W": params["W"]})
    twin.load_parameters({"W": params["W"]}, strict=False)
    with pytest.raises(KeyError, match="unknown"):
        twin.load_parameters({**params, "U": params["W"]})
    with pytest.raises(ValueError, match="shape"):
        twin.load_parameters({**params, "W": params["W"].T})


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="loss"):
        AMRC(N_IN, 2, loss="hinge")
    with pytest.raises(ValueError, match="beta"):
        AMRC(N_IN, 2, beta=1.0)
    twin = AMRC(N_IN, 2, hidden_size=4)
    with pytest.raises(ValueError, match="x must be"):
        twin(torch.zeros(5, N_IN))
    with pytest.raises(ValueError, match="lengths"):
        twin(torch.zeros(2, 5, N_IN), lengths=[5, 0])
    with pytest.raises(KeyError, match="state"):
        twin(torch.zeros(2, 5, N_IN), state={"h": torch.zeros(2, 4)})
    with pytest.raises(ValueError, match="target"):
        twin.loss(torch.zeros(2, 5, 2), torch.zeros(2, 2), target="first")


def test_registry_names_every_twin_by_c_kind() -> None:
    assert TWINS["amrc"] is AMRC
    assert set(TWINS) <= set(_lib.kinds())


def test_missing_torch_gives_an_import_error_naming_the_pin() -> None:
    # a finder that refuses torch: torch stays absent from sys.modules, as on a machine without it
    code = ("import sys, importlib.abc\n"
            "class NoTorch(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name.split('.')[0] == 'torch':\n"
            "            raise ImportError('No module named ' + repr(name))\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            "try:\n    import memnative.torch\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=None).stdout
    assert "memnative.torch needs PyTorch: pip install torch==2.13.0" in out
