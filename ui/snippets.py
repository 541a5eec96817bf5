"""'Code for this view': self-contained TensorFlow scripts generated from a page's settings.

Each prints the numbers the page shows, defines its custom gradient inline (no gradlib needed,
so it runs in any notebook), and is executed by the tests against gradlib's own results."""

from __future__ import annotations

from typing import Sequence

from gradlib import BIVARIATE, ELEMENTARY, OPTIMIZERS, STEPS, SURROGATES, fixes
from gradlib.elementary import Elementary
from gradlib.surrogates import Surrogate, surrogate_entry
from gradlib.networks import REAL_VALUED, NetworkConfig, xla_compiled
from gradlib.training import TrainingConfig


def chain_code(fn: str | Elementary, x: float, depth: int, dtype: str) -> str:
    """``fn`` is a registry id or an entry of one's own (typed formulas: see Elementary.from_formulas)."""
    entry = ELEMENTARY[fn] if isinstance(fn, str) else fn
    uses_math = "math." in entry.forward_code + entry.local_grad_code  # pi and e are written math.pi, math.e
    return f'''{"import math" + chr(10) + chr(10) if uses_math else ""}import tensorflow as tf


@tf.custom_gradient
def f(x):
    y = {entry.forward_code}  # f(x) = {entry.latex}
    print(f"x={{x.numpy():.6g}}\ty={{y.numpy():.6g}}")

    def grad(upstream):
        local_grad = {entry.local_grad_code}  # {entry.derivative_latex}
        downstream = upstream * local_grad
        print(f"x={{x.numpy():.6g}}\\tupstream={{upstream.numpy():.6g}}\\t"
              f"current={{local_grad.numpy():.6g}}\\tdownstream={{downstream.numpy():.6g}}")
        return downstream

    return y, grad


x = tf.constant({x!r}, dtype=tf.{dtype})
with tf.GradientTape() as tape:
    tape.watch(x)
    y = x
    for _ in range({depth}):  # y = f(f(...f(x))), {depth} times
        y = f(y)
dy_dx = tape.gradient(y, x)  # runs the backward functions, last stage first
print(f"\\nfinal y={{y.numpy():.9g}}")
print(f"final dy/dx={{dy_dx.numpy():.9g}}")
'''


def multivar_code(fn: str, x: float, y: float, unconnected: str) -> str:
    entry = BIVARIATE[fn]
    mode = "ZERO" if unconnected == "zero" else "NONE"
    return f'''import tensorflow as tf


@tf.custom_gradient
def f(x, y):
    z = {entry.forward_code}

    def grad(upstream):
        dz_dx = {entry.partials_code[0]}
        dz_dy = {entry.partials_code[1]}
        return upstream * dz_dx, upstream * dz_dy  # one gradient per input

    return z, grad


x = tf.constant({x!r})
y = tf.constant({y!r})
w = tf.constant(1.0)  # watched, but never used to compute z
with tf.GradientTape(persistent=True) as tape:
    tape.watch([x, y, w])
    z = f(x, y)
mode = tf.UnconnectedGradients.{mode}
dz_dx, dz_dy, dz_dw = tape.gradient(z, [x, y, w], unconnected_gradients=mode)
print(f"z={{z.numpy():.9g}}")
print(f"dz/dx={{dz_dx.numpy():.9g}}")
print(f"dz/dy={{dz_dy.numpy():.9g}}")
print("dz/dw=", None if dz_dw is None else dz_dw.numpy())
print("dx/dy=", tape.gradient(x, y, unconnected_gradients=mode))
'''


def _surrogate_function(surrogate: str | Surrogate, parameter: float | None) -> str:
    entry = SURROGATES[surrogate] if isinstance(surrogate, str) else surrogate
    signature = "x" if parameter is None else f"x, k={parameter!r}"
    return f'''def {entry.id}_grad({signature}):
    """{entry.name}: {entry.reference}"""
    return {entry.derivative_code}
'''


def surrogate_code(forward: str, surrogates: Sequence[tuple[str, float | None]], x: float) -> str:
    """``surrogates`` pairs each id with its parameter (None for the families without one)."""
    functions = "\n\n".join(_surrogate_function(s, p) for s, p in surrogates)
    table = ", ".join(f'("{s}", {s}_grad)' for s, _ in surrogates)
    return f'''import math

import tensorflow as tf


def surrogate_step(derivative):
    """{forward} in the forward pass, ``derivative`` in the backward pass."""
    @tf.custom_gradient
    def step(x):
        def grad(upstream):
            return upstream * derivative(x)
        return {STEPS[forward].forward_code}, grad
    return step


{functions}

x = tf.constant({x!r})
for name, derivative in [{table}]:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = surrogate_step(derivative)(x)
    print(f"{{name}}: y={{y.numpy():.9g}} dy/dx={{tape.gradient(y, x).numpy():.9g}}")
'''


def _surrogate_parameter(entry: Surrogate, scale: float | None) -> float | None:
    """The value the surrogate will use (its default when ``scale`` is None), or None if it has none."""
    return None if entry.scale is None else entry.resolve_scale(scale)


def _optimizer_call(optimizer: str, settings: dict[str, float]) -> str:
    """``keras.optimizers.Adam(learning_rate=0.1, ...)`` with every setting spelled out."""
    spec = OPTIMIZERS[optimizer]
    arguments = ", ".join(f"{name}={value!r}" for name, value in {**spec.fixed, **settings}.items())
    return f"keras.optimizers.{spec.keras_class.__name__}({arguments})"


