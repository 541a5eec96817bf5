"""gradlib against references that do not come from gradlib: every surrogate against its cited
source's backward formula, log1pexp and the chain rule's closed forms against mpmath, the true
derivative of a step, and fix parameters that must stay float64 values."""

import math

import mpmath as mp
import numpy as np
import pytest
import tensorflow as tf

from gradlib import (ELEMENTARY, SURROGATES, clip_gradient, clip_gradient_by_norm, closed_form_derivative,
                     compare_log1pexp, docs_log1pexp, log1pexp, reverse_gradient, step_derivative, surrogate_profile,
                     surrogate_step)

TINY64 = np.finfo(np.float64).tiny
TINY32 = np.finfo(np.float32).tiny


def _sigma(x):
    return 1 / (1 + mp.exp(-x))


# ---- surrogates: the cited source's backward, as the source writes it -----------------------

# Each at the source's default, written as in the source's code, evaluated in mpmath. 400 digits,
# because some of these formulas cancel (1 - tanh² loses up to 308 digits where the value is
# still a normal float64): the reference has to be the formula's exact value, not its rounding.
SOURCE_BACKWARD = {
    "sigmoid": lambda x: _sigma(x) * (1 - _sigma(x)),  # the notebook, k = 1
    "ste": lambda x: 1,  # Bengio et al. 2013: the identity's derivative
    "clipped_ste": lambda x: 1 if abs(x) <= 1.0 else 0,  # Larq ste_sign, clip_value = 1.0
    "approx_sign": lambda x: (1 - abs(x)) * 2 if abs(x) <= 1.0 else 0,  # Larq approx_sign
    "swish_sign": lambda x: 5 * (2 - 5 * x * mp.tanh(5 * x * 0.5)) / (1 + mp.cosh(5 * x)),  # Larq, beta = 5
    "fast_sigmoid": lambda x: 1 / (25 * abs(x) + 1.0) ** 2,  # snnTorch FastSigmoid, slope = 25
    "atan": lambda x: 2 / 2 / (1 + (mp.pi / 2 * 2 * x) ** 2),  # SpikingJelly atan, alpha = 2
    "triangle": lambda x: 1 * max(0, 1 - abs(x)),  # Esser et al. 2016 (Norse triangle_fn with alpha = 1)
    "gaussian": lambda x: mp.exp(-(x * 2) ** 2) * (2 / mp.sqrt(mp.pi)),  # SpikingJelly erf, alpha = 2
    "tanh": lambda x: 1 - mp.tanh(x * 100) ** 2,  # Norse heavi_tanh_fn, k = 100
    "zero": lambda x: 0,  # the true derivative of a step away from its jump (TF's gradient of tf.sign)
}
# Dense where the narrow ones (tanh, fast_sigmoid) live, wide enough for the tails.
POINTS = np.unique(np.concatenate([np.linspace(-3, 3, 601), np.linspace(-0.3, 0.3, 601),
                                   [-30, -12, -7.5, -5, 5, 7.5, 12, 30]]))


