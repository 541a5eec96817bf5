"""A small binarized network: two hidden layers whose activations are ``sign`` in the forward
pass and a surrogate gradient in the backward pass, trained full-batch on 2-D toy data.

The data are generated in code from a seed (no download). The model is a Keras ``Sequential``
with gradlib's ``surrogate_step`` as its activation, exactly as a user would build it; training
is one compiled loop per structure (width, activation, optimizer), fed the data, the initial
weights and the settings at run time, as in gradlib.training.

XLA: TensorFlow never frees an XLA program (gradlib.compiled), a network's holds ~27 MB (measured),
and it must be one per structure: picking the activation at run time would change the float bits,
which the page's Keras script must reproduce exactly. So XLA compiles the one network the page
opens with, NetworkConfig()'s structure, in at most two trainers kept for the life of the process.
Every other network runs the same loop as a plain TensorFlow graph, whose memory is given back
when its trainer is dropped.

Play: the loop also pictures the boundary after up to SNAPSHOTS − 1 evenly spaced steps (the run's
input says which), on SNAPSHOT_GRID, so the browser can draw the boundary forming from one figure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from gradlib import compiled
from gradlib.core import require_choice
from gradlib.settings import GridSetting, Setting
from gradlib.surrogates import Surrogate, surrogate_entry, surrogate_step
from gradlib.training import (LEARNING_RATE, TrainerPool, TrainingConfig, TunableOptimizer, count_trace,
                              playback_steps, run_in_chunks, step_records)

POINTS = 200  # training points per data set
NETWORK_STEPS = Setting("steps", "Steps (full batch)", 300, 1, 2000, 1)
# Each width is a compiled trainer of its own: a short list keeps the number of traces small.
HIDDEN = GridSetting("hidden", "Hidden units per layer", 32, (2, 4, 8, 16, 32, 64, 128))
SEED = Setting("seed", "Seed (data and initial weights)", 0, 0, 9999, 1)
NETWORK_LEARNING_RATE = replace(LEARNING_RATE, default=0.01)
GRID = np.linspace(-3.0, 3.0, 61)  # where the decision boundary is drawn (the data are standardised)
SNAPSHOTS = 30  # pictures of the boundary in a run, for Play: during training, then the final one
# Every third point of GRID (21 × 21): the 29 pictures cost the default run ~2 ms of CPU (on GRID, 11 ms),
# and sending them ~2 ms more; on every other point the page cost 36 ms a seed.
SNAPSHOT_GRID = GRID[::3]
# The largest history, pickled, which bounds the pages' caches in memory (tests/test_limits.py measures
# it): 4 columns of 8-byte numbers per step, the boundary in float64, its pictures in float32, a few kB.
MAX_HISTORY_BYTES = 4 * 8 * NETWORK_STEPS.high + 8 * GRID.size ** 2 + 4 * SNAPSHOTS * SNAPSHOT_GRID.size ** 2 + 4096
REAL_VALUED = "tanh_reference"  # in place of a surrogate id: a real-valued tanh network to compare with
MAX_IDLE_NETWORKS = 16  # graph-compiled network trainers kept for reuse (~1 MB each at 128 units)


def _moons(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    angle = rng.uniform(0, np.pi, POINTS)
    upper = np.arange(POINTS) < POINTS // 2
    points = np.where(upper[:, None], np.column_stack([np.cos(angle), np.sin(angle)]),
                      np.column_stack([1 - np.cos(angle), 0.5 - np.sin(angle)]))
    return points + rng.normal(0, 0.1, points.shape), (~upper).astype(float)


def _circles(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    angle = rng.uniform(0, 2 * np.pi, POINTS)
    inner = np.arange(POINTS) < POINTS // 2
    radius = np.where(inner, 0.5, 1.0)
    points = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return points + rng.normal(0, 0.08, points.shape), inner.astype(float)


def _xor(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-1, 1, (POINTS, 2))
    return points, (points[:, 0] * points[:, 1] > 0).astype(float)


def _spirals(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    turn = np.sqrt(rng.uniform(0, 1, POINTS)) * 3 * np.pi  # more points further out, where arms are longer
    second = np.arange(POINTS) >= POINTS // 2
    angle = turn + np.where(second, np.pi, 0.0)
    points = turn[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return points + rng.normal(0, 0.3, points.shape), second.astype(float)


DATASETS: dict[str, Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "moons": _moons, "circles": _circles, "xor": _xor, "spirals": _spirals}


def make_dataset(name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``POINTS`` points (standardised per axis, float32) and 0/1 labels, the same for the same seed."""
    generate = require_choice(DATASETS, name, "data set")
    SEED.check(seed)
    points, labels = generate(np.random.default_rng(seed))
    points = (points - points.mean(axis=0)) / points.std(axis=0)
    return points.astype(np.float32), labels.astype(np.float32)


def initial_weights(hidden: int, seed: int) -> list[np.ndarray]:
    """Glorot-uniform kernels and zero biases for 2 → hidden → hidden → 1, from NumPy and the seed
    alone, so the same seed starts every surrogate, optimizer and process from the same point."""
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in [(2, hidden), (hidden, hidden), (hidden, 1)]:
        limit = np.sqrt(6 / (fan_in + fan_out))
        weights += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32), np.zeros(fan_out, np.float32)]
    return weights


