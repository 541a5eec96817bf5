"""Training through a surrogate gradient: the notebook's problem, loss = l2_loss(step(x) − target)
for one scalar ``tf.Variable``, with any optimizer from a registry of Keras 3 optimizers.

Speed: the loop is XLA-compiled (``jit_compile=True``), a tensor ``while`` loop that records into
fixed buffers of MAX_STEPS steps, so the number of steps is an argument and XLA compiles once:
``for i in tf.range(steps)`` would recompile for every new ``steps`` (0.1–0.35 s each). Everything
else is fed in at run time too, x0, target, scale, every optimizer setting, and even the forward
step and the surrogate, so one program per optimizer serves every registry combination.

Memory: TensorFlow never frees an XLA program (gradlib.compiled), so there are at most ten, one
per optimizer (~8 MB each), kept for the life of the process. A typed formula (surrogate="custom")
would be a program of its own, one more for every formula a visitor types: it runs the same loop
as a plain TensorFlow graph instead, whose memory is given back when its trainer is dropped.

Isolation: compiled trainers are kept in process-wide pools and lent to one caller at a time.
A run starts, inside the compiled function, by resetting all of the trainer's variables (x, the
optimizer's slots and its iteration count), so nothing carries over from one caller to the next."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Generic, Iterator, Mapping, TypeVar

import keras
import numpy as np
import tensorflow as tf

from gradlib import compiled
from gradlib.core import elementwise_custom_gradient, require_choice, require_finite, require_int_in_range
from gradlib.settings import GridSetting, Setting, one_two_five
from gradlib.surrogates import CUSTOM, STEPS, SURROGATES, Surrogate, surrogate_entry

MAX_STEPS = 5000
MAX_IDLE_TRAINERS = 32  # typed-formula trainers kept for reuse; each holds one small graph (~0.5 MB)
MAX_PLAY_FRAMES = 150  # a playback redraws at most this many frames, however long the run


@dataclass(frozen=True)
class OptimizerSpec:
    id: str
    name: str
    keras_class: Callable[..., keras.optimizers.Optimizer]
    settings: tuple[Setting | GridSetting, ...]  # the learning rate first
    reference: str
    fixed: Mapping[str, object] = field(default_factory=dict)


# Learning rates matter by order of magnitude: 1-2-5 steps per decade from 1e-4 to 10.
LEARNING_RATE = GridSetting("learning_rate", "Learning rate", 0.1, one_two_five(-4, 1))
BETA_1 = Setting("beta_1", "β₁ (first-moment decay)", 0.9, 0.0, 0.999, 0.001)
BETA_2 = Setting("beta_2", "β₂ (second-moment decay)", 0.999, 0.0, 0.9999, 0.0001)
# Its range excludes 0 on purpose: Keras tests `momentum != 0` in Python (see TunableOptimizer).
MOMENTUM = Setting("momentum", "momentum", 0.9, 0.05, 0.99, 0.001)

OPTIMIZERS: dict[str, OptimizerSpec] = {
    spec.id: spec
    for spec in [
        OptimizerSpec("sgd", "SGD", keras.optimizers.SGD, (LEARNING_RATE,),
                      "Robbins & Monro 1951"),
        OptimizerSpec("momentum", "SGD with momentum", keras.optimizers.SGD, (LEARNING_RATE, MOMENTUM),
                      "Polyak 1964"),
        OptimizerSpec("nesterov", "Nesterov momentum", keras.optimizers.SGD, (LEARNING_RATE, MOMENTUM),
                      "Nesterov 1983; Sutskever et al. 2013", fixed={"nesterov": True}),
        OptimizerSpec("adam", "Adam", keras.optimizers.Adam, (LEARNING_RATE, BETA_1, BETA_2),
                      "Kingma & Ba 2014, arXiv:1412.6980"),
        OptimizerSpec("adamw", "AdamW", keras.optimizers.AdamW,
                      (LEARNING_RATE, Setting("weight_decay", "weight decay", 0.004, 0.0, 0.5, 0.001), BETA_1, BETA_2),
                      "Loshchilov & Hutter 2017, arXiv:1711.05101"),
        OptimizerSpec("rmsprop", "RMSprop", keras.optimizers.RMSprop,
                      (LEARNING_RATE, Setting("rho", "ρ (squared-gradient decay)", 0.9, 0.0, 0.999, 0.001)),
                      "Hinton, Coursera lecture 6e, 2012"),
        OptimizerSpec("adagrad", "Adagrad", keras.optimizers.Adagrad, (LEARNING_RATE,),
                      "Duchi, Hazan & Singer 2011, JMLR 12"),
        OptimizerSpec("adamax", "Adamax", keras.optimizers.Adamax, (LEARNING_RATE, BETA_1, BETA_2),
                      "Kingma & Ba 2014, arXiv:1412.6980, section 7"),
        OptimizerSpec("nadam", "Nadam", keras.optimizers.Nadam, (LEARNING_RATE, BETA_1, BETA_2),
                      "Dozat 2016, ICLR workshop"),
        OptimizerSpec("lion", "Lion", keras.optimizers.Lion,
                      (LEARNING_RATE, BETA_1, Setting("beta_2", "β₂ (second-moment decay)", 0.99, 0.0, 0.9999, 0.0001)),
                      "Chen et al. 2023, arXiv:2302.06675"),
    ]
}


X0 = Setting("x0", "Starting x0", -1.0, -3.0, 3.0, 0.05)
TARGET = Setting("target", "Target for sign(x)", 1.0, -2.0, 2.0, 0.1)
TRAINING_STEPS = Setting("steps", "Steps", 100, 1, MAX_STEPS, 1)


@dataclass(frozen=True)
class TrainingConfig:
    """The notebook's defaults: x0 = −1, target 1, sign with the sigmoid surrogate, Adam(0.1)."""

    forward: str = "sign"
    surrogate: str = "sigmoid"  # a registry id, or "custom" with your formula in ``backward``
    scale: float | None = None  # None: the surrogate's default
    backward: str | None = None  # your backward formula g(x), for surrogate="custom"
    optimizer: str = "adam"
    settings: Mapping[str, float] = field(default_factory=dict)  # unset ones take their defaults
    x0: float = X0.default
    target: float = TARGET.default
    steps: int = TRAINING_STEPS.default

    def resolved_settings(self) -> dict[str, float]:
        """Every setting of the optimizer, checked, with defaults filled in."""
        spec = require_choice(OPTIMIZERS, self.optimizer, "optimizer")
        unknown = set(self.settings) - {s.name for s in spec.settings}
        if unknown:
            raise ValueError(f"{spec.name} has no setting {', '.join(sorted(unknown))}; "
                             f"it takes: {', '.join(s.name for s in spec.settings)}")
        return {s.name: s.check(self.settings.get(s.name, s.default)) for s in spec.settings}

    def surrogate_entry(self) -> Surrogate:
        return surrogate_entry(self.surrogate, self.backward)

    def validate(self) -> None:
        require_choice(STEPS, self.forward, "forward step")
        self.surrogate_entry().resolve_scale(self.scale)
        self.resolved_settings()
        require_finite(self.x0, "x0")
        require_finite(self.target, "target")
        TRAINING_STEPS.check(self.steps)


