"""Three jobs custom gradients are used for in practice, each a real ``tf.custom_gradient``.

- ``log1pexp``: numerical stability. log(1 + e^x) differentiated by autodiff is e^x · 1/(1 + e^x):
  0 · e^x = 0 once 1/(1 + e^x) underflows, then inf · 0 = NaN once e^x overflows (x ≳ 88.7 in
  float32). TensorFlow's ``tf.custom_gradient`` documentation fixes that with 1 − 1/(1 + e^x)
  (``docs_log1pexp``), which cancels for x < 0 instead; ``log1pexp`` is accurate for every x.
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

from gradlib.core import Tensor, as_float_tensor, elementwise_custom_gradient, parameter_as, require_choice
from gradlib.core import require_dtype, require_finite
from gradlib.elementary import ELEMENTARY
from gradlib.expressions import custom_gradient, formula
from gradlib.settings import GridSetting, Setting, one_two_five

MAX_DEMO_STEPS = 200
# The dashboard's controls. x = 100 is the tf.custom_gradient documentation's example.
LOG1PEXP_X = Setting("x", "x", 100.0, -100.0, 120.0, 0.5)
DESCENT_X0 = Setting("x", "Starting x", -2.0, -5.0, 5.0, 0.1)
DESCENT_LEARNING_RATE = Setting("lr", "Learning rate", 0.1, 0.01, 1.0, 0.01)
DESCENT_STEPS = Setting("steps", "Steps", 50, 1, MAX_DEMO_STEPS, 1)


# Each written once as formulas (gradlib.expressions): TF ops, LaTeX and the code panel come from them.
# log(1 + e^x) = max(x, 0) + log(1 + e^−|x|): exp cannot overflow, and log1p keeps e^−|x| ≪ 1 exact.
STABLE_FORWARD, STABLE_BACKWARD = formula("relu(x) + log1p(exp(-abs(x)))"), formula("sigmoid(x)")
# tf.sigmoid is accurate for every x (measured: within 4e-7 relative in float32 on [−100, 100]).
NAIVE_FORWARD = formula("log(1 + exp(x))")
# The TensorFlow documentation's backward, kept as the lesson: 1 − 1/(1 + e^x) is 1 where autodiff
# gives NaN, but for x < 0 it subtracts two numbers close to 1, so its relative error grows like
# ε/e^x (in float32 it is exactly 0 from x ≈ −16.6 down).
DOCS_BACKWARD = formula("1 - 1/(1 + exp(x))")

log1pexp = custom_gradient(STABLE_FORWARD, STABLE_BACKWARD)
docs_log1pexp = custom_gradient(NAIVE_FORWARD, DOCS_BACKWARD)


def naive_log1pexp(x) -> Tensor:
    """The same function with no custom gradient: TF autodiff gives 0, then NaN, for large x."""
    return NAIVE_FORWARD(as_float_tensor(x))


LOG1PEXP_GRADIENTS: dict[str, Callable[[Tensor], Tensor]] = {
    "autodiff": naive_log1pexp, "docs": docs_log1pexp, "stable": log1pexp,
}
WRONG_REL_ERROR = 1e-3  # a gradient further than this from the exact value, or not finite, is wrong
MAX_ABS_X = 700.0  # σ(−700) ≈ 1e−304 is still a float64 number, so every relative error is defined


@dataclass(frozen=True)
class Log1pexpComparison:
    """d/dx log(1 + e^x) on a grid, as the tape gives it in one dtype, against the exact value.
    The thresholds are grid points, measured: where the exact value is below the dtype's smallest
    normal number no method can be right (TF flushes subnormals to 0), so those x are not counted."""

    x: np.ndarray
    dtype: str
    # σ(x) in float64 without cancellation, at x as dtype holds it (rounding x to float32 alone
    # moves σ(x) by up to 4e-6 relative near x = ±70): the reference.
    exact: np.ndarray
    gradients: dict[str, np.ndarray]  # "autodiff", "docs", "stable": the tape's values in dtype
    rel_errors: dict[str, np.ndarray]  # |gradient − exact| / exact; inf where the gradient is not finite
    autodiff_wrong_from: float | None  # first x where autodiff is wrong (0 where it should be 1, then NaN)
    autodiff_nan_from: float | None  # first x where autodiff is NaN
    # The last x where the docs' form is wrong: right at every x above it. Below it, rounding
    # makes it wrong more and more often, and exactly 0 once 1 + e^x rounds to 1.
    docs_wrong_up_to: float | None


def _tape_gradient(op: Callable[[Tensor], Tensor], x: Tensor) -> np.ndarray:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = op(x)
    return tape.gradient(y, x).numpy().astype(np.float64)


def _first(xs: np.ndarray, where: np.ndarray) -> float | None:
    return float(xs[where][0]) if where.any() else None


def _last(xs: np.ndarray, where: np.ndarray) -> float | None:
    return float(xs[where][-1]) if where.any() else None


def compare_log1pexp(xs: np.ndarray, dtype: str = "float32") -> Log1pexpComparison:
    """The gradient of log(1 + e^x) by autodiff, by the docs' custom gradient and by ``log1pexp``
    at every x of an increasing grid, with where autodiff and the docs' form go wrong."""
    tf_dtype = require_dtype(dtype)
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 1 or xs.size == 0 or not np.all(np.abs(xs) <= MAX_ABS_X) or np.any(np.diff(xs) <= 0):
        raise ValueError(f"xs must be an increasing 1-D array of x in [-{MAX_ABS_X:g}, {MAX_ABS_X:g}]")
    x = tf.constant(xs, tf_dtype)
    exact = ELEMENTARY["softplus"].derivative_np(x.numpy().astype(np.float64))  # log(1 + e^x) is softplus
    gradients = {method: _tape_gradient(op, x) for method, op in LOG1PEXP_GRADIENTS.items()}
    with np.errstate(invalid="ignore"):
        rel_errors = {method: np.where(np.isfinite(g), np.abs(g - exact) / exact, np.inf)
                      for method, g in gradients.items()}
    representable = exact >= np.finfo(dtype).tiny
    wrong = {method: representable & ~(rel <= WRONG_REL_ERROR) for method, rel in rel_errors.items()}
    return Log1pexpComparison(
        xs, dtype, exact, gradients, rel_errors,
        autodiff_wrong_from=_first(xs, wrong["autodiff"]),
        autodiff_nan_from=_first(xs, np.isnan(gradients["autodiff"])),
        docs_wrong_up_to=_last(xs, wrong["docs"]),
    )


