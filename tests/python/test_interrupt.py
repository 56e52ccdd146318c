"""Ctrl-C during a long fit (DESIGN §6): the progress callback turns SIGINT into a cancel, fit
raises KeyboardInterrupt within a second, and the estimator is usable with the weights of the last
finished minibatch."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import memnative

    rng = np.random.default_rng(0)
    x = rng.standard_normal((20000, 4)).astype(np.float32)
    y = rng.standard_normal((20000, 2)).astype(np.float32)
    est = memnative.AMRC(hidden_size=64, epochs=100000, random_state=0)
    print("training", flush=True)
    try:
        est.fit(x, y)
    except KeyboardInterrupt:
        print("interrupted", time.monotonic(), flush=True)
        pred = est.predict(x[:50])
        assert np.isfinite(pred).all()
        est.partial_fit(x[:500], y[:500])  # still trainable
        print("usable", est.n_iter_, flush=True)
        sys.exit(0)
    sys.exit(3)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_interrupts_fit_promptly_and_leaves_a_usable_model() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "training"
        time.sleep(1.5)  # well inside the fit
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        line = proc.stdout.readline().split()
        assert line and line[0] == "interrupted", proc.stderr.read() if proc.stderr else ""
        assert float(line[1]) - sent < 1.0
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.startswith("usable")
    finally:
        if proc.poll() is None:
            proc.kill()