def build_model(hidden: int, activation: Callable | str) -> keras.Sequential:
    return keras.Sequential([
        keras.Input((2,)),
        keras.layers.Dense(hidden, activation=activation),
        keras.layers.Dense(hidden, activation=activation),
        keras.layers.Dense(1),  # logits
    ])


@dataclass(frozen=True)
class NetworkConfig:
    dataset: str = "moons"
    surrogate: str = "sigmoid"  # or "custom" with ``backward``, or REAL_VALUED for the tanh reference network
    scale: float | None = None  # the surrogate's parameter; None: its default
    backward: str | None = None  # your backward formula g(x), for surrogate="custom"
    optimizer: str = "adam"
    settings: Mapping[str, float] = field(default_factory=lambda: {"learning_rate": NETWORK_LEARNING_RATE.default})
    steps: int = NETWORK_STEPS.default
    hidden: int = HIDDEN.default
    seed: int = SEED.default

    def resolved_settings(self) -> dict[str, float]:
        # One place checks optimizer settings: the scalar trainer's config.
        return TrainingConfig(optimizer=self.optimizer, settings=self.settings).resolved_settings()

    def surrogate_entry(self) -> Surrogate:
        return surrogate_entry(self.surrogate, self.backward)

    def validate(self) -> None:
        require_choice(DATASETS, self.dataset, "data set")
        if self.surrogate != REAL_VALUED:
            self.surrogate_entry().resolve_scale(self.scale)
        self.resolved_settings()
        NETWORK_STEPS.check(self.steps)
        if HIDDEN.on_grid(self.hidden) is None:
            raise ValueError(f"hidden units must be one of {', '.join(map(str, HIDDEN.options))}, got {self.hidden!r}")
        SEED.check(self.seed)


@dataclass(frozen=True)
class NetworkHistory:
    config: NetworkConfig
    step: np.ndarray
    loss: np.ndarray  # mean binary cross-entropy before each update
    accuracy: np.ndarray  # training accuracy before each update
    first_layer_grad: np.ndarray  # norm of dL/dW1: what reached the first layer through two activations
    boundary: np.ndarray  # P(class 1) on GRID × GRID (rows follow y) after the last step
    snapshot_steps: np.ndarray  # steps after which the loop pictured the boundary (see _snapshot_steps)
    snapshots: np.ndarray  # P(class 1) on SNAPSHOT_GRID² after each of snapshot_steps, float32
    stopped: str | None = None

    def __len__(self) -> int:
        return len(self.step)

    @property
    def final_accuracy(self) -> float:
        return float(self.accuracy[-1]) if len(self.accuracy) else float("nan")


def _structure(config: NetworkConfig) -> tuple:
    """What a compiled trainer is built for. The page varies only the learning rate, so every other
    setting is baked in as a Python float: then a Keras script with the same settings reproduces the
    page exactly (see TunableOptimizer)."""
    baked = tuple((name, value) for name, value in config.resolved_settings().items() if name != "learning_rate")
    return config.hidden, config.surrogate, config.backward, config.optimizer, baked


def xla_compiled(config: NetworkConfig) -> bool:
    """Whether ``config`` trains in an XLA program (see the module docstring); its Keras script
    then compiles its step with XLA as well, since the two must agree bit for bit."""
    return _structure(config) == _structure(NetworkConfig())


