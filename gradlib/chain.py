"""The chain rule, made visible: compose one elementary function ``depth`` times, let the
custom backward functions record what they receive and pass on, and check the result four ways."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from gradlib.core import Tensor, require_choice, require_dtype, require_finite
from gradlib.elementary import ELEMENTARY, Elementary
from gradlib.settings import Setting

MAX_DEPTH = 12
MAX_CURVE_POINTS = 2001
# The dashboard's controls; the defaults are the notebook's foo(foo(foo(2))).
CHAIN_X = Setting("x", "x", 2.0, -3.0, 3.0, 0.05)
DEPTH = Setting("depth", "Composition depth n", 3, 1, MAX_DEPTH, 1)


def backward_stages(depth: int) -> Setting:
    """How many backward stages to show, from 0 (the forward pass only) to all of them (the default)."""
    return Setting("reveal", "Backward stages shown: step through the backward pass", depth, 0, depth, 1)


@dataclass(frozen=True)
class ForwardStage:
    stage: int  # 1 is applied first, to x
    input: float
    output: float


@dataclass(frozen=True)
class BackwardStage:
    """One call of a custom backward function: downstream = local_grad * upstream."""

    stage: int
    input: float
    upstream: float
    local_grad: float
    downstream: float


@dataclass(frozen=True)
class ChainTrace:
    fn: str
    x: float
    depth: int
    dtype: str
    forward: list[ForwardStage]
    backward: list[BackwardStage]  # in the order TF calls them: last stage first
    y: float
    dydx: float


@dataclass(frozen=True)
class GradientEstimate:
    method: str  # "custom", "autodiff", "finite_difference", "closed_form"
    label: str
    value: float
    rel_error: float  # against the closed form; absolute error where the closed form is 0


@dataclass(frozen=True)
class ChainCheck:
    trace: ChainTrace  # the custom-gradient run the first estimate comes from
    estimates: list[GradientEstimate]
    problem: str | None  # a sentence when something is inf or NaN, else None

    def value(self, method: str) -> float:
        return next(e.value for e in self.estimates if e.method == method)


Function = str | Elementary  # a registry id, or an entry of one's own (e.g. from typed formulas)


def _entry(fn: Function) -> Elementary:
    return fn if isinstance(fn, Elementary) else require_choice(ELEMENTARY, fn, "function")


def _validate(fn: Function, x: float, depth: int, dtype: str) -> tuple[Elementary, float, tf.DType]:
    entry = _entry(fn)
    x = require_finite(x, "x")
    DEPTH.check(depth)
    return entry, x, require_dtype(dtype)


def compose(fn: Callable[[Tensor], Tensor], depth: int) -> Callable[[Tensor], Tensor]:
    """x -> fn(fn(...fn(x))) with ``depth`` applications."""

    def composed(x: Tensor) -> Tensor:
        for _ in range(depth):
            x = fn(x)
        return x

    return composed


def trace_chain(fn: Function, x: float, depth: int, dtype: str = "float32") -> ChainTrace:
    """Run y = f∘…∘f(x) forward and backward, recording every stage.

    The backward records come from the custom backward functions themselves (an observer is
    called with what each one receives and returns), so the trace is what TF actually did."""
    entry, x, tf_dtype = _validate(fn, x, depth, dtype)
    backward: list[BackwardStage] = []

    def observe(stage_input, upstream, local_grad, downstream) -> None:
        backward.append(BackwardStage(
            stage=depth - len(backward),  # TF calls the last stage first
            input=float(stage_input), upstream=float(upstream),
            local_grad=float(local_grad), downstream=float(downstream),
        ))

    op = entry.op(observer=observe)
    forward: list[ForwardStage] = []
    x_tensor = tf.constant(x, dtype=tf_dtype)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        value = x_tensor
        for stage in range(1, depth + 1):
            output = op(value)
            forward.append(ForwardStage(stage, float(value), float(output)))
            value = output
    dydx = tape.gradient(value, x_tensor)
    return ChainTrace(entry.id, x, depth, dtype, forward, backward, float(value), float(dydx))


def _rel_error(value: float, reference: float) -> float:
    if not (np.isfinite(value) and np.isfinite(reference)):
        return float("nan")
    error = abs(value - reference)
    return error / abs(reference) if reference != 0 else error


def closed_form_derivative(fn: Function, x: float, depth: int) -> float:
    """dy/dx = prod_i f'(x_i) in float64 NumPy, from the analytic derivative of each stage."""
    entry = _entry(fn)
    inputs = [np.float64(x)]  # x_n = x, then each stage's output is the next one's input
    with np.errstate(all="ignore"):
        for _ in range(depth - 1):
            inputs.append(entry.forward_np(inputs[-1]))
        return float(np.prod(entry.derivative_np(np.array(inputs))))  # f' at every stage input at once