@dataclass(frozen=True)
class TrainingHistory:
    """Per step (0-based, as the notebook prints): x after the update, and y, loss and gradient
    computed before it; ``state`` holds the optimizer's own variables after the update."""

    config: TrainingConfig
    step: np.ndarray
    x: np.ndarray
    y: np.ndarray
    loss: np.ndarray
    grad: np.ndarray
    state: dict[str, np.ndarray]
    stopped: str | None = None  # why training ended before config.steps, in words

    def columns(self) -> dict[str, np.ndarray]:
        return {"step": self.step, "x": self.x, "y": self.y, "loss": self.loss, "grad": self.grad, **self.state}

    def __len__(self) -> int:
        return len(self.step)


_traces = 0  # how many times a training loop was traced in this process


def trace_count() -> int:
    """Traces of the compiled training loops so far; each costs ~0.2 s, so this should only grow
    when a new structure (an optimizer, a typed formula, a network) is first used."""
    return _traces


class _NonzeroKnob:
    """A setting Keras tests in Python, as SGD does with ``if self.momentum != 0``, but reads as a
    tensor in its update: the test gets True (the setting's range excludes 0), the update reads
    the variable, so a new value needs no new trace."""

    def __init__(self, variable: tf.Variable):
        self.variable = variable

    def __ne__(self, other: object) -> bool:
        return True

    def __tf_tensor__(self, dtype: tf.DType | None = None, name: str | None = None) -> tf.Tensor:
        return tf.convert_to_tensor(self.variable.value(), dtype=dtype, name=name)


