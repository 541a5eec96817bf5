"""Three jobs custom gradients are used for in practice, each a real ``tf.custom_gradient``.

- ``log1pexp``: numerical stability. log(1 + e^x) differentiated by autodiff is e^x / (1 + e^x),
  which is inf / inf = NaN once e^x overflows (x ≳ 88.7 in float32); written as 1 − 1/(1 + e^x)
  it is 1 there. The example from TensorFlow's own ``tf.custom_gradient`` documentation.
- ``clip_gradient``: identity forward, gradient clipped to [−c, c] in the backward pass, so one
  steep region cannot throw a parameter far away (elementwise; ``clip_gradient_by_norm`` clips
  the whole gradient's norm instead).
- ``reverse_gradient``: identity forward, gradient times −λ backward: the gradient reversal
  layer of domain-adversarial training (Ganin & Lempitsky 2015, arXiv:1409.7495). What follows
  it learns to minimise the loss; what precedes it learns to maximise it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import tensorflow as tf

from gradlib.core import Tensor, as_float_tensor, elementwise_custom_gradient, require_choice, require_finite
from gradlib.core import require_in_range, require_int_in_range

MAX_DEMO_STEPS = 200


def _naive_log1pexp(x: Tensor) -> Tensor:
    return tf.math.log(1 + tf.exp(x))


# Forward as the naive formula (its value overflows to inf for large x just the same: the point
# here is the gradient), backward in the stable form.
log1pexp = elementwise_custom_gradient(_naive_log1pexp, lambda x, y: 1 - 1 / (1 + tf.exp(x)))


def naive_log1pexp(x) -> Tensor:
    """The same function with no custom gradient: TF autodiff gives NaN for large x."""
    return _naive_log1pexp(as_float_tensor(x))


def clip_gradient(clip: float | Tensor) -> Callable[[Tensor], Tensor]:
    """Identity forward; the upstream gradient clipped elementwise to [−clip, clip] backward."""

    @tf.custom_gradient
    def op(x: Tensor):
        return tf.identity(x), lambda upstream: tf.clip_by_value(upstream, -tf.cast(clip, x.dtype),
                                                                 tf.cast(clip, x.dtype))

    return lambda x: op(as_float_tensor(x))


def clip_gradient_by_norm(max_norm: float | Tensor) -> Callable[[Tensor], Tensor]:
    """Identity forward; the upstream gradient rescaled so its norm is at most ``max_norm``."""

    @tf.custom_gradient
    def op(x: Tensor):
        return tf.identity(x), lambda upstream: tf.clip_by_norm(upstream, tf.cast(max_norm, x.dtype))

    return lambda x: op(as_float_tensor(x))


def reverse_gradient(strength: float | Tensor) -> Callable[[Tensor], Tensor]:
    """Identity forward; the gradient multiplied by −strength (λ) backward."""
    return elementwise_custom_gradient(tf.identity, lambda x, y: -tf.cast(strength, x.dtype) * tf.ones_like(x))


@dataclass(frozen=True)
class DescentRun:
    """Plain gradient descent, x ← x − lr · dL/dx, with and without a fix in the loss."""

    step: np.ndarray
    x_with: np.ndarray
    x_without: np.ndarray
    loss_with: np.ndarray
    loss_without: np.ndarray
    grad_with: np.ndarray  # what the fixed backward pass delivered to x
    grad_without: np.ndarray


# Each demo: a loss of x with the fix applied where ``fixed(x)`` stands, and the fix. Clipping: a
# quartic valley whose wall is steep enough that one raw gradient step overshoots; reversal: a
# plain quadratic bowl, which the reversed gradient climbs out of.
DEMOS: dict[str, tuple[Callable[[Tensor, Callable[[Tensor], Tensor]], Tensor], Callable]] = {
    "clip": (lambda x, fixed: (fixed(x) - 3.0) ** 4 / 4, clip_gradient),
    "reverse": (lambda x, fixed: (fixed(x) - 1.0) ** 2 / 2, reverse_gradient),
}
PARAMETER_RANGES = {"clip": (0.01, 100.0), "reverse": (0.0, 10.0)}


@lru_cache(maxsize=None)
def _compiled_descent(demo: str, with_fix: bool) -> Callable[..., dict[str, Tensor]]:
    """One compiled loop per demo and variant; everything else arrives as tensors, so a new
    x0, learning rate, parameter or length costs no new trace. Pure: no state to share."""
    loss_of, make_fix = DEMOS[demo]

    @tf.function
    def descend(x: Tensor, learning_rate: Tensor, parameter: Tensor, steps: Tensor) -> dict[str, Tensor]:
        fixed = make_fix(parameter) if with_fix else tf.identity
        records = {name: tf.TensorArray(tf.float32, size=steps) for name in ("x", "loss", "grad")}
        for i in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = loss_of(x, fixed)
            grad = tape.gradient(loss, x)
            x = x - learning_rate * grad
            records = {"x": records["x"].write(i, x), "loss": records["loss"].write(i, loss),
                       "grad": records["grad"].write(i, grad)}
        return {name: array.stack() for name, array in records.items()}

    return descend


def descent_demo(demo: str, x0: float, parameter: float, learning_rate: float, steps: int) -> DescentRun:
    """Gradient descent on a demo loss, once through the fix (``parameter`` is the clip value c
    or the reversal strength λ) and once without it, from the same x0."""
    require_choice(DEMOS, demo, "demo")
    inputs = (tf.constant(require_finite(x0, "x0"), tf.float32),
              tf.constant(require_in_range(learning_rate, 1e-4, 1.0, "learning rate"), tf.float32),
              tf.constant(require_in_range(parameter, *PARAMETER_RANGES[demo], f"{demo} parameter"), tf.float32),
              tf.constant(require_int_in_range(steps, 1, MAX_DEMO_STEPS, "steps")))
    fixed, plain = ({name: t.numpy().astype(np.float64) for name, t in _compiled_descent(demo, with_fix)(*inputs).items()}
                    for with_fix in (True, False))
    return DescentRun(np.arange(steps), fixed["x"], plain["x"], fixed["loss"], plain["loss"], fixed["grad"],
                      plain["grad"])
