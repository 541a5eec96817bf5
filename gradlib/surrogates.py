"""Surrogate gradients: a step function in the forward pass, a smooth stand-in for its
derivative in the backward pass, so that a loss through the step can be trained.

One registry of forward steps and one of backward surrogates; their ids are used everywhere
(URLs, generated code, tests). Adding a surrogate is adding one ``Surrogate`` entry.

Sign convention: ``sign`` is always ±1 and maps 0 to −1, as the notebook does (Larq maps 0 to +1).
``heaviside`` is (sign + 1) / 2, so H(0) = 0, as in snnTorch and Norse."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
import sympy
import tensorflow as tf

from gradlib.core import Tensor, elementwise_custom_gradient, parameter_as, require_choice, require_finite
from gradlib.core import require_in_range
from gradlib.expressions import Formula, formula, to_sympy
from gradlib.settings import Setting


@dataclass(frozen=True)
class Step:
    id: str
    latex: str
    jump: float  # size of the jump at 0: the area a normalised surrogate should have
    forward: Callable[[Tensor], Tensor]
    forward_code: str  # the same as TF source, in x, for the code panels


STEPS: dict[str, Step] = {
    step.id: step
    for step in [
        Step("sign", r"\operatorname{sign}(x) = \begin{cases} 1 & x > 0 \\ -1 & x \le 0 \end{cases}", 2.0,
             lambda x: tf.where(x > 0, tf.ones_like(x), -tf.ones_like(x)),
             "tf.where(x > 0, tf.ones_like(x), -tf.ones_like(x))"),
        Step("heaviside", r"H(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}", 1.0,
             lambda x: tf.where(x > 0, tf.ones_like(x), tf.zeros_like(x)),
             "tf.where(x > 0, tf.ones_like(x), tf.zeros_like(x))"),
    ]
}


# One slider for every family: the parameter as a multiple of its published default.
MULTIPLIER = Setting("scale", "Scale (× the surrogate's published default)", 1.0, 0.1, 10.0, 0.1)
SURROGATE_X = Setting("x", "x", 3.0, -3.0, 3.0, 0.05)  # 3: the notebook's differentiable_sign(3.0)


@dataclass(frozen=True)
class Scale:
    symbol: str  # as written in the formula, e.g. "k" or "β" (KaTeX takes the Greek letters as they are)
    default: float
    low: float
    high: float
    meaning: str


@dataclass(frozen=True)
class Surrogate:
    """One surrogate family, written once as formulas (gradlib.expressions) in x and k, its scale:
    the backward g and its primitive P (P′ = g), from which come the TF ops, LaTeX and code text."""

    id: str
    name: str
    reference: str
    scale: Scale | None  # None: the family has no parameter
    derivative: Formula  # g(x, k), what multiplies the upstream gradient
    primitive: Formula | None  # P(x, k), differentiable by TF autodiff; None for your own g

    def _latex(self, formula: Formula) -> str:
        # k is written with the family's own symbol (sympy prints "beta" as \beta, and orders it before x).
        name = self.scale.symbol if self.scale else "k"
        symbol = sympy.Symbol({"α": "alpha", "β": "beta", "γ": "gamma"}.get(name, name), positive=True)
        return sympy.latex(to_sympy(formula.tree).subs(sympy.Symbol("k", positive=True), symbol))

    @cached_property
    def derivative_latex(self) -> str:
        return self._latex(self.derivative)

    @cached_property
    def primitive_latex(self) -> str:
        return "" if self.primitive is None else self._latex(self.primitive)

    @property
    def derivative_code(self) -> str:
        return self.derivative.code

    def resolve_scale(self, scale: float | None) -> float:
        """The default when ``scale`` is None; otherwise ``scale``, checked against the range."""
        if self.scale is None:
            if scale is not None:
                raise ValueError(f"surrogate {self.id!r} has no scale parameter; leave scale unset")
            return 1.0
        if scale is None:
            return self.scale.default
        return require_in_range(scale, self.scale.low, self.scale.high, f"{self.id} scale {self.scale.symbol}")

    def scaled(self, multiplier: float) -> float | None:
        """The parameter at ``multiplier`` times the published default (None if there is none).
        Every family's range holds its default × 0.1 … 10, so one multiplier serves them all."""
        MULTIPLIER.check(multiplier)
        return None if self.scale is None else self.resolve_scale(self.scale.default * multiplier)


