"""Estimator semantics (DESIGN §4, §6): layouts and target rules, memory after calls, online
training, warm starts, live training settings, validation and early stopping, callbacks, progress,
seeding, threads, introspection, the torch bridge and create_model."""
from __future__ import annotations

import numpy as np
import pytest

import memnative
from memnative import AMRC, MemoryClassifier, MemoryRegressor

SMALL = dict(hidden_size=6, epochs=3, random_state=0)


def stream(n: int = 200, n_in: int = 3, n_out: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in)).astype(np.float32)
    y = np.tanh(x[:, :n_out] + 0.5 * np.roll(x[:, :n_out], 1, axis=0))
    return x, y


def sequences(n: int = 20, t: int = 7, n_in: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, t, n_in)).astype(np.float32)


# ---- layouts and targets ------------------------------------------------------------------

def test_stream_targets_keep_their_shape() -> None:
    x, y = stream()
    two = AMRC(**SMALL).fit(x, y)
    assert two.predict(x).shape == (200, 2) and two.target_mode_ == "per_step"
    one = AMRC(**SMALL).fit(x, y[:, 0])
    assert one.predict(x).shape == (200,) and one.n_outputs_ == 1
    assert one.predict(x).dtype == np.float64


def test_sequence_targets_per_step_and_per_sequence() -> None:
    x = sequences()
    per_step = AMRC(**SMALL).fit(x, x.sum(axis=2, keepdims=True))
    assert per_step.target_mode_ == "per_step" and per_step.predict(x).shape == (20, 7, 1)
    last = AMRC(**SMALL).fit(x, x.sum(axis=(1, 2)))
    assert last.target_mode_ == "last" and last.predict(x).shape == (20,)
    forced = AMRC(target="per_step", **SMALL).fit(x, x.sum(axis=2))
    assert forced.target_mode_ == "per_step" and forced.predict(x).shape == (20, 7)


def test_ragged_sequences() -> None:
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((n, 2)).astype(np.float32) for n in (3, 8, 5, 1)]
    per_step = AMRC(**SMALL).fit(xs, [s.sum(axis=1) for s in xs])
    out = per_step.predict(xs)
    assert isinstance(out, list) and [o.shape for o in out] == [(3,), (8,), (5,), (1,)]
    # a sequence alone predicts the same as inside the batch (independent, zero initial state)
    assert np.array_equal(per_step.predict([xs[1]])[0], out[1])
    last = AMRC(**SMALL).fit(xs, np.array([s.sum() for s in xs]))
    assert last.predict(xs).shape == (4,)


def test_classifier_per_sequence_and_per_step_with_string_labels() -> None:
    x = sequences(n=30)
    labels = np.where(x[:, :, 0].sum(axis=1) > 0, "up", "down")
    clf = MemoryClassifier(**SMALL).fit(x, labels)
    assert list(clf.classes_) == ["down", "up"] and clf.target_mode_ == "last"
    proba = clf.predict_proba(x)
    assert proba.shape == (30, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-6)
    assert set(clf.predict(x)) <= {"down", "up"}
    steps = MemoryClassifier(**SMALL).fit(x, (x[:, :, 0] > 0).astype(int))
    assert steps.target_mode_ == "per_step" and steps.predict(x).shape == (30, 7)
    assert 0.0 <= steps.score(x, (x[:, :, 0] > 0).astype(int)) <= 1.0


# ---- memory after calls ---------------------------------------------------------------------

def test_predict_leaves_memory_at_the_end_of_x() -> None:
    x, y = stream(300)
    est = AMRC(**SMALL).fit(x, y)
    whole = est.predict(x)
    first = est.predict(x[:170])
    rest = est.predict(x[170:], reset_memory=False)
    assert np.array_equal(np.concatenate([first, rest]), whole)
    assert not np.array_equal(est.predict(x[170:]), rest)  # reset_memory=True starts from zero