class TunableOptimizer:
    """A Keras optimizer from the registry, built for ``variables``, and resettable to its initial
    state. Settings in ``baked`` are passed to Keras as Python floats, as a user's script would;
    the other settings are variables, so new values need no retrace. (Keras computes 1 − β in
    float64 for a float but in float32 for a variable: the two differ in the last bit.)"""

    def __init__(self, optimizer: str, baked: tuple[tuple[str, float], ...], variables: list[tf.Variable]):
        spec = OPTIMIZERS[optimizer]
        # Settings whose range excludes 0 are built nonzero, so Keras makes their slots (momentum).
        built_with = {s.name: s.default for s in spec.settings if s.name != "learning_rate" and s.low > 0}
        self.keras = spec.keras_class(**spec.fixed, **{**built_with, **dict(baked)})
        self.keras.build(variables)
        self._knobs = {s.name: tf.Variable(s.default, name=s.name) for s in spec.settings
                       if s.name not in dict(baked) and s.name != "learning_rate"}
        for name, knob in self._knobs.items():
            # Keras reads these as values in its update ops.
            setattr(self.keras, name, _NonzeroKnob(knob) if name in built_with else knob)
        self._initial_state = [v.numpy() for v in self.keras.variables]

    def reset(self, settings: Mapping[str, float | tf.Tensor]) -> None:
        """Slots and step count back to their initial values; settings from ``settings``. Called
        from inside a compiled loop, with tensors, so that a run starts without an eager op."""
        for variable, initial in zip(self.keras.variables, self._initial_state):
            variable.assign(initial)
        self.keras.learning_rate = settings["learning_rate"]
        for name, knob in self._knobs.items():
            knob.assign(settings[name])


T = TypeVar("T")


class TrainerPool(Generic[T]):
    """Compiled trainers kept for reuse and lent to one caller at a time. A trainer is keyed by
    what its trace depends on; the caller resets it before use, so nothing carries over.

    At most ``per_key`` trainers are built for one key: a class that all trains at once waits a
    few milliseconds for a free trainer instead of paying ~0.3 s for a new trace each (that was
    14% of the server's CPU under a 30-visitor load). Two fit the two cores, since TF releases
    the GIL while it runs. Memory is bounded too: at most ``max_idle`` idle trainers, and one
    that is dropped gives its memory back (its trace left nothing in TensorFlow's registries,
    and its kernels are cleared from the cache, see gradlib.compiled). An XLA trainer cannot give
    its memory back, so a pool of them has room for every trainer its keys allow."""

    def __init__(self, build: Callable[..., T], max_idle: int = MAX_IDLE_TRAINERS, per_key: int = 2):
        self._build, self._max_idle, self._per_key = build, max_idle, per_key
        self._idle: list[tuple[tuple, T]] = []
        self._built: dict[tuple, int] = {}  # trainers in existence per key, idle or lent
        self._changed = threading.Condition()

    def __len__(self) -> int:
        return len(self._idle)

    def _take_or_reserve(self, key: tuple) -> T | None:
        """An idle trainer for ``key``, or None after reserving the right to build one. With
        ``per_key`` built, it waits for one to come back, however long: every borrower gives back
        (``borrow``'s finally), and one built past the limit (after a 10 s wait, formerly) was an
        XLA program never freed, 3–27 MB each time a class kept the trainers busy."""
        with self._changed:
            while True:
                index = next((i for i in range(len(self._idle) - 1, -1, -1) if self._idle[i][0] == key), None)
                if index is not None:
                    return self._idle.pop(index)[1]
                if self._built.get(key, 0) < self._per_key:
                    self._built[key] = self._built.get(key, 0) + 1
                    return None
                self._changed.wait()

    def _give_back(self, key: tuple, trainer: T | None) -> None:
        with self._changed:
            if trainer is None:  # building it failed
                self._built[key] -= 1
            else:
                self._idle.append((key, trainer))
                evicted = self._idle[:-self._max_idle]
                for evicted_key, _ in evicted:
                    self._built[evicted_key] -= 1
                del self._idle[:-self._max_idle]
                compiled.dropped(len(evicted))
            self._changed.notify_all()

    @contextmanager
    def borrow(self, key: tuple) -> Iterator[T]:
        trainer = self._take_or_reserve(key)
        try:
            if trainer is None:
                trainer = self._build(*key)
            yield trainer
        finally:
            self._give_back(key, trainer)


