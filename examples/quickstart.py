"""memnative quickstart: a memory-native RNN as a scikit-learn estimator.

Run:  python examples/quickstart.py   (a few seconds)

Part 1 treats a 2-D array as ONE stream (rows are consecutive time steps; the model keeps a memory
across rows and across calls). Part 2 treats a 3-D array as a batch of independent sequences with
one target per sequence.
"""
import os
import tempfile

import numpy as np

import memnative


def r2(y_true, y_pred):
    """Coefficient of determination (what scikit-learn's r2_score computes for one output)."""
    y_true, y_pred = np.ravel(y_true), np.ravel(y_pred)
    return 1.0 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2)


# ---- Part 1: one stream --------------------------------------------------------------------
# The exponentially filtered input: x_t ~ N(0, 1) and y_t = sum_k d^k x_{t-k}, i.e.
# y_t = x_t + d * y_{t-1}. The target depends on the whole past of x, so a model without memory
# cannot predict it (the best memoryless guess, y_t ≈ x_t, has R² = 1 - d²: 0.36 for d = 0.8).
# After step 5000 the stream drifts: d changes from 0.8 to 0.9.
rng = np.random.default_rng(0)
x = rng.standard_normal((9000, 1)).astype(np.float32)
decay = np.where(np.arange(len(x)) < 5000, 0.8, 0.9)
y = np.zeros_like(x)
for t in range(len(x)):
    y[t] = x[t] + (decay[t] * y[t - 1] if t > 0 else 0.0)

# Consecutive chunks of the same stream: each one continues the previous one.
X_train, y_train = x[:3000], y[:3000]
X_test, y_test = x[3000:4000], y[3000:4000]
X_next = x[4000:5000]

model = memnative.AMRC(hidden_size=16, epochs=100, random_state=0)
model.fit(X_train, y_train)  # a 2-D X is one stream: memory carries across rows
print(f"fitted {model.n_iter_} epochs, final training loss {model.loss_curve_[-1]:.2e}")

# fit leaves the memory at the end of X_train. The test chunk continues the stream, so predict
# it with reset_memory=False: the model remembers the inputs just before the chunk.
pred = model.predict(X_test, reset_memory=False)
print(f"R² on the continuation (reset_memory=False): {r2(y_test, pred):.4f}")
# The default, reset_memory=True, starts from zero memory: the first steps lack their past.
# (Either way, predict leaves the memory at the end of X_test.)
print(f"R² from zero memory (reset_memory=True):     {r2(y_test, model.predict(X_test)):.4f}")

# Save and load. The file holds the weights, the hyper-parameters AND the current memory, so a
# loaded model continues the stream exactly where the saved one was.
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "model.mem")
    model.save(path)
    loaded = memnative.load(path)  # restores the class (AMRC) named in the file
a = model.predict(X_next, reset_memory=False)
b = loaded.predict(X_next, reset_memory=False)
print(f"loaded model: {type(loaded).__name__}, identical predictions: {np.array_equal(a, b)}")

# Online learning through the drift (d: 0.8 -> 0.9 from step 5000). Each new chunk is first
# predicted (scored before the model has seen it), then learnt with partial_fit, which trains
# on the chunk continuing the stored memory window by window. predict moved the memory to the
# chunk's end, so we rewind it with get/set_memory_state before training on the chunk.
# partial_fit trains at the constant base learning rate (AMRC's default, 0.03, is tuned for fit,
# whose cosine schedule decays it); online updates are steadier with a smaller one.
model.set_params(learning_rate=0.003)
print("online, through the drift (R² on each chunk before learning from it):")
for start in range(5000, 9000, 1000):
    X_chunk, y_chunk = x[start:start + 1000], y[start:start + 1000]
    memory = model.get_memory_state()
    score = r2(y_chunk, model.predict(X_chunk, reset_memory=False))
    model.set_memory_state(memory)
    model.partial_fit(X_chunk, y_chunk)
    print(f"  steps {start}-{start + 999}: R² {score:.4f}")
print(f"n_iter_ = {model.n_iter_} (100 epochs of fit + one per partial_fit call)")

# The memory is a dict of named arrays (for AMRC: h, the neuron outputs with their echo, and m,
# the leaky memory); set_memory_state() restores one, e.g. to branch a stream.
state = model.get_memory_state()
print("memory state:", {name: value.shape for name, value in state.items()})
# diagnostics: learned per-unit memory rates and gains, and summary numbers.
for name, value in model.diagnostics.items():
    if np.ndim(value):
        print(f"  {name:17s} {len(value)} units, mean {np.mean(value):.3f}, "
              f"range [{np.min(value):.3f}, {np.max(value):.3f}]")
    else:
        print(f"  {name:17s} {value:.4f}")

# ---- Part 2: independent sequences ---------------------------------------------------------
# The adding problem: two channels (values, and a marker with two 1s); the target is the sum of
# the two marked values, read after the last step. A 3-D X is (n_sequences, seq_len, features);
# each sequence starts from zero memory, and a 1-D y means one target per sequence.
X_seq, y_seq = memnative.datasets.adding_problem(n_sequences=2000, seq_len=20, random_state=0)
X_val, y_val = memnative.datasets.adding_problem(n_sequences=500, seq_len=20, random_state=1)
seq_model = memnative.AMRC(hidden_size=32, epochs=30, random_state=0).fit(X_seq, y_seq)
pred = seq_model.predict(X_val)  # shape (500,): one value per sequence
print(f"adding problem: X {X_seq.shape} -> y {y_seq.shape}, target_mode_ = "
      f"{seq_model.target_mode_!r}")
print(f"  held-out MSE {np.mean((pred - y_val) ** 2):.4f} "
      f"(predicting the mean scores ≈ 0.167), R² {seq_model.score(X_val, y_val):.3f}")
# A list of 2-D (seq_len_i, features) arrays is the same layout, and its sequences may have
# different lengths (each is read out at its own last step).
as_list = seq_model.predict([X_val[0], X_val[1], X_val[2]])
print(f"  the first 3 as a list: {np.round(as_list, 3)} (targets {np.round(y_val[:3], 3)}), "
      f"same as 3-D: {np.allclose(as_list, pred[:3])}")
