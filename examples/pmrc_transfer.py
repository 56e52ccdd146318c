"""Transfer with partial training: train a PMRC on task A, freeze its hidden layer, learn task B.

Run:  python examples/pmrc_transfer.py   (under a minute)

Task A is the adding problem (two channels: values, and a marker with two 1s; the target is the
SUM of the two marked values, read after the last step). Task B uses the same inputs but asks for
the DIFFERENCE first marked − second marked, and we have only 300 labelled sequences of it.
Both need the same memory (hold the marked values until the end), so the recurrent layer trained
on A is reused for B: it is frozen, and only the gates and the readout adapt.

What the frozen parts guarantee (DESIGN §4): the optimizer skips frozen entries, so they stay
bit-identical, and the masks are saved with the model.
"""
import os
import tempfile

import numpy as np

import memnative

SEQ_LEN = 30


def difference_targets(X):
    """First marked value minus the second one (the marker is channel 1)."""
    values, marks = X[:, :, 0], X[:, :, 1]
    first = np.argmax(marks, axis=1)
    second = SEQ_LEN - 1 - np.argmax(marks[:, ::-1], axis=1)
    rows = np.arange(len(X))
    return (values[rows, first] - values[rows, second]).astype(np.float32)


def mse(model, X, y):
    return float(np.mean((model.predict(X) - y) ** 2))


X_a, y_a = memnative.datasets.adding_problem(5000, SEQ_LEN, random_state=0)
X_b, _ = memnative.datasets.adding_problem(300, SEQ_LEN, random_state=1)
y_b = difference_targets(X_b)
X_test, y_test_sum = memnative.datasets.adding_problem(1000, SEQ_LEN, random_state=2)
y_test_diff = difference_targets(X_test)
print(f"task B baseline (predict 0): MSE {np.mean(y_test_diff ** 2):.4f}")

# ---- task A: the full training set --------------------------------------------------------------
model = memnative.PMRC(hidden_size=32, use_learnable_gates=True, epochs=20, random_state=0)
model.fit(X_a, y_a)
print(f"task A (sum), {len(X_a)} sequences: test MSE {mse(model, X_test, y_test_sum):.4f} "
      f"(baseline 0.167)")

# ---- task B: freeze the hidden layer, keep training the rest on 300 sequences --------------------
model.freeze_hidden_layer()
hidden_before = {name: model.parameters_[name].copy() for name in ("W", "U", "b", "w_m")}
print(f"frozen: {model.count_frozen()} of {sum(v.size for v in model.parameters_.values())} "
      f"entries (the hidden layer: W, U, b, w_m)")

# warm_start=True continues from the current weights instead of re-initialising; the
# learning-rate schedule restarts. (partial_fit would do one epoch per call at the base rate.)
model.set_params(warm_start=True, epochs=60)
model.fit(X_b, y_b)
print(f"task B (difference), transferred: test MSE {mse(model, X_test, y_test_diff):.4f}")
unchanged = all(np.array_equal(hidden_before[n], model.parameters_[n]) for n in hidden_before)
print(f"  hidden layer bit-identical after training on B: {unchanged}")

# The same budget from scratch: 300 sequences are not enough to learn the memory itself.
scratch = memnative.PMRC(hidden_size=32, use_learnable_gates=True, epochs=60, random_state=0)
scratch.fit(X_b, y_b)
print(f"task B (difference), from scratch: test MSE {mse(scratch, X_test, y_test_diff):.4f}")

# ---- the masks travel with the model ------------------------------------------------------------
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "transfer.mem")
    model.save(path)
    loaded = memnative.load(path)
print(f"reloaded: {loaded.count_frozen()} frozen entries; "
      f"mask of U all frozen: {bool(loaded.frozen_mask('U').all())}")

# Other ways to choose what stays fixed (each returns the model, so they chain):
#   model.freeze_hidden_percentage(0.5)          exactly floor(0.5·n + 0.5) random entries per tensor
#   model.freeze_by_magnitude(fraction=0.2)      the 20 % largest |w| of each hidden tensor
#   model.freeze_specific_neurons([0, 3, 7])     those units' rows, U columns and readout columns
#   model.freeze_memory_gates(); model.freeze_output_layer(); model.unfreeze_all()
