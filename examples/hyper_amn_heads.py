"""Hyper-AMN on Mackey-Glass: three AMN heads with their own manifold time scales, mixed and gated.

Run:  python examples/hyper_amn_heads.py   (a few seconds)

Each head is an AMN core (liquid time constants, an LRU, an associative manifold) whose manifold
starts with its own decay (memory_decays: 0.990, 0.995, 0.999 by default, i.e. memories of about
100, 200 and 1000 steps). A learned matrix X mixes the heads' outputs and a softmax gate, driven
by the input and the previous output, weighs them. The diagnostics show which heads the gate
uses, how much each manifold holds, and how far X moved from the identity.
"""
import numpy as np

import memnative
from memnative import datasets

X_train, y_train, X_test, y_test = datasets.mackey_glass_forecast(n_train=1000, n_test=500)
model = memnative.HyperAMN(hidden_size=16, n_heads=3, memory_manifold_size=16, epochs=40,
                           random_state=0)
model.fit(X_train, y_train)

pred = model.predict(X_test, reset_memory=False)  # the test chunk continues the training stream
nrmse = np.sqrt(np.mean((pred - y_test) ** 2)) / np.std(y_test)
print(f"Mackey-Glass one-step NRMSE (continuing the stream): {nrmse:.4f}")

decays = 1.0 / (1.0 + np.exp(-model.parameters_["gamma_logit"].astype(np.float64)))
labels = ("spatial", "emotional", "logical")
print("head        gate (mean over the test call)   manifold energy   learned decay")
for label, gate, energy, decay in zip(labels, model.get_head_activations(),
                                      model.get_head_manifold_energy(), decays):
    print(f"  {label:10s} {gate:8.3f}                         {energy:8.4f}          {decay:.4f}")
print(f"cross-head flow (mean |off-diagonal X|): {model.cross_head_flow:.4f}")