def _surrogate_gradient(surrogate: str, xs: np.ndarray) -> np.ndarray:
    x = tf.constant(xs, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = surrogate_step("sign", surrogate)(x)  # scale=None: the default
    return tape.gradient(y, x).numpy()


def test_every_surrogate_is_covered():
    assert set(SOURCE_BACKWARD) == set(SURROGATES)


@pytest.mark.parametrize("surrogate", sorted(SOURCE_BACKWARD))
def test_backward_is_the_cited_formula_at_the_default(surrogate):
    with mp.workdps(400):
        exact = np.array([float(SOURCE_BACKWARD[surrogate](mp.mpf(x))) for x in POINTS])
    ours = _surrogate_gradient(surrogate, POINTS)
    normal = np.abs(exact) >= TINY64
    np.testing.assert_allclose(ours[normal], exact[normal], rtol=1e-12, atol=0, err_msg=surrogate)
    assert np.all(np.abs(ours[~normal]) <= TINY64), surrogate


def test_default_scales_are_the_sources():
    defaults = {"sigmoid": 1.0, "clipped_ste": 1.0, "swish_sign": 5.0, "fast_sigmoid": 25.0, "atan": 2.0,
                "triangle": 1.0, "gaussian": 1 / (2 * math.sqrt(2)), "tanh": 100.0}  # gaussian: s = 1/(α√2), α = 2
    assert {s: e.scale.default for s, e in SURROGATES.items() if e.scale is not None} == defaults


def test_profiles_are_the_closed_forms():
    # (peak, area) of g at the default scale, from the formulas above integrated by hand.
    expected = {"sigmoid": (1 / 4, 1.0), "ste": (1.0, math.inf), "clipped_ste": (1.0, 2.0),
                "approx_sign": (2.0, 2.0), "swish_sign": (5.0, 2.0), "fast_sigmoid": (1.0, 2 / 25),
                "atan": (2 / 2, 1.0), "triangle": (1.0, 1.0), "gaussian": (2 / math.sqrt(math.pi), 1.0),
                "tanh": (1.0, 2 / 100), "zero": (0.0, 0.0)}
    assert set(expected) == set(SURROGATES)
    for surrogate, (peak, area) in expected.items():
        profile = surrogate_profile(surrogate)
        assert profile.peak == pytest.approx(peak, rel=1e-12, abs=0), surrogate
        assert profile.area == pytest.approx(area, rel=1e-12, abs=0), surrogate


# ---- the true derivative of a step ---------------------------------------------------------

def test_step_derivative_is_zero_off_the_jump_and_undefined_on_it():
    for forward in ("sign", "heaviside"):
        assert step_derivative(forward, 0.0) is None and step_derivative(forward, -0.0) is None
        for x in (-3.0, -1e-300, 1e-300, 0.5):
            # A central difference with a step below |x| never crosses the jump: exactly 0.
            h = abs(x) / 2
            assert step_derivative(forward, x) == (np.sign(x + h) - np.sign(x - h)) / (2 * h) == 0.0
    with pytest.raises(ValueError, match="unknown forward step"):
        step_derivative("step", 1.0)
    with pytest.raises(ValueError, match="must be finite"):
        step_derivative("sign", float("nan"))


# ---- log1pexp against mpmath -------------------------------------------------------------

LOG1PEXP_GRID = np.linspace(-100.0, 100.0, 4001)


def _exact_log1pexp(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + e^x) and its derivative at 50 digits, rounded to float64."""
    with mp.workdps(50):
        return (np.array([float(mp.log1p(mp.exp(mp.mpf(x)))) for x in xs]),
                np.array([float(_sigma(mp.mpf(x))) for x in xs]))


def _value_and_gradient(op, x: tf.Tensor) -> tuple[np.ndarray, np.ndarray]:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = op(x)
    return y.numpy().astype(np.float64), tape.gradient(y, x).numpy().astype(np.float64)


def test_stable_log1pexp_is_accurate_in_float32():
    x = tf.constant(LOG1PEXP_GRID, tf.float32)
    # The exact values at x as float32 holds it: rounding x alone moves σ(x) by up to 4e-6 near ±70.
    exact_y, exact_grad = _exact_log1pexp(x.numpy().astype(np.float64))
    y, grad = _value_and_gradient(log1pexp, x)
    for ours, exact in ((y, exact_y), (grad, exact_grad)):
        normal = exact >= TINY32
        np.testing.assert_allclose(ours[normal], exact[normal], rtol=1e-6, atol=0)
        # Below float32's smallest normal number (x < -87.3) the exact value is subnormal, and TF
        # flushes subnormals to 0 on CPU: the best float32 can give is a number in [0, tiny].
        assert np.all((ours[~normal] >= 0) & (ours[~normal] <= TINY32))
        assert (~normal).sum() > 100


def test_stable_log1pexp_is_accurate_in_float64():
    exact_y, exact_grad = _exact_log1pexp(LOG1PEXP_GRID)
    y, grad = _value_and_gradient(log1pexp, tf.constant(LOG1PEXP_GRID, tf.float64))
    np.testing.assert_allclose(y, exact_y, rtol=1e-13, atol=0)
    np.testing.assert_allclose(grad, exact_grad, rtol=1e-13, atol=0)


def test_the_docs_form_cancels_for_negative_x_in_float32():
    x = tf.constant([-20.0, -12.0, -10.0], tf.float32)
    _, grad = _value_and_gradient(docs_log1pexp, x)
    _, exact = _exact_log1pexp(x.numpy().astype(np.float64))
    rel_error = np.abs(grad - exact) / exact
    assert grad[0] == 0.0  # 1 + e^-20 rounds to 1 in float32, and 1 - 1/1 = 0
    assert rel_error[1] > 1e-3
    # At -10 it is 4.5418739e-05 against 4.5397869e-05: 4.6e-4 off, thousands of ulps, yet within 1e-3.
    assert 1e-4 < rel_error[2] < 1e-3


def test_measured_thresholds_agree_with_an_independent_computation():
    grid = np.linspace(-100.0, 100.0, 20001)
    comparison = compare_log1pexp(grid)
    x = tf.constant(grid, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        naive = tf.math.log(1 + tf.exp(x))
    autodiff = tape.gradient(naive, x).numpy().astype(np.float64)
    docs = (1 - 1 / (1 + tf.exp(x))).numpy().astype(np.float64)  # the docs' backward, written out
    _, exact = _exact_log1pexp(x.numpy().astype(np.float64))
    normal = exact >= TINY32
    with np.errstate(invalid="ignore"):
        autodiff_wrong = normal & ~(np.abs(autodiff - exact) <= 1e-3 * exact)
        docs_wrong = normal & ~(np.abs(docs - exact) <= 1e-3 * exact)
    assert comparison.autodiff_wrong_from == grid[autodiff_wrong][0]
    assert comparison.autodiff_nan_from == grid[np.isnan(autodiff)][0]
    assert comparison.docs_wrong_up_to == grid[docs_wrong][-1]
    # From first principles: 1/(1 + e^x) flushes to 0 once below float32's tiny, e^x overflows
    # once above its max; the first grid points past those are where autodiff goes 0, then NaN.
    step = grid[1] - grid[0]
    assert 0 < comparison.autodiff_wrong_from - math.log(1 / TINY32) <= step
    assert 0 < comparison.autodiff_nan_from - math.log(np.finfo(np.float32).max) <= step
    # Cancellation: the docs' error is about float32's ulp of 1 (6e-8) over e^x, past 1e-3 near x = -9.7.
    assert -11 < comparison.docs_wrong_up_to < -9.5


def test_float64_autodiff_is_right_and_the_docs_form_still_cancels():
    comparison = compare_log1pexp(np.linspace(-100.0, 100.0, 2001), "float64")
    assert comparison.autodiff_wrong_from is None and comparison.autodiff_nan_from is None
    assert -40 < comparison.docs_wrong_up_to < -29  # ulp of 1 in float64 (1.1e-16) over e^x > 1e-3


def test_bad_grids_are_refused():
    for xs in (np.array([]), np.array([1.0, 0.0]), np.array([0.0, np.nan]), np.array([-800.0, 0.0]),
               np.zeros((2, 2))):
        with pytest.raises(ValueError, match="increasing 1-D array"):
            compare_log1pexp(xs)


# ---- chain rule closed forms against mpmath ------------------------------------------------

def _exp(x):
    # e^x beyond x = 1e4 overflows float64 anyway, and mpmath would need ~x bits to compute it.
    return mp.exp(x) if x < 1e4 else mp.inf


# Each function and its derivative, written in mpmath without cancellation.
MP_ELEMENTARY = {
    "square": (lambda x: x ** 2, lambda x: 2 * x),
    "cube": (lambda x: x ** 3, lambda x: 3 * x ** 2),
    "sin": (mp.sin, mp.cos),
    "exp": (_exp, _exp),
    "tanh": (mp.tanh, lambda x: mp.sech(x) ** 2),
    "sigmoid": (_sigma, lambda x: mp.exp(-x) / (1 + mp.exp(-x)) ** 2),
    "softplus": (lambda x: mp.log1p(mp.exp(x)), _sigma),
}
CHAIN_POINTS = [-40.0, -10.0, -1.0, 0.3, 2.0, 10.0, 40.0]


def _exact_chain_derivative(fn: str, x: float, depth: int) -> float:
    forward, derivative = MP_ELEMENTARY[fn]
    with mp.workdps(50):
        value, product = mp.mpf(x), mp.mpf(1)
        for _ in range(depth):
            product *= derivative(value)
            value = forward(value)
        return float(product)  # inf where it overflows float64


def test_every_elementary_function_has_an_mpmath_reference():
    assert set(MP_ELEMENTARY) == set(ELEMENTARY)


@pytest.mark.parametrize("fn", sorted(MP_ELEMENTARY))
def test_closed_form_derivative_is_accurate(fn):
    checked = 0
    for depth in range(1, 5):
        for x in CHAIN_POINTS:
            exact = _exact_chain_derivative(fn, x, depth)
            if math.isfinite(exact) and abs(exact) >= TINY64:
                assert closed_form_derivative(fn, x, depth) == pytest.approx(exact, rel=1e-13, abs=0), (x, depth)
                checked += 1
    assert checked >= 20  # all 28 but exp's deeper chains from the larger x, which overflow float64


# ---- fix and surrogate parameters stay the float64 values they were given ---------------------

def test_parameters_are_not_rounded_through_float32():
    x = tf.constant([1.0, 2.0], tf.float64)
    upstream = tf.constant([5.0, -5.0], tf.float64)
    for fix, expected in ((clip_gradient(0.1), [0.1, -0.1]), (reverse_gradient(0.1), [-0.1 * 5.0, -0.1 * -5.0])):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(upstream * fix(x))
        assert tape.gradient(loss, x).numpy().tolist() == expected
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.constant([3.0, 4.0], tf.float64) * clip_gradient_by_norm(0.1)(x))
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), [0.1 * 3 / 5, 0.1 * 4 / 5], rtol=1e-15, atol=0)
    zero = tf.constant(0.0, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(zero)
        y = surrogate_step("sign", "sigmoid", 0.1)(zero)
    assert float(tape.gradient(y, zero)) == 0.1 / 4  # k σ(0) σ(0) = k/4