def _autodiff_derivative(entry: Elementary, x: float, depth: int, dtype: tf.DType) -> float:
    x_tensor = tf.constant(x, dtype=dtype)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        y = compose(entry.forward, depth)(x_tensor)
    # A constant f (say a typed "16") does not depend on x at all: its derivative is 0, not None.
    return float(tape.gradient(y, x_tensor, unconnected_gradients=tf.UnconnectedGradients.ZERO))


def _finite_difference(entry: Elementary, x: float, depth: int) -> float:
    # A step near eps**(1/3) balances truncation and round-off error for central differences.
    step = 6e-6 * max(1.0, abs(x))
    upper, lower = compose(entry.forward, depth)(tf.constant([x + step, x - step], tf.float64)).numpy()
    with np.errstate(invalid="ignore"):  # inf - inf is NaN: reported by check_chain, not warned about
        return float((upper - lower) / (2 * step))  # both points in one pass: the ops are elementwise


def describe_problem(trace: ChainTrace) -> str | None:
    """Say in words where a chain first stops being finite, or None if it never does."""
    limit = f"{trace.dtype}'s largest value is {np.finfo(trace.dtype).max:.3g}"
    remedy = "Switch to float64 for more range." if trace.dtype == "float32" else "Lower the depth or |x|."
    for stage in trace.forward:
        if not np.isfinite(stage.output):
            what = "is NaN" if np.isnan(stage.output) else f"overflows ({limit})"
            return f"Forward stage {stage.stage}: f({stage.input:.6g}) {what}. {remedy}"
    for stage in trace.backward:
        if not np.isfinite(stage.downstream):
            return (f"Backward stage {stage.stage}: the gradient {stage.upstream:.6g} × {stage.local_grad:.6g} "
                    f"overflows ({limit}) although y itself is finite. {remedy}")
    return None


def check_chain(fn: Function, x: float, depth: int, dtype: str = "float32") -> ChainCheck:
    """dy/dx four ways: custom gradients and TF autodiff (in ``dtype``), central finite
    differences and the closed form (float64). Inf and NaN are reported, never raised."""
    entry, x, tf_dtype = _validate(fn, x, depth, dtype)
    trace = trace_chain(fn, x, depth, dtype)
    reference = closed_form_derivative(fn, x, depth)
    values = [
        ("custom", f"custom gradients ({dtype})", trace.dydx),
        ("autodiff", f"TF autodiff, no custom gradient ({dtype})", _autodiff_derivative(entry, x, depth, tf_dtype)),
        ("finite_difference", "central finite difference (float64)", _finite_difference(entry, x, depth)),
        ("closed_form", "closed form (float64)", reference),
    ]
    estimates = [GradientEstimate(m, label, v, _rel_error(v, reference)) for m, label, v in values]
    problem = describe_problem(trace)
    if problem is None and not np.isfinite(reference):
        problem = "The exact dy/dx overflows even float64; only the sign of the trend is meaningful here."
    return ChainCheck(trace, estimates, problem)


def chain_curve(fn: Function, depth: int, xs: np.ndarray, dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """y(x) and dy/dx(x) over many x at once: the ops are elementwise, so one tape does it."""
    entry = _entry(fn)
    DEPTH.check(depth)
    tf_dtype = require_dtype(dtype)
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 1 or not 1 <= xs.size <= MAX_CURVE_POINTS:
        raise ValueError(f"xs must be a 1-D array of 1 to {MAX_CURVE_POINTS} points")
    if not np.all(np.isfinite(xs)):
        raise ValueError("xs must be finite")
    x_tensor = tf.constant(xs, dtype=tf_dtype)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        y = compose(entry.op(), depth)(x_tensor)
    return y.numpy().astype(np.float64), tape.gradient(y, x_tensor).numpy().astype(np.float64)
