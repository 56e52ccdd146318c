"""NDM: plastic weights that evolve during a stream, and consolidating them into the slow weights.

Trains an NDM on Mackey-Glass one-step forecasting, continues the stream on the test part, prints
its diagnostics, then consolidates half of the plastic weights F into W_rec: the effective weights
W_rec + P * F do not move, so the next prediction is unchanged, and predict() never rewires the
model by itself (two calls give identical outputs).

Run: python examples/ndm_consolidate.py
"""
import pickle

import numpy as np

import memnative
from memnative import datasets


def main() -> None:
    X_train, y_train, X_test, y_test = datasets.mackey_glass_forecast(2000, 1000)
    model = memnative.NDM(hidden_size=32, eta=0.5, epochs=60, random_state=0, n_threads=1)
    model.fit(X_train, y_train)
    pred = model.predict(X_test, reset_memory=False)
    nrmse = np.sqrt(np.mean((pred - y_test) ** 2) / np.var(y_test))
    print(f"Mackey-Glass test NRMSE (continuing the stream): {nrmse:.4f}")
    print(f"weight velocity mean |dF/dt|: {model.get_avg_weight_velocity():.3e}")
    print(f"mean plasticity P:            {model.get_avg_plasticity():.4f}")
    print(f"plastic energy mean |F|:      {model.diagnostics['plastic_energy']:.3e}")

    untouched = pickle.loads(pickle.dumps(model))  # the same model and memory, not consolidated
    w_rec, F = model.parameters_["W_rec"].copy(), model.get_plastic_weights()
    model.consolidate(0.5)
    print(f"consolidate(0.5): max |dW_rec| {np.abs(model.parameters_['W_rec'] - w_rec).max():.3e}, "
          f"mean |F| {np.abs(F).mean():.3e} -> {np.abs(model.get_plastic_weights()).mean():.3e}")
    a = model.predict(X_test[:1], reset_memory=False).ravel()[0]
    b = untouched.predict(X_test[:1], reset_memory=False).ravel()[0]
    print(f"next prediction: consolidated {a:+.7f}, not consolidated {b:+.7f}")
    assert np.array_equal(model.predict(X_test), model.predict(X_test)), "predict is pure"


if __name__ == "__main__":
    main()