class _NetworkTrainer:
    def __init__(self, hidden: int, surrogate: str, backward: str | None, optimizer: str,
                 baked: tuple[tuple[str, float], ...], xla: bool):
        self.scale = tf.Variable(1.0, name="scale")
        activation = (tf.tanh if surrogate == REAL_VALUED else
                      surrogate_step("sign", surrogate_entry(surrogate, backward), self.scale))
        self.model = build_model(hidden, activation)
        self.optimizer = TunableOptimizer(optimizer, baked, self.model.trainable_variables)
        self.xla = xla
        scalar, index = tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32)
        weights = [tf.TensorSpec(w.shape, tf.float32) for w in self.model.trainable_variables]
        self.run = tf.function(self._run, jit_compile=xla, input_signature=[
            weights, scalar, scalar, tf.TensorSpec([POINTS, 2], tf.float32), tf.TensorSpec([POINTS], tf.float32),
            tf.TensorSpec([NETWORK_STEPS.high], tf.bool), index, index])
        # A function of its own: read after the loop in the same program, the weights made XLA's
        # loop ~20% slower (measured), more than this second call costs.
        self.boundary = tf.function(self._boundary, jit_compile=xla, input_signature=[])
        compiled.trace_once(self.run)
        compiled.trace_once(self.boundary)

    def chunk(self, inputs: Sequence[object], start: int, count: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Steps start … start + count − 1 of the run whose ``inputs`` are (initial weights, scale,
        learning rate, points, labels, snapshot mask): their records, and the boundary pictured after
        each of these steps the mask marks, in order. Start 0 begins the run from those weights and a
        fresh optimizer."""
        columns, snapshots = self.run(*inputs, tf.constant(start), tf.constant(count))
        taken = int(np.count_nonzero(inputs[-1].numpy()[start:start + count]))
        return ({name: column.numpy()[:count] for name, column in columns.items()},
                snapshots.numpy()[:taken].reshape(taken, len(SNAPSHOT_GRID), len(SNAPSHOT_GRID)))

    def _run(self, weights: list[tf.Tensor], scale: tf.Tensor, learning_rate: tf.Tensor, points: tf.Tensor,
             labels: tf.Tensor, snapshot_after: tf.Tensor, start: tf.Tensor,
             count: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        count_trace()
        variables = self.model.trainable_variables
        if start == 0:
            for variable, initial in zip(variables, weights):
                variable.assign(initial)
            self.scale.assign(scale)
            self.optimizer.reset({"learning_rate": learning_rate})
        records = step_records(["loss", "accuracy", "first_layer_grad"], count, NETWORK_STEPS.high, self.xla)
        # A fixed size, which XLA compiles once; slots left unwritten are zeros.
        snapshots = tf.TensorArray(tf.float32, size=SNAPSHOTS - 1, element_shape=[len(_SNAPSHOT_POINTS)])
        taken = tf.constant(0)
        i = tf.constant(0)
        while i < count:
            with tf.GradientTape() as tape:
                logits = self.model(points, training=True)[:, 0]
                loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))
            grads = tape.gradient(loss, variables)
            self.optimizer.keras.apply_gradients(zip(grads, variables))
            values = {"loss": loss, "first_layer_grad": tf.norm(grads[0]),
                      "accuracy": tf.reduce_mean(tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), labels), tf.float32))}
            records = {name: array.write(i, values[name]) for name, array in records.items()}
            if snapshot_after[start + i]:
                snapshots = snapshots.write(taken, self._probability(_SNAPSHOT_POINTS))
                taken += 1
            i += 1
        return {name: array.stack() for name, array in records.items()}, snapshots.stack()

    def _boundary(self) -> tf.Tensor:
        return self._probability(_GRID_POINTS)

    def _probability(self, grid_points: np.ndarray) -> tf.Tensor:
        """P(class 1) at each of ``grid_points``, by the model as it is now."""
        return tf.sigmoid(self.model(tf.constant(grid_points))[:, 0])


def _plane(grid: np.ndarray) -> np.ndarray:
    """The points of grid × grid, row by row (rows follow y), as the model takes them."""
    return np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2).astype(np.float32)


_GRID_POINTS, _SNAPSHOT_POINTS = _plane(GRID), _plane(SNAPSHOT_GRID)
_POOL: TrainerPool[_NetworkTrainer] = TrainerPool(partial(_NetworkTrainer, xla=False), max_idle=MAX_IDLE_NETWORKS)
# For the one XLA structure: it keeps both trainers it may build, since XLA programs are never freed.
_XLA_POOL: TrainerPool[_NetworkTrainer] = TrainerPool(partial(_NetworkTrainer, xla=True), max_idle=2, per_key=2)


def _snapshot_steps(steps: int) -> list[int]:
    """The steps of a ``steps``-step run after which the loop pictures the boundary: evenly spaced,
    the last one before the final step (whose boundary is drawn on GRID after the loop)."""
    return playback_steps(steps, SNAPSHOTS)[:-1]


def _inputs(config: NetworkConfig) -> tuple:
    """What a run of ``config`` is fed: (initial weights, scale, learning rate, points, labels,
    snapshot mask: whether to picture the boundary after each step, by index from 0)."""
    scale = 1.0 if config.surrogate == REAL_VALUED else config.surrogate_entry().resolve_scale(config.scale)
    snapshot_after = np.zeros(NETWORK_STEPS.high, bool)
    snapshot_after[np.array(_snapshot_steps(config.steps), int) - 1] = True
    return ([tf.constant(w) for w in initial_weights(config.hidden, config.seed)], tf.constant(scale, tf.float32),
            tf.constant(config.resolved_settings()["learning_rate"], tf.float32),
            *(tf.constant(a) for a in make_dataset(config.dataset, config.seed)), tf.constant(snapshot_after))


def train_network(config: NetworkConfig) -> NetworkHistory:
    """The whole run, in one call of the compiled loop. Training stops at the first step where a
    recorded value is inf or NaN, keeping the history before it, and says so in ``stopped``."""
    config.validate()
    inputs = _inputs(config)
    with (_XLA_POOL if xla_compiled(config) else _POOL).borrow(_structure(config)) as trainer:
        records, snapshots = trainer.chunk(inputs, 0, config.steps)
        boundary = trainer.boundary().numpy().reshape(len(GRID), len(GRID))
    # run_in_chunks' check for inf and NaN, on the one chunk there is.
    columns, stopped = next(run_in_chunks(lambda start, count: records, config.steps, config.steps))
    return NetworkHistory(config, np.arange(len(columns["loss"])), columns["loss"], columns["accuracy"],
                          columns["first_layer_grad"], boundary.astype(np.float64),
                          np.array(_snapshot_steps(config.steps), np.int32), snapshots, stopped)
