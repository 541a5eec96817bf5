"""Your own custom gradient, checked: a typed forward f and backward g (the local derivative the
backward function multiplies the upstream gradient by), compared over a range of x with f's
exact derivative (sympy), TF autodiff of f and central finite differences, and the verdict said
in words: right, wrong (and how), or a surrogate on purpose."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from gradlib.expressions import Formula
from gradlib.settings import Setting

# The page's controls. The defaults are the notebook's foo: f(x) = x**2, backward 2x, at x = 2.
FORWARD_TEXT, BACKWARD_TEXT = "x**2", "2*x"
SURROGATE_TEXT = "sigmoid(x)*(1 - sigmoid(x))"  # a typed surrogate's default: the notebook's
CUSTOM_X = Setting("x", "x", 2.0, -3.0, 3.0, 0.05)
RANGE_LOW = Setting("lo", "from x =", -3.0, -50.0, 50.0, 0.5)
RANGE_HIGH = Setting("hi", "to x =", 3.0, -50.0, 50.0, 0.5)
POINTS = 601
AGREE = 1e-6  # relative error below which g agrees with f' (all of it is computed in float64)


@dataclass(frozen=True)
class BackwardCheck:
    """f, g and f' three ways on a grid, in float64, with where g disagrees with f'."""

    x: np.ndarray
    forward: np.ndarray  # f(x)
    backward: np.ndarray  # g(x), yours
    exact: np.ndarray  # f'(x), from sympy's derivative of f
    autodiff: np.ndarray  # TF autodiff of f
    finite_difference: np.ndarray  # central differences of f
    rel_error: np.ndarray  # |g − f'| / |f'| (absolute where f' is 0); NaN where either is not finite
    wrong: np.ndarray  # rel_error > AGREE
    verdict: str  # "right", "wrong" or "surrogate"
    summary: str  # the verdict in one sentence

    @property
    def worst(self) -> tuple[float, float] | None:
        """(largest relative error, the x where it is), or None if there is nothing to compare."""
        if not np.any(np.isfinite(self.rel_error)):
            return None
        index = int(np.nanargmax(self.rel_error))
        return float(self.rel_error[index]), float(self.x[index])


def _tape(forward: Formula, x: tf.Tensor) -> np.ndarray:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = forward(x)
    return tape.gradient(y, x, unconnected_gradients=tf.UnconnectedGradients.ZERO).numpy()  # f may be constant


def check_backward(forward: Formula, backward: Formula, low: float, high: float) -> BackwardCheck:
    """Compare ``backward`` with the derivative of ``forward`` on POINTS x from ``low`` to ``high``."""
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"the range must go from a smaller to a larger number, got {low:g} to {high:g}")
    xs = np.linspace(low, high, POINTS)
    x = tf.constant(xs, tf.float64)
    step = 6e-6 * np.maximum(1.0, np.abs(xs))  # as gradlib.chain: balances truncation and round-off
    with np.errstate(all="ignore"):
        values = {name: formula(x).numpy() for name, formula in
                  (("forward", forward), ("backward", backward), ("exact", forward.derivative()))}
        difference = (forward(tf.constant(xs + step)).numpy() - forward(tf.constant(xs - step)).numpy()) / (2 * step)
        finite = np.isfinite(values["backward"]) & np.isfinite(values["exact"])
        error = np.abs(values["backward"] - values["exact"])
        rel_error = np.where(finite, np.where(values["exact"] != 0, error / np.abs(values["exact"]), error), np.nan)
    wrong = rel_error > AGREE
    verdict, summary = _verdict(xs, values["backward"], values["exact"], rel_error, wrong)
    return BackwardCheck(xs, values["forward"], values["backward"], values["exact"], _tape(forward, x), difference,
                         rel_error, wrong, verdict, summary)


def _verdict(xs: np.ndarray, backward: np.ndarray, exact: np.ndarray, rel_error: np.ndarray,
             wrong: np.ndarray) -> tuple[str, str]:
    compared = np.isfinite(rel_error)
    if not compared.any():
        return "wrong", "Neither your backward nor f′ is finite anywhere on this range."
    worst = int(np.nanargmax(rel_error))
    gaps = ("" if compared.all() else
            f" (g or f′ is inf or NaN at {np.count_nonzero(~compared)} of {xs.size} points, not compared)")
    where = f"largest relative error {rel_error[worst]:.3g} at x = {xs[worst]:.4g}{gaps}"
    if not wrong.any():
        closeness = "exactly" if rel_error[worst] == 0 else f"to {rel_error[worst]:.1g} relative at worst"
        return "right", f"Your backward agrees with the exact derivative {closeness}{gaps}."
    flat = compared & (exact == 0)
    if flat.mean() >= 0.9 and np.any(backward[flat] != 0):
        return "surrogate", ("f is flat almost everywhere (a step: f′ = 0 wherever it is defined), so g is not its "
                             "derivative but a stand-in for it: a surrogate gradient, on purpose.")
    both = compared & (exact != 0) & (backward != 0)
    ratios = backward[both] / exact[both]
    if wrong[both].all() and ratios.size and np.ptp(ratios) <= AGREE * np.abs(ratios).max():
        return "wrong", f"Your backward is wrong by a factor {np.median(ratios):.6g} everywhere."
    share = wrong[compared].mean()
    if share <= 0.1:
        centre = float(np.median(xs[wrong]))
        return "wrong", (f"Your backward agrees except near x = {centre:.3g} ({share:.0%} of the range); {where}.")
    return "wrong", f"Your backward differs from the exact derivative on {share:.0%} of the range; {where}."