def clip_gradient(clip: float | Tensor) -> Callable[[Tensor], Tensor]:
    """Identity forward; the upstream gradient clipped elementwise to [−clip, clip] backward."""

    @tf.custom_gradient
    def op(x: Tensor):
        def backward(upstream: Tensor) -> Tensor:
            limit = parameter_as(clip, x.dtype)
            return tf.clip_by_value(upstream, -limit, limit)

        return tf.identity(x), backward

    return lambda x: op(as_float_tensor(x))


def clip_gradient_by_norm(max_norm: float | Tensor) -> Callable[[Tensor], Tensor]:
    """Identity forward; the upstream gradient rescaled so its norm is at most ``max_norm``."""

    @tf.custom_gradient
    def op(x: Tensor):
        return tf.identity(x), lambda upstream: tf.clip_by_norm(upstream, parameter_as(max_norm, x.dtype))

    return lambda x: op(as_float_tensor(x))


def reverse_gradient(strength: float | Tensor) -> Callable[[Tensor], Tensor]:
    """Identity forward; the gradient multiplied by −strength (λ) backward."""
    return elementwise_custom_gradient(tf.identity, lambda x, y: -parameter_as(strength, x.dtype) * tf.ones_like(x))


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
PARAMETERS: dict[str, Setting | GridSetting] = {
    "clip": GridSetting("clip", "Clip value c", 1.0, one_two_five(-2, 2)),  # 0.01 to 100, by magnitude
    "reverse": Setting("strength", "Reversal strength λ", 1.0, 0.0, 10.0, 0.1),
}


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
              tf.constant(DESCENT_LEARNING_RATE.check(learning_rate), tf.float32),
              tf.constant(PARAMETERS[demo].check(parameter), tf.float32),
              tf.constant(DESCENT_STEPS.check(steps)))
    fixed, plain = ({name: t.numpy().astype(np.float64) for name, t in _compiled_descent(demo, with_fix)(*inputs).items()}
                    for with_fix in (True, False))
    return DescentRun(np.arange(steps), fixed["x"], plain["x"], fixed["loss"], plain["loss"], fixed["grad"],
                      plain["grad"])