def _surrogate(id: str, name: str, derivative: str, primitive: str, reference: str, scale: Scale | None) -> Surrogate:
    return Surrogate(id, name, reference, scale, formula(derivative, ("x", "k")), formula(primitive, ("x", "k")))


SURROGATES: dict[str, Surrogate] = {
    entry.id: entry
    for entry in [
        # σ(kx)(1 − σ(kx)) written as σ(kx)σ(−kx): the same value, without cancellation for large kx.
        _surrogate("sigmoid", "Sigmoid derivative (the notebook's)", "k*sigmoid(k*x)*sigmoid(-k*x)", "sigmoid(k*x)",
                   "The notebook (k = 1); snnTorch `sigmoid` (k = 25) and SpikingJelly `Sigmoid` (α = 4) are the "
                   "same formula with other defaults. Area 1: the jump of a Heaviside step, half that of sign",
                   Scale("k", 1.0, 0.1, 50.0, "steepness; k = 1 is the notebook")),
        _surrogate("ste", "Straight-through estimator", "1", "x",
                   "Bengio, Léonard & Courville 2013, arXiv:1308.3432; unbounded area (it is not a smoothed step)",
                   None),
        # 1 − relu(sign(|x| − c)) is 1 for |x| ≤ c, boundary included (as Larq), and 0 outside.
        _surrogate("clipped_ste", "Clipped straight-through (Larq ste_sign)", "1 - relu(sign(abs(x) - k))",
                   "k*hardtanh(x/k)",
                   "Hubara, Courbariaux et al. 2016 (BNN), arXiv:1602.02830; Larq `ste_sign` (c = 1, |x| = c "
                   "passes). Area 2c: normalised for sign at c = 1",
                   Scale("c", 1.0, 0.1, 10.0, "clip threshold")),
        _surrogate("approx_sign", "ApproxSign (Bi-Real Net)", "2*relu(1 - abs(x))",
                   "2*hardtanh(x) - hardtanh(x)*abs(hardtanh(x))",
                   "Liu et al. 2018 (Bi-Real Net), arXiv:1808.00278; Larq `approx_sign`. Area 2, the jump of sign",
                   None),
        _surrogate("swish_sign", "SwishSign (BNN+)", "k*(2 - k*x*tanh(k*x/2))/(1 + cosh(k*x))",
                   "2*sigmoid(k*x)*(1 + k*x*(1 - sigmoid(k*x))) - 1",
                   "Darabi et al. 2018 (BNN+), arXiv:1812.11800; Larq `swish_sign` (β = 5). Area 2, the jump of "
                   "sign; negative for |βx| > 2.4",
                   Scale("β", 5.0, 0.5, 50.0, "sharpness")),
        _surrogate("fast_sigmoid", "Fast sigmoid (SuperSpike)", "1/(1 + k*abs(x))**2", "x/(1 + k*abs(x))",
                   "Zenke & Ganguli 2018 (SuperSpike), Neural Computation 30(6); snnTorch `fast_sigmoid` (k = 25; "
                   "Norse `super_fn` uses 100). Area 2/k: not normalised",
                   Scale("k", 25.0, 0.5, 250.0, "slope; the area is 2/k")),
        _surrogate("atan", "Arctangent", "(k/2)/(1 + (pi/2*k*x)**2)", "atan(pi/2*k*x)/pi + 1/2",
                   "Fang et al. 2021, ICCV; snnTorch `ATan` / SpikingJelly `ATan` (α = 2). Area 1, the jump of a "
                   "Heaviside step",
                   Scale("α", 2.0, 0.1, 20.0, "sharpness; the area is always 1")),
        _surrogate("triangle", "Triangle (piecewise linear)", "k*relu(1 - abs(x))",
                   "k*(hardtanh(x) - hardtanh(x)*abs(hardtanh(x))/2)",
                   "Esser et al. 2016, PNAS (γ = 1); Bellec et al. 2018 and Norse `triangle_fn` use γ = 0.3. "
                   "Area γ: normalised for a Heaviside step at γ = 1",
                   Scale("γ", 1.0, 0.1, 10.0, "height; the area is γ")),
        _surrogate("gaussian", "Gaussian", "exp(-x**2/(2*k**2))/(k*sqrt(2*pi))", "(1 + erf(x/(k*sqrt(2))))/2",
                   "SpikingJelly `Erf`, backward (α/√π)·exp(−α²x²) with its default α = 2 (peak 2/√π ≈ 1.128, area "
                   "1, the jump of a Heaviside step), written with s = 1/(α√2): the default s = 1/(2√2) ≈ 0.3536",
                   Scale("s", 1 / (2 * math.sqrt(2)), 0.02, 5.0, "width (standard deviation); the area is 1")),
        # 1/cosh² is 1 − tanh² without its cancellation for large |kx|; cosh overflowing gives 0.
        _surrogate("tanh", "Tanh derivative", "1/cosh(k*x)**2", "tanh(k*x)/k",
                   "Norse `heavi_tanh_fn` (`HeaviTanh`), k = 100, the default `alpha` of Norse's neuron parameters. "
                   "No factor k, so it is not area-normalised: the area is 2/k",
                   Scale("k", 100.0, 1.0, 1000.0, "steepness; the area is 2/k")),
        _surrogate("zero", "Zero (the true derivative of a step)", "0", "0",
                   "What tf.sign's own gradient gives: the true derivative, 0 for x ≠ 0 (undefined at the jump), "
                   "so nothing learns",
                   None),
    ]
}


