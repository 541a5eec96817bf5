"""How fast gradlib trains, measured as ratios within one process (the absolute times depend on
the machine; the ratios much less).

    python benchmarks/training_speed.py [--steps 1000] [--repeats 5]

1. The notebook's eager training loop against gradlib's ``train``, same problem: x0 = -1 through
   sign with the sigmoid surrogate, Adam(0.1); gradlib also records x, y, loss, gradient and
   Adam's m and v at every step.
2. XLA against the same loop run as a plain TensorFlow graph, built from the same trainer code:
   the scalar loop at 100 and at 1000 steps, and the network page's default run (300 steps, then
   its decision boundary). Each run starts by resetting the trainer, inside the compiled function.
3. What one page interaction costs in training: ``train`` and ``train_network`` at their defaults."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorflow as tf  # noqa: E402

from gradlib import NetworkConfig, TrainingConfig, differentiable_sign, networks, train, train_network  # noqa: E402
from gradlib import training  # noqa: E402


def notebook_loop(steps: int) -> float:
    """Cell 5 of the notebook, eager, without its printing."""
    x = tf.Variable(-1.0)
    opt = tf.keras.optimizers.Adam(1e-1)

    def train_step():
        with tf.GradientTape() as tape:
            y = differentiable_sign(x)
            loss = tf.nn.l2_loss(y - tf.constant(1.0))
        grads = tape.gradient(loss, x)
        opt.apply_gradients(zip([grads], [x]))
        return loss, y, grads

    for _ in range(steps):
        train_step()
    return float(x)


def best_time(run: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs, after one untimed run (a trace or compile is a one-off cost)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def scalar_run(steps: int, xla: bool) -> Callable[[], object]:
    """One whole run of the default problem by a trainer of its own (the pools always use XLA here)."""
    config = TrainingConfig(steps=steps)
    trainer = training._Trainer(config.optimizer, config.backward, xla)
    return lambda: trainer.chunk(config, config.resolved_settings(), 0, steps)


def network_run(xla: bool) -> Callable[[], object]:
    """The network page's default run and boundary, by a trainer of its own."""
    config = NetworkConfig()
    trainer = networks._NetworkTrainer(*networks._structure(config), xla=xla)
    inputs = networks._inputs(config)
    return lambda: (trainer.chunk(inputs, 0, config.steps), trainer.boundary().numpy())


def report(name: str, xla: float, graph: float) -> None:
    print(f"  {name:<30}: XLA {xla * 1e3:7.2f} ms, graph {graph * 1e3:7.2f} ms, {graph / xla:5.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = TrainingConfig(steps=args.steps)

    notebook_loop(5)  # the first Keras step is a one-off cost
    eager = best_time(lambda: notebook_loop(args.steps), args.repeats)
    compiled = best_time(lambda: train(config), args.repeats)
    print(f"1. {args.steps} Adam steps, best of {args.repeats}")
    print(f"  {'notebook eager loop':<30}: {eager * 1e3:9.1f} ms")
    print(f"  {'gradlib train':<30}: {compiled * 1e3:9.1f} ms (records x, y, loss, grad, m, v per step)")
    print(f"  {'speed-up':<30}: {eager / compiled:9.1f}x")

    print(f"2. XLA against a plain graph, same trainer code, best of {args.repeats}")
    for steps in (100, 1000):
        report(f"scalar loop, {steps} steps", best_time(scalar_run(steps, True), args.repeats),
               best_time(scalar_run(steps, False), args.repeats))
    report("network page defaults", best_time(network_run(True), args.repeats),
           best_time(network_run(False), args.repeats))

    print(f"3. Training per page interaction, defaults, best of {args.repeats}")
    for name, run in [("train(TrainingConfig())", lambda: train(TrainingConfig())),
                      ("train_network(NetworkConfig())", lambda: train_network(NetworkConfig()))]:
        print(f"  {name:<30}: {best_time(run, args.repeats) * 1e3:9.2f} ms")


if __name__ == "__main__":
    main()