def test_fit_leaves_memory_for_forecasting() -> None:
    x, y = stream(300)
    est = AMRC(**SMALL).fit(x, y)
    state = est.get_memory_state()
    assert set(state) == {"h", "m"} and np.abs(state["h"]).sum() > 0
    est.reset_memory()
    assert all(np.all(v == 0) for v in est.get_memory_state().values())


def test_sequences_refuse_reset_memory_false() -> None:
    x = sequences()
    est = AMRC(**SMALL).fit(x, x.sum(axis=(1, 2)))
    with pytest.raises(ValueError, match="reset_memory"):
        est.predict(x, reset_memory=False)


# ---- online training, warm starts, live settings --------------------------------------------

def test_partial_fit_in_chunks_equals_one_call() -> None:
    x, y = stream(256)
    a = AMRC(bptt=16, **SMALL)
    for lo, hi in ((0, 96), (96, 256)):  # chunk lengths are multiples of bptt
        a.partial_fit(x[lo:hi], y[lo:hi])
    b = AMRC(bptt=16, **SMALL).partial_fit(x, y)
    for name, value in a.parameters_.items():
        assert np.array_equal(value, b.parameters_[name]), name
    assert a.n_iter_ == 2 and len(a.loss_curve_) == 2


def test_warm_start_continues_and_checks_the_architecture() -> None:
    x, y = stream()
    est = AMRC(warm_start=True, **SMALL).fit(x, y)
    before = {k: v.copy() for k, v in est.parameters_.items()}
    est.fit(x, y)
    assert est.n_iter_ == 6 and len(est.loss_curve_) == 6
    assert not np.array_equal(before["W"], est.parameters_["W"])
    est.set_params(hidden_size=9)
    with pytest.raises(ValueError, match="hidden_size"):
        est.fit(x, y)
    cold = AMRC(**SMALL).fit(x, y)
    cold.fit(x, y)
    assert cold.n_iter_ == 3  # warm_start=False re-initialises


def test_set_params_between_partial_fit_calls_takes_effect() -> None:
    x, y = stream()
    est = AMRC(**SMALL).partial_fit(x, y)
    w = est.parameters_["W"].copy()
    est.set_params(learning_rate=1e-9)
    est.partial_fit(x, y)
    assert np.abs(est.parameters_["W"] - w).max() < 1e-6
    est.set_params(learning_rate=0.05)
    est.partial_fit(x, y)
    assert np.abs(est.parameters_["W"] - w).max() > 1e-3


def test_validation_and_early_stopping() -> None:
    x, y = stream(400)
    est = AMRC(hidden_size=6, epochs=200, validation_fraction=0.25, n_iter_no_change=3, tol=0.5,
               random_state=0).fit(x, y)
    assert est.n_iter_ < 200
    assert len(est.validation_scores_) == est.n_iter_ == len(est.loss_curve_)
    seq = sequences(40)
    est = AMRC(validation_fraction=0.2, **SMALL).fit(seq, seq.sum(axis=(1, 2)))
    assert len(est.validation_scores_) == 3


def test_callbacks_receive_logs_and_can_stop() -> None:
    x, y = stream()
    seen = []

    def stop_at_two(est, epoch, logs):
        seen.append((epoch, sorted(logs)))
        return epoch == 1

    est = AMRC(hidden_size=4, epochs=10, callbacks=[stop_at_two], random_state=0).fit(x, y)
    assert est.n_iter_ == 2 and seen == [(0, ["loss"]), (1, ["loss"])]


def test_callback_errors_propagate() -> None:
    x, y = stream()

    def broken(est, epoch, logs):
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        AMRC(hidden_size=4, epochs=2, callbacks=[broken]).fit(x, y)


def test_verbose_prints_progress_with_eta(capsys) -> None:
    x, y = stream()
    AMRC(verbose=1, **SMALL).fit(x, y)
    err = capsys.readouterr().err
    assert "epoch 1/3" in err and "epoch 3/3" in err and "ETA" in err and "loss" in err


