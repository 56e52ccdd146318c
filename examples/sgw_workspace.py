"""SGW-AMN: candidates compete for a small workspace that carries information across steps.

Trains a sparse global workspace on Mackey-Glass one-step forecasting, continues the stream on the
test part, and prints the competition's diagnostics: how many workspace units are active, the
entropy of the competition, and the bottleneck k / n_candidates.

Run: python examples/sgw_workspace.py
"""
import numpy as np

import memnative
from memnative import datasets


def main() -> None:
    X_train, y_train, X_test, y_test = datasets.mackey_glass_forecast(2000, 1000)
    model = memnative.SGWAMN(hidden_size=32, n_candidates=64, k=8, workspace_size=16,
                             epochs=40, random_state=0, n_threads=1)
    model.fit(X_train, y_train)
    pred = model.predict(X_test, reset_memory=False)
    nrmse = np.sqrt(np.mean((pred - y_test) ** 2) / np.var(y_test))
    print(f"Mackey-Glass test NRMSE (continuing the stream): {nrmse:.4f}")
    print(f"workspace sparsity (fraction |w| > 0.1): {model.get_workspace_sparsity():.3f}")
    print(f"competition entropy (nats; uniform = {np.log(64):.2f}): {model.get_competition_entropy():.3f}")
    print(f"bottleneck rate k / n_candidates:        {model.bottleneck_rate:.3f}")
    print(f"workspace now: {np.round(model.get_workspace_state(), 3)}")


if __name__ == "__main__":
    main()
