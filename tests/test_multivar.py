import numpy as np
import pytest
import tensorflow as tf

from gradlib import BIVARIATE, MAX_GRID_POINTS, divide, gradient_field, hypot, multiply, partial_derivatives

POINTS = [(2.0, 3.0), (-1.5, 0.5), (0.25, -4.0)]


@pytest.mark.parametrize("fn", sorted(BIVARIATE))
def test_custom_partials_match_autodiff_and_finite_differences(fn):
    entry = BIVARIATE[fn]
    for x0, y0 in POINTS:
        x, y = tf.constant(x0, tf.float64), tf.constant(y0, tf.float64)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([x, y])
            ours = entry.op()(x, y)
            plain = entry.forward(x, y)
        custom = [float(g) for g in tape.gradient(ours, [x, y])]
        autodiff = [float(g) for g in tape.gradient(plain, [x, y])]
        h = 1e-6
        fd = [(float(entry.forward(x + h, y)) - float(entry.forward(x - h, y))) / (2 * h),
              (float(entry.forward(x, y + h)) - float(entry.forward(x, y - h))) / (2 * h)]
        assert custom == pytest.approx(autodiff, rel=1e-12)
        assert custom == pytest.approx(fd, rel=1e-6)


def test_closed_forms():
    assert partial_derivatives("multiply", 2, 3).dz_dx == 3.0
    result = partial_derivatives("divide", 3.0, 2.0)
    assert (result.z, result.dz_dx, result.dz_dy) == (1.5, 0.5, pytest.approx(-0.75))
    result = partial_derivatives("hypot", 3.0, 4.0)
    assert (result.z, result.dz_dx, result.dz_dy) == (5.0, pytest.approx(0.6), pytest.approx(0.8))
    assert partial_derivatives("hypot", 0.0, 0.0).dz_dx == 0.0  # undefined at the origin: reported as 0


def test_unconnected_inputs_give_none_or_zero():
    none = partial_derivatives("multiply", 2.0, 3.0)
    assert none.dz_dw is None and none.dx_dy is None
    zero = partial_derivatives("multiply", 2.0, 3.0, unconnected="zero")
    assert zero.dz_dw == 0.0 and zero.dx_dy == 0.0


@pytest.mark.parametrize("fn", sorted(BIVARIATE))
def test_broadcasting_inputs_get_gradients_of_their_own_shape(fn):
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y = tf.constant([10.0, 20.0, 30.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, y])
        ours = BIVARIATE[fn].op()(x, y)
        plain = BIVARIATE[fn].forward(x, y)
    for custom, autodiff, shape in zip(tape.gradient(ours, [x, y]), tape.gradient(plain, [x, y]), [(2, 3), (3,)]):
        assert custom.shape == shape
        np.testing.assert_allclose(custom.numpy(), autodiff.numpy(), rtol=1e-6)


def test_module_level_ops_are_the_registry_entries():
    x, y = tf.constant(3.0), tf.constant(4.0)
    assert [float(op(x, y)) for op in (multiply, divide, hypot)] == [12.0, 0.75, 5.0]


def test_works_inside_tf_function():
    @tf.function
    def grads(x, y):
        with tf.GradientTape() as tape:
            tape.watch([x, y])
            z = multiply(x, y)
        return tape.gradient(z, [x, y])

    dx, dy = grads(tf.constant(2.0), tf.constant(3.0))
    assert (float(dx), float(dy)) == (3.0, 2.0)


def test_gradient_field_on_a_grid():
    xs, ys = np.linspace(-2, 2, 5), np.linspace(-1, 1, 3)
    z, dz_dx, dz_dy = gradient_field("multiply", xs, ys)
    grid_x, grid_y = np.meshgrid(xs, ys)
    assert z.shape == (3, 5)
    np.testing.assert_allclose(z, grid_x * grid_y)
    np.testing.assert_allclose(dz_dx, grid_y)
    np.testing.assert_allclose(dz_dy, grid_x)


@pytest.mark.parametrize("call, message", [
    (lambda: partial_derivatives("pow", 1, 2), "unknown function 'pow'"),
    (lambda: partial_derivatives("multiply", float("nan"), 2), "x must be finite"),
    (lambda: partial_derivatives("multiply", 1, 2, unconnected="zeros"), "unknown unconnected-gradients mode"),
    (lambda: gradient_field("multiply", np.linspace(0, 1, MAX_GRID_POINTS + 1), np.linspace(0, 1, 3)),
     "number of xs points must be between 2 and 201"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