def count_trace() -> None:
    """Called from inside a function being traced (a Python side effect runs only then)."""
    global _traces
    _traces += 1


def step_records(names: list[str], count: tf.Tensor, max_steps: int, xla: bool) -> dict[str, tf.TensorArray]:
    """One float32 buffer per name for a loop of ``count`` steps. XLA needs a size it can compile
    once, so it gets ``max_steps`` (a size of ``count`` compiled again for every new count,
    0.1–0.35 s); a graph takes ``count`` as it is, and 5000 empty entries would cost it ~1 ms a run."""
    size = max_steps if xla else count
    return {name: tf.TensorArray(tf.float32, size=size, element_shape=[]) for name in names}


class _Trainer:
    """One compiled loop for ``optimizer``, with its own x and optimizer, XLA-compiled or a plain
    graph. The forward step and the surrogate are picked by index at run time, among every
    registry surrogate (``backward`` None) or the one typed formula ``backward``."""

    def __init__(self, optimizer: str, backward: str | None, xla: bool):
        self.x = tf.Variable(0.0, name="x")
        self.optimizer = TunableOptimizer(optimizer, (), [self.x])
        # The optimizer's slots for x, e.g. Adam's "momentum" (m) and "velocity" (v).
        self.state = {v.name.removeprefix("x_0_"): v for v in self.optimizer.keras.variables
                      if v.name.startswith("x_0_")}
        self.surrogates = list(SURROGATES) if backward is None else [CUSTOM]
        self._derivatives = [surrogate_entry(s, backward).derivative for s in self.surrogates]
        scalar = tf.TensorSpec([], tf.float32)
        values = {name: scalar for name in ["x0", "target", "scale", *(s.name for s in OPTIMIZERS[optimizer].settings)]}
        index = tf.TensorSpec([], tf.int32)
        self.xla = xla
        self.run = tf.function(self._run, input_signature=[values, index, index, index, index], jit_compile=xla)
        compiled.trace_once(self.run)

    def chunk(self, config: TrainingConfig, settings: Mapping[str, float], start: int,
              count: int) -> dict[str, np.ndarray]:
        """Steps start … start + count − 1 of the run; start 0 begins it from x0 and a fresh optimizer."""
        values = {"x0": config.x0, "target": config.target,
                  "scale": config.surrogate_entry().resolve_scale(config.scale), **settings}
        columns = self.run({name: tf.constant(value, tf.float32) for name, value in values.items()},
                           tf.constant(list(STEPS).index(config.forward)),
                           tf.constant(self.surrogates.index(config.surrogate)), tf.constant(start), tf.constant(count))
        return {name: column.numpy()[:count] for name, column in columns.items()}

    def _step(self, forward: tf.Tensor, surrogate: tf.Tensor, scale: tf.Tensor) -> Callable[[tf.Tensor], tf.Tensor]:
        """STEPS' forward number ``forward`` with derivative number ``surrogate`` as its gradient.
        The indices are tensors, so a new pair needs no new program; the forward step gets them
        as captured tensors, since tf.custom_gradient refuses a forward that reads a variable."""
        forwards = [step.forward for step in STEPS.values()]
        return elementwise_custom_gradient(
            lambda x: tf.switch_case(forward, [partial(f, x) for f in forwards]),
            lambda x, y: tf.switch_case(surrogate, [partial(g, x, scale) for g in self._derivatives]))

    def _run(self, values: dict[str, tf.Tensor], forward: tf.Tensor, surrogate: tf.Tensor, start: tf.Tensor,
             count: tf.Tensor) -> dict[str, tf.Tensor]:
        count_trace()
        if start == 0:
            self.x.assign(values["x0"])
            self.optimizer.reset(values)
        step = self._step(forward, surrogate, values["scale"])
        names = ["x", "y", "loss", "grad", *self.state]
        records = step_records(names, count, MAX_STEPS, self.xla)
        i = tf.constant(0)
        while i < count:
            with tf.GradientTape() as tape:
                y = step(self.x)
                loss = tf.nn.l2_loss(y - values["target"])
            grad = tape.gradient(loss, self.x)
            self.optimizer.keras.apply_gradients([(grad, self.x)])
            row = {"x": tf.convert_to_tensor(self.x), "y": y, "loss": loss, "grad": grad,
                   **{name: tf.convert_to_tensor(v) for name, v in self.state.items()}}
            records = {name: array.write(i, row[name]) for name, array in records.items()}
            i += 1
        return {name: array.stack() for name, array in records.items()}


