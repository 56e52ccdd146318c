"""DTPN on Mackey-Glass: one-step forecasting, then the cell's three memories by diagnostic.

Run:  python examples/dtpn_diagnostics.py   (a few seconds)

DTPN keeps three kinds of memory: each neuron's echo e of its last pre-output, a neuron memory n
whose rate is gated by the input, and an associative manifold 𝓜 queried and written by the echo.
Its diagnostics read them from the stored stream memory: echo_magnitude (mean |e|),
memory_magnitude (mean |n|) and matrix_energy (mean |𝓜|).
"""
import numpy as np

import memnative
from memnative import datasets

X_train, y_train, X_test, y_test = datasets.mackey_glass_forecast(n_train=1000, n_test=500)
model = memnative.DTPN(hidden_size=16, memory_manifold_size=16, epochs=60, random_state=0)
model.fit(X_train, y_train)

# fit leaves the memory at the end of the training stream: the test chunk continues it.
pred = model.predict(X_test, reset_memory=False)
nrmse = np.sqrt(np.mean((pred - y_test) ** 2)) / np.std(y_test)
print(f"Mackey-Glass one-step NRMSE (continuing the stream): {nrmse:.4f}")

print("diagnostics of the stored memory after the test chunk:")
for name, value in model.diagnostics.items():
    print(f"  {name:18s} {float(value):.4f}")

model.reset_memory()
print("after reset_memory():", {k: float(v) for k, v in model.diagnostics.items()})