CUSTOM = "custom"  # in place of a registry id: your own backward formula g(x)


def surrogate_entry(surrogate: str, backward: str | None = None) -> Surrogate:
    """The registry's surrogate ``surrogate``, or for CUSTOM one made of your formula ``backward``
    (g in x, no scale parameter). Each formula's text is part of what a compiled trainer is for."""
    if surrogate != CUSTOM:
        if backward is not None:
            raise ValueError(f"a backward formula goes with surrogate {CUSTOM!r} only")
        return require_choice(SURROGATES, surrogate, "surrogate")
    if backward is None:
        raise ValueError(f"surrogate {CUSTOM!r} needs its backward formula g(x)")
    return Surrogate(CUSTOM, "Your backward g", "your own formula", None, formula(backward), None)


def surrogate_step(forward: str = "sign", surrogate: str | Surrogate = "sigmoid",
                   scale: float | Tensor | None = None) -> Callable[[Tensor], Tensor]:
    """An elementwise op: the ``forward`` step, with the ``surrogate`` derivative as its gradient.

    ``scale`` is the surrogate's parameter (its default when None). It may also be a tensor or
    ``tf.Variable``, read each time the backward pass runs, so a compiled training loop can
    change it without retracing. The op is a valid Keras activation:
    ``keras.layers.Dense(8, activation=surrogate_step("sign", "atan"))``."""
    step = require_choice(STEPS, forward, "forward step")
    entry = surrogate if isinstance(surrogate, Surrogate) else require_choice(SURROGATES, surrogate, "surrogate")
    if not isinstance(scale, (tf.Tensor, tf.Variable)):
        scale = entry.resolve_scale(scale)
    op = elementwise_custom_gradient(step.forward, lambda x, y: entry.derivative(x, parameter_as(scale, x.dtype)))
    op.__name__ = f"{forward}_{entry.id}"  # Keras names activations after the callable
    return op


def step_derivative(forward: str, x: float) -> float | None:
    """The true derivative of the ``forward`` step at x: 0 away from the jump, None at x = 0,
    where a jump has no derivative (what the surrogate stands in for)."""
    require_choice(STEPS, forward, "forward step")
    return None if require_finite(x, "x") == 0 else 0.0


# The notebook's differentiable_sign: sign(x) forward, σ(x)(1 − σ(x)) backward.
differentiable_sign = surrogate_step("sign", "sigmoid", 1.0)


@dataclass(frozen=True)
class SurrogateProfile:
    peak: float  # the largest value of g
    area: float  # ∫g = P(+∞) − P(−∞); inf for the unclipped straight-through estimator


def surrogate_profile(surrogate: str, scale: float | None = None) -> SurrogateProfile:
    """Peak and area of a surrogate: its area, compared with the step's jump, says how strongly it
    scales gradients, which matters more for learning than its shape (Zenke & Vogels 2021)."""
    entry = require_choice(SURROGATES, surrogate, "surrogate")
    k = tf.constant(entry.resolve_scale(scale), tf.float64)
    xs = tf.constant(np.linspace(-10.0, 10.0, 40001), tf.float64)  # fine enough for the narrowest peak
    peak = float(tf.reduce_max(entry.derivative(xs, k)))
    far = tf.constant([-1e100, 1e100], tf.float64)  # TF's float64 erf gives NaN near 1e300
    ends = entry.primitive(far, k).numpy()
    area = float(ends[1] - ends[0])
    # Only a primitive that grows without bound (the plain STE, P = x) gets near 1e100.
    return SurrogateProfile(peak, math.inf if area > 1e99 else area)
