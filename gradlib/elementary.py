"""Elementary functions for chains: each one a real ``tf.custom_gradient`` op whose backward
pass multiplies the upstream gradient by a local derivative.

Each entry is written once, as two formulas (gradlib.expressions): the forward f in x, and the
backward's local gradient in x and y = f(x) (a backward may reuse the forward's output, as the
sigmoid's y(1 − y) does). The TF ops, the LaTeX and the code-panel text all come from them. The
closed form the custom gradients are checked against is f's exact derivative by sympy, evaluated in
float64: it never reads the typed backward (see ``chain.check_chain``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
import sympy
import tensorflow as tf

from gradlib.core import BackwardObserver, Tensor, elementwise_custom_gradient
from gradlib.expressions import Formula, formula, to_sympy


@dataclass(frozen=True)
class Elementary:
    id: str
    forward: Formula  # f in x: plain TF ops, so TF's own autodiff differentiates it too
    backward: Formula  # the custom backward's local gradient, in x and y = f(x)

    def local_grad(self, x: Tensor, y: Tensor) -> Tensor:
        return self.backward(x, y=y)

    @cached_property
    def latex(self) -> str:
        return self.forward.latex

    @cached_property
    def derivative_latex(self) -> str:
        """The backward with y written out as f(x): what the stage multiplies by."""
        return sympy.latex(to_sympy(self.backward.tree).subs(sympy.Symbol("y", real=True),
                                                              to_sympy(self.forward.tree)))

    @property
    def forward_code(self) -> str:
        return self.forward.code

    @property
    def local_grad_code(self) -> str:
        return self.backward.code

    def forward_np(self, x: np.ndarray) -> np.ndarray:
        return self.forward(tf.constant(x, tf.float64)).numpy()

    def derivative_np(self, x: np.ndarray) -> np.ndarray:
        """f'(x) exactly (sympy), in float64: the reference."""
        return self.forward.derivative()(tf.constant(x, tf.float64)).numpy()

    def op(self, observer: BackwardObserver | None = None) -> Callable[[Tensor], Tensor]:
        """The custom-gradient op; ``observer`` sees every backward call (used for traces)."""
        return elementwise_custom_gradient(self.forward, self.local_grad, observer)

    @classmethod
    def from_formulas(cls, forward: Formula, backward: Formula) -> "Elementary":
        """A chain function of one's own: ``forward`` f and ``backward`` g typed as formulas in x.
        Its closed form is f's exact derivative, which g may differ from on purpose."""
        return cls("custom", forward, backward)


def _entry(id: str, forward: str, backward: str) -> Elementary:
    return Elementary(id, formula(forward), formula(backward, ("x", "y")))


ELEMENTARY: dict[str, Elementary] = {
    entry.id: entry
    for entry in [
        _entry("square", "x**2", "2*x"),  # the notebook's foo
        _entry("cube", "x**3", "3*x**2"),
        _entry("sin", "sin(x)", "cos(x)"),
        _entry("exp", "exp(x)", "y"),
        _entry("tanh", "tanh(x)", "1 - y**2"),
        _entry("sigmoid", "sigmoid(x)", "y*(1 - y)"),
        _entry("softplus", "softplus(x)", "sigmoid(x)"),
    ]
}

square = ELEMENTARY["square"].op()  # the notebook's foo
cube = ELEMENTARY["cube"].op()
sin = ELEMENTARY["sin"].op()
exp = ELEMENTARY["exp"].op()
tanh = ELEMENTARY["tanh"].op()
sigmoid = ELEMENTARY["sigmoid"].op()
softplus = ELEMENTARY["softplus"].op()
