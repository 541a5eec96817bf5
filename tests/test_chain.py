import numpy as np
import pytest
import tensorflow as tf

import gradlib
from gradlib import ELEMENTARY, MAX_DEPTH, chain_curve, check_chain, closed_form_derivative, compose, trace_chain

# Points inside each function's comfortable range (exp overflows quickly when composed).
POINTS = {"square": [-1.1, 0.3, 1.05], "cube": [-1.02, 0.5, 0.97], "sin": [-2.0, 0.1, 1.3],
          "exp": [-3.0, -0.5, 0.2], "tanh": [-1.5, 0.0, 0.8], "sigmoid": [-4.0, 0.0, 2.5],
          "softplus": [-3.0, 0.0, 1.5]}
# exp(exp(exp(0.2))) is already ~40, deeper overflows float64. Power chains x^(2^n), x^(3^n)
# make central differences inaccurate (the error grows like n-th power squared), so stop at 5.
DEPTHS = {"exp": [1, 2, 3], "square": [1, 2, 5], "cube": [1, 2, 4]}


@pytest.mark.parametrize("fn", sorted(ELEMENTARY))
def test_every_chain_function_agrees_four_ways_in_float64(fn):
    for x in POINTS[fn]:
        for depth in DEPTHS.get(fn, [1, 2, 5, 12]):
            check = check_chain(fn, x, depth, "float64")
            assert check.problem is None
            reference = check.value("closed_form")
            assert check.value("custom") == pytest.approx(reference, rel=1e-9, abs=1e-12)
            assert check.value("autodiff") == pytest.approx(reference, rel=1e-9, abs=1e-12)
            assert check.value("finite_difference") == pytest.approx(reference, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("fn", sorted(ELEMENTARY))
def test_float32_custom_gradient_matches_closed_form(fn):
    for x in POINTS[fn]:
        check = check_chain(fn, x, 3, "float32")
        assert check.value("custom") == pytest.approx(check.value("closed_form"), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("depth", range(1, 8))
def test_square_chain_is_a_power_of_x(depth):
    # y = x^(2^n), so dy/dx = 2^n x^(2^n - 1): an independent closed form.
    x = 1.3
    exponent = 2 ** depth
    assert closed_form_derivative("square", x, depth) == pytest.approx(exponent * x ** (exponent - 1), rel=1e-12)
    assert trace_chain("square", x, depth, "float64").dydx == pytest.approx(exponent * x ** (exponent - 1), rel=1e-12)


def test_cube_chain_is_a_power_of_x():
    x, depth = 0.9, 4
    exponent = 3 ** depth
    assert check_chain("cube", x, depth, "float64").value("custom") == pytest.approx(
        exponent * x ** (exponent - 1), rel=1e-10)


def test_trace_links_upstream_and_downstream():
    trace = trace_chain("sin", 0.4, 6)
    assert [s.stage for s in trace.backward] == [6, 5, 4, 3, 2, 1]
    assert trace.backward[0].upstream == 1.0
    for later, earlier in zip(trace.backward, trace.backward[1:]):
        assert earlier.upstream == later.downstream
    for stage in trace.backward:
        assert stage.downstream == pytest.approx(stage.upstream * stage.local_grad, rel=1e-6)
        assert stage.input == trace.forward[stage.stage - 1].input
    assert trace.backward[-1].downstream == trace.dydx


def test_float32_overflow_from_depth_7_is_reported_not_raised():
    check = check_chain("square", 2.0, 7, "float32")
    assert np.isinf(check.value("custom"))
    assert "Forward stage 7" in check.problem and "float64" in check.problem
    assert np.isfinite(check.value("closed_form"))  # 2^128 fits in float64
    assert check_chain("square", 2.0, 6, "float32").problem is None
    assert check_chain("square", 2.0, 7, "float64").problem is None


def test_overflow_even_in_float64_is_reported():
    check = check_chain("square", 2.0, 12, "float64")
    assert check.problem is not None and not check.estimates[0].value < np.inf


def test_gradient_overflow_with_finite_y_is_named():
    # x^(2^7) at 1.9 is ~1e35 (fits float32) but its derivative, 128 x^127, is ~1e37 ... 2e37;
    # at 1.99 y ~ 1.6e38 fits and dy/dx ~ 1e40 does not.
    trace = trace_chain("square", 1.99, 7, "float32")
    assert np.isfinite(trace.y) and np.isinf(trace.dydx)
    assert "Backward stage" in gradlib.chain.describe_problem(trace)


def test_chain_curve_is_elementwise():
    xs = np.linspace(-1.0, 1.0, 11)
    y, dydx = chain_curve("square", 3, xs, "float64")
    np.testing.assert_allclose(y, xs ** 8)
    np.testing.assert_allclose(dydx, 8 * xs ** 7, atol=1e-15)


@pytest.mark.parametrize("fn", sorted(ELEMENTARY))
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_ops_work_on_any_shape_eager_and_compiled(fn, dtype):
    op = getattr(gradlib, fn)
    entry = ELEMENTARY[fn]
    for shape in [(), (3,), (2, 3), (2, 1, 2)]:
        x = tf.random.stateless_uniform(shape, seed=(1, 2), minval=-1, maxval=1, dtype=dtype)
        expected = entry.derivative_np(x.numpy().astype(np.float64))

        def grad_of(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = op(x)
            return y, tape.gradient(y, x)

        for runner in (grad_of, tf.function(grad_of)):
            y, grad = runner(x)
            assert y.shape == shape and y.dtype == dtype and grad.dtype == dtype
            np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-5 if dtype == tf.float32 else 1e-12)


def test_python_numbers_become_float32_and_integers_are_refused():
    assert gradlib.square(3).dtype == tf.float32
    with pytest.raises(TypeError, match="floating-point"):
        gradlib.square(tf.constant(3))


def test_compose_builds_the_same_chain_as_nesting():
    x = tf.constant(0.7)
    assert float(compose(gradlib.sin, 3)(x)) == float(gradlib.sin(gradlib.sin(gradlib.sin(x))))


@pytest.mark.parametrize("kwargs, message", [
    ({"fn": "square", "x": 2.0, "depth": 0}, "depth must be between 1 and 12"),
    ({"fn": "square", "x": 2.0, "depth": MAX_DEPTH + 1}, "depth must be between 1 and 12"),
    ({"fn": "square", "x": 2.0, "depth": 2.5}, "depth must be a whole number"),
    ({"fn": "cosh", "x": 2.0, "depth": 3}, "unknown function 'cosh'; choose one of: square"),
    ({"fn": "square", "x": float("nan"), "depth": 3}, "x must be finite"),
    ({"fn": "square", "x": float("inf"), "depth": 3}, "x must be finite"),
    ({"fn": "square", "x": "two", "depth": 3}, "x must be a number"),
    ({"fn": "square", "x": 2.0, "depth": 3, "dtype": "float16"}, "unknown dtype 'float16'"),
])
def test_bad_arguments_raise_value_error(kwargs, message):
    for function in (trace_chain, check_chain):
        with pytest.raises(ValueError, match=message):
            function(**kwargs)
