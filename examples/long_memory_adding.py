"""Long memory: the AMN solves the adding problem over 200 steps.

Run:  python examples/long_memory_adding.py            (T = 200; a few minutes on one core)
      python examples/long_memory_adding.py --quick    (T = 50; about a minute)

The adding problem (Hochreiter & Schmidhuber 1997): each sequence has two channels, uniform
values and a marker with exactly two 1s (one in each half). The target, read after the last step,
is the sum of the two marked values. Predicting the mean (1.0) scores MSE 1/6 ≈ 0.167; a model
must hold the first marked value across up to T steps of distraction to do better.

The long-memory settings of the AMN (spec/cells.md):
- ``lru_max=0.9999``: the slowest linear recurrent units forget over ~10,000 steps instead of
  ~1,000 (default 0.999). Keep the slowest time scale below the history a model sees in training;
  on short streams the default is better.
- ``feedback=False``: the liquid units' targets and rates depend on the input only (no U s_{t-1}),
  a selective scan whose gradients do not pass through a recurrent matrix at every step.
"""
import argparse
import time

import numpy as np

import memnative

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--quick", action="store_true", help="T = 50 and a smaller training set")
parser.add_argument("--seq-len", type=int, default=None, help="sequence length T (default 200)")
args = parser.parse_args()

seq_len = args.seq_len or (50 if args.quick else 200)
n_train, epochs, batch_size = (3000, 4, 20) if args.quick else (10000, 4, 50)

X, y = memnative.datasets.adding_problem(n_train, seq_len, random_state=1)
X_test, y_test = memnative.datasets.adding_problem(1000, seq_len, random_state=2)


def test_mse(model):
    return float(np.mean((model.predict(X_test) - y_test) ** 2))


def report(model, epoch, logs):
    """Called after every epoch; returning True would stop training."""
    print(f"  epoch {epoch + 1:2d}: training loss {logs['loss']:.4f}, test MSE {test_mse(model):.4f}",
          flush=True)
    return False


print(f"adding problem, T = {seq_len}: {n_train} training sequences, baseline MSE 0.167")
model = memnative.AMN(hidden_size=64, feedback=False, lru_max=0.9999, epochs=epochs,
                      batch_size=batch_size, random_state=0, callbacks=[report])
start = time.perf_counter()
model.fit(X, y)
print(f"trained in {time.perf_counter() - start:.0f} s "
      f"({model.n_iter_ * -(-n_train // batch_size)} optimizer steps, including the per-epoch test)")
print(f"test MSE {test_mse(model):.4f}")

# The time scales the model learned. Liquid units: 1/λ_t averaged over the last call (the test
# predictions). LRU: Λ = exp(-exp(ν)) per unit, remembering over about 1 / (1 - Λ) steps.
print(f"mean liquid time constant over the test sequences: {model.avg_lc_timescale:.2f} steps")
lru_decay = np.exp(-np.exp(model.parameters_["nu"].astype(np.float64)))
timescales = np.sort(1.0 / (1.0 - lru_decay))[::-1]
print(f"LRU time scales (steps): the 5 slowest {np.round(timescales[:5]).astype(int)}, "
      f"median {np.median(timescales):.0f}")
