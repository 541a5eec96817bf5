"""The notebook's eager training loop against gradlib's compiled loop, same problem, same process.

    python benchmarks/training_speed.py [--steps 1000] [--repeats 3]

Both train x0 = -1 through sign with the sigmoid surrogate, Adam(0.1), for the same number of
steps; the compiled loop also records x, y, loss, gradient and Adam's m and v at every step.
The figure that matters is the ratio, since both run on the same machine in the same process."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorflow as tf  # noqa: E402

from gradlib import TrainingConfig, differentiable_sign, train  # noqa: E402


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


def best_time(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = TrainingConfig(steps=args.steps)

    notebook_loop(5)  # warm both up: the first Keras step and the first trace are one-off costs
    train(config)
    eager = best_time(lambda: notebook_loop(args.steps), args.repeats)
    compiled = best_time(lambda: train(config), args.repeats)
    print(f"{args.steps} Adam steps, best of {args.repeats}")
    print(f"  notebook eager loop : {eager * 1e3:9.1f} ms")
    print(f"  gradlib compiled    : {compiled * 1e3:9.1f} ms (records x, y, loss, grad, m, v per step)")
    print(f"  speed-up            : {eager / compiled:9.1f}x")


if __name__ == "__main__":
    main()