# XLA programs are never freed, so their pool keeps every one it builds: one per optimizer, since
# callers of the same optimizer take turns (a run takes milliseconds) rather than build a second.
_XLA_POOL: TrainerPool[_Trainer] = TrainerPool(partial(_Trainer, xla=True), max_idle=len(OPTIMIZERS), per_key=1)
_POOL: TrainerPool[_Trainer] = TrainerPool(partial(_Trainer, xla=False))  # typed formulas


def _first_nonfinite(chunk: Mapping[str, np.ndarray]) -> tuple[int, list[str]] | None:
    bad = {name: ~np.isfinite(values) for name, values in chunk.items()}
    rows = np.flatnonzero(np.any(list(bad.values()), axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), [name for name, mask in bad.items() if mask[rows[0]]]


def run_in_chunks(run_chunk: Callable[[int, int], Mapping[str, np.ndarray]], steps: int,
                  chunk_steps: int) -> Iterator[tuple[dict[str, np.ndarray], str | None]]:
    """Call ``run_chunk(start, count)`` until ``steps`` steps are done, yielding every recorded
    column so far (float64) and, once a value is inf or NaN, a sentence saying where training
    stopped. The history keeps the steps before the first non-finite one."""
    require_int_in_range(chunk_steps, 1, MAX_STEPS, "chunk_steps")
    columns: dict[str, list[np.ndarray]] = {}
    done, stopped = 0, None
    while done < steps and stopped is None:
        chunk = run_chunk(done, min(chunk_steps, steps - done))
        problem = _first_nonfinite(chunk)
        if problem is not None:
            row, names = problem
            chunk = {name: values[:row] for name, values in chunk.items()}
            stopped = (f"Step {done + row}: {', '.join(names)} became inf or NaN, so training stopped "
                       f"there (try a smaller learning rate).")
        for name, values in chunk.items():
            columns.setdefault(name, []).append(values)
        done += len(next(iter(chunk.values())))
        yield {name: np.concatenate(parts).astype(np.float64) for name, parts in columns.items()}, stopped


def train_in_chunks(config: TrainingConfig, chunk_steps: int = 100) -> Iterator[TrainingHistory]:
    """Train, yielding the history so far after every ``chunk_steps`` steps, so a caller can draw
    progress or stop early (close the generator). Training stops at the first step where any
    recorded value is inf or NaN, keeping the history before it, and says so in ``stopped``."""
    config.validate()
    settings = config.resolved_settings()
    pool = _POOL if config.surrogate == CUSTOM else _XLA_POOL
    with pool.borrow((config.optimizer, config.backward)) as trainer:
        run_chunk = partial(trainer.chunk, config, settings)
        for columns, stopped in run_in_chunks(run_chunk, config.steps, chunk_steps):
            yield TrainingHistory(config, np.arange(len(columns["x"])), columns.pop("x"), columns.pop("y"),
                                  columns.pop("loss"), columns.pop("grad"), columns, stopped)


def train(config: TrainingConfig) -> TrainingHistory:
    """The whole run at once (see ``train_in_chunks``)."""
    history = None
    for history in train_in_chunks(config, chunk_steps=config.steps):
        pass
    return history


def playback_steps(length: int, frames: int = MAX_PLAY_FRAMES) -> list[int]:
    """The history lengths to draw when a run of ``length`` steps is played back: every step for
    a short run, evenly spaced ones for a long run, never more than MAX_PLAY_FRAMES."""
    require_int_in_range(length, 1, MAX_STEPS, "length")
    require_int_in_range(frames, 1, MAX_PLAY_FRAMES, "frames")
    return np.unique(np.linspace(1, length, min(length, frames)).astype(int)).tolist()
