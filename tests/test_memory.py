"""Memory stays bounded whatever a visitor picks: every new structure (optimizer, surrogate,
forward step, hidden width) is a new compiled trainer, and a dropped trainer must give its memory
back. Measured in a fresh process, as the server's resident set size (RSS)."""

import subprocess
import sys

import pytest

from apptest_helpers import ROOT

# Fills both trainer pools, then sends 100 momentum values, 120 new (forward, surrogate,
# optimizer) structures and 60 new network structures, and prints the RSS growth after the fill.
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
networks = [NetworkConfig(hidden=h, surrogate=s, optimizer=o, steps=5)
            for h, s, o in itertools.product(HIDDEN.options, [*SURROGATES, REAL_VALUED], ["adam", "sgd", "lion"])]
for config in scalar[:MAX_IDLE_TRAINERS + 8]:
    train(config)
for config in networks[:24]:
    train_network(config)
gc.collect()
before = rss_mb()
for momentum in np.linspace(MOMENTUM.low, MOMENTUM.high, 100):
    train(TrainingConfig(optimizer="momentum", settings={"momentum": round(float(momentum), 3)}, steps=20))
for config in scalar[MAX_IDLE_TRAINERS + 8:MAX_IDLE_TRAINERS + 128]:
    train(config)
for config in networks[24:84]:
    train_network(config)
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
    assert growth_mb <= 50, f"RSS grew {growth_mb} MB over 280 new settings after the pools were full"
