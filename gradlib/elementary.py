"""Elementary functions for chains: each one a real ``tf.custom_gradient`` op whose backward
pass multiplies the upstream gradient by the closed-form derivative.

Every entry also carries NumPy versions of the function and its derivative. They are the
independent "closed form" the custom gradients are checked against (see ``chain.check_chain``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from gradlib.core import BackwardObserver, Tensor, elementwise_custom_gradient
from gradlib.expressions import Formula


# The NumPy forms are the reference values, so each avoids cancellation: with e = e^−|x| ≤ 1 the
# sigmoid neither overflows nor subtracts, σ(x)(1 − σ(x)) is σ(x)·σ(−x), 1 − tanh² x is 1/cosh² x.
def _sigmoid_np(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@dataclass(frozen=True)
class Elementary:
    id: str
    latex: str  # f(x)
    derivative_latex: str  # f'(x)
    forward: Callable[[Tensor], Tensor]  # plain TF ops: TF's own autodiff differentiates these
    local_grad: Callable[[Tensor, Tensor], Tensor]  # (x, y=f(x)) -> f'(x), the custom backward
    forward_np: Callable[[np.ndarray], np.ndarray]
    derivative_np: Callable[[np.ndarray], np.ndarray]
    # The same two as TF source, for the dashboard's self-contained code panels (tests run them).
    forward_code: str  # in x
    local_grad_code: str  # in x and y

    def op(self, observer: BackwardObserver | None = None) -> Callable[[Tensor], Tensor]:
        """The custom-gradient op; ``observer`` sees every backward call (used for traces)."""
        return elementwise_custom_gradient(self.forward, self.local_grad, observer)

    @classmethod
    def from_formulas(cls, forward: Formula, backward: Formula) -> "Elementary":
        """A chain function of one's own: ``forward`` f and ``backward`` g typed as formulas in x.
        Its closed form is f's exact derivative (sympy), which g may differ from on purpose."""
        exact = forward.derivative()

        def in_float64(formula: Formula) -> Callable[[np.ndarray], np.ndarray]:
            return lambda x: formula(tf.constant(x, tf.float64)).numpy()

        return cls("custom", forward.latex, backward.latex, forward, lambda x, y: backward(x),
                   in_float64(forward), in_float64(exact), forward.code, backward.code)


ELEMENTARY: dict[str, Elementary] = {
    entry.id: entry
    for entry in [
        Elementary("square", "x^2", "2x",
                   tf.square, lambda x, y: 2 * x,
                   np.square, lambda x: 2 * x,
                   "tf.square(x)", "2 * x"),
        Elementary("cube", "x^3", "3x^2",
                   lambda x: x ** 3, lambda x, y: 3 * tf.square(x),
                   lambda x: x ** 3, lambda x: 3 * x ** 2,
                   "x ** 3", "3 * tf.square(x)"),
        Elementary("sin", r"\sin x", r"\cos x",
                   tf.sin, lambda x, y: tf.cos(x),
                   np.sin, np.cos,
                   "tf.sin(x)", "tf.cos(x)"),
        Elementary("exp", "e^x", "e^x",
                   tf.exp, lambda x, y: y,
                   np.exp, np.exp,
                   "tf.exp(x)", "y"),
        Elementary("tanh", r"\tanh x", r"1 - \tanh^2 x",
                   tf.tanh, lambda x, y: 1 - tf.square(y),
                   np.tanh, lambda x: 1 / np.cosh(x) ** 2,
                   "tf.tanh(x)", "1 - tf.square(y)"),
        Elementary("sigmoid", r"\sigma(x) = \frac{1}{1 + e^{-x}}", r"\sigma(x)\,(1 - \sigma(x))",
                   tf.sigmoid, lambda x, y: y * (1 - y),
                   _sigmoid_np, lambda x: _sigmoid_np(x) * _sigmoid_np(-x),
                   "tf.sigmoid(x)", "y * (1 - y)"),
        Elementary("softplus", r"\log(1 + e^x)", r"\sigma(x)",
                   tf.math.softplus, lambda x, y: tf.sigmoid(x),
                   lambda x: np.logaddexp(0.0, x), _sigmoid_np,
                   "tf.math.softplus(x)", "tf.sigmoid(x)"),
    ]
}

square = ELEMENTARY["square"].op()  # the notebook's foo
cube = ELEMENTARY["cube"].op()
sin = ELEMENTARY["sin"].op()
exp = ELEMENTARY["exp"].op()
tanh = ELEMENTARY["tanh"].op()
sigmoid = ELEMENTARY["sigmoid"].op()
softplus = ELEMENTARY["softplus"].op()