# ---- determinism --------------------------------------------------------------------------

def test_same_seed_same_model_and_threads_do_not_matter() -> None:
    x, y = stream(2048, n_in=8)
    a = AMRC(hidden_size=256, epochs=1, random_state=3, n_threads=1).fit(x, y)
    b = AMRC(hidden_size=256, epochs=1, random_state=3, n_threads=2).fit(x, y)
    assert np.array_equal(a.predict(x), b.predict(x))
    c = AMRC(hidden_size=256, epochs=1, random_state=4, n_threads=1).fit(x, y)
    assert not np.array_equal(a.predict(x), c.predict(x))


# ---- introspection and numerics -----------------------------------------------------------

def test_parameters_and_diagnostics() -> None:
    x, y = stream()
    est = AMRC(output_memory=True, skip=True, **SMALL).fit(x, y)
    params = est.parameters_
    assert list(params) == ["W", "b", "w_m", "beta_logit", "alpha_logit", "W_o", "b_o", "D",
                            "output_beta_logit"]
    assert params["W"].shape == (6, 3) and params["W_o"].shape == (2, 6)
    diag = est.diagnostics
    assert set(diag) == {"beta", "alpha", "memory_gain", "memory_magnitude"}
    assert diag["beta"].shape == (6,) and np.all((diag["beta"] > 0) & (diag["beta"] < 1))
    assert isinstance(diag["memory_magnitude"], float)


def test_non_finite_weights_are_reported_and_kept() -> None:
    x, y = stream()
    est = AMRC(warm_start=True, **SMALL).fit(x, y)
    est.parameters_["W_o"][0, 0] = 1e30
    before = {k: v.copy() for k, v in est.parameters_.items()}
    with pytest.raises(memnative.NumericalError, match="amrc.*step"):
        est.fit(x, y)
    for name, value in est.parameters_.items():
        assert np.array_equal(value, before[name])


def test_torch_bridge_round_trip() -> None:
    torch = pytest.importorskip("torch")
    x, y = stream()
    est = AMRC(output_memory=True, **SMALL).fit(x, y)
    twin = est.to_torch(dtype=torch.float64)
    out, _ = twin(torch.tensor(x[None], dtype=torch.float64))
    assert np.allclose(out[0].detach().numpy(), est.predict(x), atol=1e-5)
    with torch.no_grad():
        twin.W_o.mul_(0.5)
    est.load_torch(twin)
    assert np.allclose(est.parameters_["W_o"], twin.W_o.detach().numpy())


# ---- create_model --------------------------------------------------------------------------

def test_create_model() -> None:
    est = memnative.create_model("amrc", hidden_size=8, beta=0.5)
    assert isinstance(est, AMRC) and est.beta == 0.5
    clf = memnative.create_model("amrc", task="classification", hidden_size=8, beta=0.5)
    assert isinstance(clf, MemoryClassifier) and clf.cell_params == {"beta": 0.5}
    with pytest.raises(ValueError, match="did you mean 'hidden_size'"):
        memnative.create_model("amrc", hiden_size=3)
    with pytest.raises(ValueError, match="did you mean 'beta'"):
        memnative.create_model("amrc", task="classification", betta=0.5)
    with pytest.raises(ValueError, match="known: amrc"):
        memnative.create_model("lstm")


def test_memory_regressor_cell_params() -> None:
    x, y = stream()
    est = MemoryRegressor(cell_params={"beta": 0.5, "learn_memory": False}, **SMALL).fit(x, y)
    beta = est.diagnostics["beta"]
    assert np.all((beta > 0.1) & (beta < 0.9))
    with pytest.raises(ValueError, match="did you mean 'alpha'"):
        MemoryRegressor(cell_params={"alpah": 0.1}, **SMALL).fit(x, y)
