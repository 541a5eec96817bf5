"""Functions of two variables: the custom backward returns one gradient per input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from gradlib.core import Tensor, binary_custom_gradient, require_choice, require_finite, require_int_in_range
from gradlib.settings import Setting

MAX_GRID_POINTS = 201  # per axis
# Where the point (x, y) can be put on the dashboard; the defaults are the notebook's bar(2, 3).
POINT_X = Setting("x", "x", 2.0, -3.0, 3.0, 0.05)
POINT_Y = Setting("y", "y", 3.0, -3.0, 3.0, 0.05)


@dataclass(frozen=True)
class Bivariate:
    id: str
    latex: str  # z = f(x, y)
    dz_dx_latex: str
    dz_dy_latex: str
    forward: Callable[[Tensor, Tensor], Tensor]
    partials: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]  # (x, y, z) -> (dz/dx, dz/dy)
    # TF source of the same, for the dashboard's code panels (tests run them).
    forward_code: str  # in x, y
    partials_code: tuple[str, str]  # in x, y, z

    def op(self) -> Callable[[Tensor, Tensor], Tensor]:
        return binary_custom_gradient(self.forward, self.partials)


BIVARIATE: dict[str, Bivariate] = {
    entry.id: entry
    for entry in [
        Bivariate("multiply", "x\\,y", "y", "x",
                  tf.multiply, lambda x, y, z: (y, x),
                  "x * y", ("y", "x")),
        Bivariate("divide", r"\frac{x}{y}", r"\frac{1}{y}", r"-\frac{x}{y^2}",
                  tf.divide, lambda x, y, z: (1 / y, -x / tf.square(y)),
                  "x / y", ("1 / y", "-x / tf.square(y)")),
        # At the origin the gradient of the distance is undefined; divide_no_nan reports 0 there.
        Bivariate("hypot", r"\sqrt{x^2 + y^2}", r"\frac{x}{z}", r"\frac{y}{z}",
                  lambda x, y: tf.sqrt(tf.square(x) + tf.square(y)),
                  lambda x, y, z: (tf.math.divide_no_nan(x, z), tf.math.divide_no_nan(y, z)),
                  "tf.sqrt(tf.square(x) + tf.square(y))", ("tf.math.divide_no_nan(x, z)", "tf.math.divide_no_nan(y, z)")),
    ]
}

multiply = BIVARIATE["multiply"].op()  # the notebook's bar
divide = BIVARIATE["divide"].op()
hypot = BIVARIATE["hypot"].op()


@dataclass(frozen=True)
class PartialDerivatives:
    fn: str
    x: float
    y: float
    z: float
    dz_dx: float
    dz_dy: float
    dz_dw: float | None  # w is watched but never used: None, or 0.0 when asked for zeros
    dx_dy: float | None  # the notebook's tape.gradient(x, y): x does not depend on y
    unconnected: str  # "none" or "zero"


def partial_derivatives(fn: str, x: float, y: float, unconnected: str = "none") -> PartialDerivatives:
    """z = f(x, y) and its gradients through the custom backward; ``unconnected`` is passed to
    ``tape.gradient`` as ``tf.UnconnectedGradients`` ("none" gives None, "zero" gives 0)."""
    entry = require_choice(BIVARIATE, fn, "function")
    mode = require_choice({"none": tf.UnconnectedGradients.NONE, "zero": tf.UnconnectedGradients.ZERO},
                          unconnected, "unconnected-gradients mode")
    x_t = tf.constant(require_finite(x, "x"), tf.float32)
    y_t = tf.constant(require_finite(y, "y"), tf.float32)
    w_t = tf.constant(1.0, tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x_t, y_t, w_t])
        z = entry.op()(x_t, y_t)
    dz_dx, dz_dy, dz_dw = tape.gradient(z, [x_t, y_t, w_t], unconnected_gradients=mode)
    dx_dy = tape.gradient(x_t, y_t, unconnected_gradients=mode)

    def number(value):
        return None if value is None else float(value)

    return PartialDerivatives(fn, float(x_t), float(y_t), float(z), float(dz_dx), float(dz_dy),
                              number(dz_dw), number(dx_dy), unconnected)


def gradient_field(fn: str, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z, dz/dx and dz/dy on the grid ys × xs (rows follow y), all from one backward pass."""
    entry = require_choice(BIVARIATE, fn, "function")
    for name, axis in (("xs", xs), ("ys", ys)):
        axis = np.asarray(axis)
        require_int_in_range(axis.size, 2, MAX_GRID_POINTS, f"number of {name} points")
        if axis.ndim != 1 or not np.all(np.isfinite(axis)):
            raise ValueError(f"{name} must be a 1-D array of finite numbers")
    grid_x, grid_y = (tf.constant(a, tf.float32) for a in np.meshgrid(xs, ys))
    with tf.GradientTape() as tape:
        tape.watch([grid_x, grid_y])
        z = entry.op()(grid_x, grid_y)
    dz_dx, dz_dy = tape.gradient(z, [grid_x, grid_y])
    return z.numpy(), dz_dx.numpy(), dz_dy.numpy()
