"""Memory stays bounded whatever a visitor picks: a new structure (typed formula, network) is a new
compiled trainer, and a dropped trainer must give its memory back; XLA programs, which TensorFlow
never frees, must come from a bounded set. Measured in a fresh process, as the server's resident
set size (RSS)."""

import subprocess
import sys

import pytest

from apptest_helpers import ROOT

# Fills the trainer pools and builds every XLA program there can be (one per optimizer and the
# default network: they are kept for good), then sends 100 momentum values, 120 new (forward,
# surrogate, optimizer) combinations, 120 new typed formulas, 60 new network structures and 20 new
# data sets for the XLA network, and prints the RSS growth after the fill.
SCRIPT = r"""
import gc, itertools
import numpy as np
from gradlib import OPTIMIZERS, STEPS, SURROGATES
from gradlib.networks import HIDDEN, REAL_VALUED, NetworkConfig, train_network
from gradlib.training import MAX_IDLE_TRAINERS, MOMENTUM, TrainingConfig, train

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

scalar = [TrainingConfig(forward=f, surrogate=s, optimizer=o, steps=20)
          for f, s, o in itertools.product(STEPS, SURROGATES, OPTIMIZERS)]
formulas = [TrainingConfig(surrogate="custom", backward=f"{k}*exp(-x**2)", steps=20) for k in range(1, 201)]
networks = [NetworkConfig(hidden=h, surrogate=s, optimizer=o, steps=5)
            for h, s, o in itertools.product(HIDDEN.options, [*SURROGATES, REAL_VALUED], ["adam", "sgd", "lion"])]
# Typed formulas well past their pool's size: its first fill leaves memory that later runs reuse.
for config in scalar[:MAX_IDLE_TRAINERS + 8] + formulas[:80]:
    train(config)
for config in networks[:24] + [NetworkConfig(steps=5)]:
    train_network(config)
gc.collect()
before = rss_mb()
for momentum in np.linspace(MOMENTUM.low, MOMENTUM.high, 100):
    train(TrainingConfig(optimizer="momentum", settings={"momentum": round(float(momentum), 3)}, steps=20))
for config in scalar[MAX_IDLE_TRAINERS + 8:MAX_IDLE_TRAINERS + 128] + formulas[80:]:
    train(config)
for config in networks[24:84]:
    train_network(config)
for seed in range(20):
    train_network(NetworkConfig(dataset="spirals", seed=seed, steps=5))
gc.collect()
print(f"{rss_mb() - before:.1f}")
"""


@pytest.mark.slow
def test_rss_stays_bounded_under_hundreds_of_new_structures():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
                            timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    growth_mb = float(result.stdout.split()[-1])
    assert growth_mb <= 50, f"RSS grew {growth_mb} MB over 420 new settings after the pools were full"