def training_code(config: TrainingConfig) -> str:
    entry = config.surrogate_entry()
    parameter = _surrogate_parameter(entry, config.scale)
    call = f"{config.surrogate}_grad(x)"
    return f'''import math

import keras
import tensorflow as tf


{_surrogate_function(entry, parameter)}

@tf.custom_gradient
def step(x):
    def grad(upstream):
        return upstream * {call}
    return {STEPS[config.forward].forward_code}, grad


x = tf.Variable({config.x0!r})
optimizer = {_optimizer_call(config.optimizer, config.resolved_settings())}


@tf.function
def train_step():
    with tf.GradientTape() as tape:
        y = step(x)
        loss = tf.nn.l2_loss(y - {config.target!r})
    grad = tape.gradient(loss, x)
    optimizer.apply_gradients([(grad, x)])
    return loss, y, grad


print("step loss grad x y")
for i in range({config.steps}):
    loss, y, grad = train_step()
    if i % 10 == 0 or i == {config.steps - 1}:
        print(i, f"{{loss.numpy():.9g}} {{grad.numpy():.9g}} {{x.numpy():.9g}} {{y.numpy():.9g}}")
'''


def network_code(config: NetworkConfig) -> str:
    """A Keras script: the same model, data, initial weights and optimizer, trained full-batch."""
    if config.surrogate == REAL_VALUED:
        activation = '"tanh"  # the real-valued reference network'
    elif config.backward is not None:
        activation = (f'surrogate_step("sign", surrogate_entry("custom", {config.backward!r}))  # sign forward, '
                      'your g backward')
    else:
        scale = _surrogate_parameter(surrogate_entry(config.surrogate), config.scale)
        activation = f'surrogate_step("sign", "{config.surrogate}", {scale!r})  # sign forward, surrogate backward'
    # XLA rounds differently from TensorFlow's kernels: the step compiles as the page's run did.
    compile_step = ("@tf.function(jit_compile=True)  # XLA, as the page compiles this network"
                    if xla_compiled(config) else "@tf.function")
    return f'''import keras
import tensorflow as tf

from gradlib import {"surrogate_entry, " if config.backward is not None else ""}surrogate_step
from gradlib.networks import initial_weights, make_dataset

points, labels = make_dataset("{config.dataset}", seed={config.seed})
activation = {activation}
model = keras.Sequential([
    keras.Input((2,)),
    keras.layers.Dense({config.hidden}, activation=activation),
    keras.layers.Dense({config.hidden}, activation=activation),
    keras.layers.Dense(1),  # logits
])
model.set_weights(initial_weights({config.hidden}, seed={config.seed}))
optimizer = {_optimizer_call(config.optimizer, config.resolved_settings())}


{compile_step}
def train_step():  # one full-batch step
    with tf.GradientTape() as tape:
        logits = model(points, training=True)[:, 0]
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss, tf.reduce_mean(tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), labels), tf.float32))


for step in range({config.steps}):
    loss, accuracy = train_step()
print(f"final loss={{loss.numpy():.6g}} accuracy={{accuracy.numpy():.4g}}")
'''


def log1pexp_code(x: float) -> str:
    return f'''import tensorflow as tf


@tf.custom_gradient
def log1pexp(x):
    """log(1 + e^x) with nothing that overflows or cancels, forward or backward."""
    def grad(upstream):
        return upstream * {fixes.STABLE_BACKWARD.code}  # e^x / (1 + e^x), computed stably

    return {fixes.STABLE_FORWARD.code}, grad


@tf.custom_gradient
def docs_log1pexp(x):
    """The version in TensorFlow's tf.custom_gradient documentation."""
    def grad(upstream):
        return upstream * ({fixes.DOCS_BACKWARD.code})  # no NaN for large x, but cancels for x < 0

    return {fixes.NAIVE_FORWARD.code}, grad


x = tf.constant({x!r})
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    stable = log1pexp(x)
    docs = docs_log1pexp(x)
    naive = {fixes.NAIVE_FORWARD.code}  # no custom gradient: plain autodiff
print(f"y={{stable.numpy():.9g}}")
print(f"stable dy/dx={{tape.gradient(stable, x).numpy():.9g}}")
print(f"docs dy/dx={{tape.gradient(docs, x).numpy():.9g}}")
print(f"autodiff dy/dx={{tape.gradient(naive, x).numpy():.9g}}")
'''


_FIX_SOURCES = {
    "clip": ('''def fix(x, clip={parameter!r}):
    """Identity forward; the gradient clipped to [-clip, clip] backward."""
    @tf.custom_gradient
    def clip_gradient(x):
        return tf.identity(x), lambda upstream: tf.clip_by_value(upstream, -clip, clip)
    return clip_gradient(x)''', "(fixed(x) - 3.0) ** 4 / 4"),
    "reverse": ('''def fix(x, strength={parameter!r}):
    """Identity forward; the gradient times -strength backward (gradient reversal)."""
    @tf.custom_gradient
    def reverse_gradient(x):
        return tf.identity(x), lambda upstream: -strength * upstream
    return reverse_gradient(x)''', "(fixed(x) - 1.0) ** 2 / 2"),
}


def descent_code(demo: str, x0: float, parameter: float, learning_rate: float, steps: int) -> str:
    fix_source, loss = _FIX_SOURCES[demo]
    return f'''import tensorflow as tf


{fix_source.format(parameter=parameter)}


def descend(fixed):
    x = tf.constant({x0!r})
    for _ in range({steps}):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = {loss}
        x = x - {learning_rate!r} * tape.gradient(loss, x)
    return x


print(f"with the fix: x={{descend(fix).numpy():.6g}}")
print(f"without it:   x={{descend(tf.identity).numpy():.6g}}")
'''
