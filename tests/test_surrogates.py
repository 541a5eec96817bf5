import keras
import numpy as np
import pytest
import tensorflow as tf

from gradlib import STEPS, SURROGATES, differentiable_sign, surrogate_step
from gradlib.surrogates import MULTIPLIER

# Many points, 0 included; kinks of the piecewise surrogates (|x| = 1 or c) are avoided here
# because autodiff of a kink picks one side, and tested separately below.
POINTS = np.concatenate([np.linspace(-3.0, 3.0, 61)[np.abs(np.abs(np.linspace(-3.0, 3.0, 61)) - 1) > 1e-9],
                         [0.0, 1e-4, -1e-4, 7.5, -12.0]])


def _surrogate_gradient(surrogate, xs, scale=None, forward="sign", dtype=tf.float64):
    x = tf.constant(xs, dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = surrogate_step(forward, surrogate, scale)(x)
    return y, tape.gradient(y, x)


def _primitive_gradient(entry, xs, scale, dtype=tf.float64):
    x = tf.constant(xs, dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        p = entry.primitive(x, tf.constant(scale, dtype))
    # A constant primitive (zero's) does not depend on x at all: its derivative is 0.
    return tape.gradient(p, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)


@pytest.mark.parametrize("surrogate", sorted(SURROGATES))
def test_backward_is_the_derivative_of_the_primitive(surrogate):
    entry = SURROGATES[surrogate]
    scales = [None] if entry.scale is None else [entry.scale.low, entry.scale.default, entry.scale.high]
    for scale in scales:
        resolved = entry.resolve_scale(scale)
        points = POINTS[np.abs(np.abs(POINTS) - resolved) > 1e-9] if surrogate == "clipped_ste" else POINTS
        _, grad = _surrogate_gradient(surrogate, points, scale)
        expected = _primitive_gradient(entry, points, resolved)
        np.testing.assert_allclose(grad.numpy(), expected.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{surrogate} at scale {resolved}")


@pytest.mark.parametrize("surrogate", sorted(SURROGATES))
def test_float32_backward_is_finite_and_close(surrogate):
    xs = np.array([-1e30, -50.0, -0.5, -0.004, 0.0, 0.001, 0.25, 3.0, 1e30])
    entry = SURROGATES[surrogate]
    # At both ends of the scale range too: the steepest settings are the likeliest to overflow.
    for scale in [None] if entry.scale is None else [entry.scale.low, None, entry.scale.high]:
        _, grad32 = _surrogate_gradient(surrogate, xs, scale, dtype=tf.float32)
        _, grad64 = _surrogate_gradient(surrogate, xs, scale, dtype=tf.float64)
        assert grad32.dtype == tf.float32 and np.all(np.isfinite(grad32.numpy())), scale
        np.testing.assert_allclose(grad32.numpy(), grad64.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"scale {scale}")


def test_kink_conventions():
    # Larq's ste_sign passes the gradient where |x| <= clip value, inclusive.
    _, grad = _surrogate_gradient("clipped_ste", [-1.0, 1.0, 1.0001], scale=1.0)
    assert grad.numpy().tolist() == [1.0, 1.0, 0.0]
    _, grad = _surrogate_gradient("approx_sign", [-1.0, 1.0, 0.5])
    assert grad.numpy().tolist() == [0.0, 0.0, 1.0]


def test_sign_is_plus_or_minus_one_and_maps_zero_to_minus_one():
    xs = np.array([-2.0, -1e-30, 0.0, -0.0, 1e-30, 3.0])
    for surrogate in SURROGATES:
        y, _ = _surrogate_gradient(surrogate, xs)
        assert y.numpy().tolist() == [-1, -1, -1, -1, 1, 1]
    y, _ = _surrogate_gradient("atan", xs, forward="heaviside")
    assert y.numpy().tolist() == [0, 0, 0, 0, 1, 1]
    assert float(differentiable_sign(0.0)) == -1.0


def test_true_derivative_of_the_step_is_zero():
    # TF's own gradient of tf.sign is 0: the "zero" surrogate reproduces it.
    x = tf.constant(POINTS)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours = surrogate_step("sign", "zero")(x)
        theirs = tf.sign(x)
    np.testing.assert_array_equal(tape.gradient(ours, x).numpy(), tape.gradient(theirs, x).numpy())


def test_differentiable_sign_is_the_sigmoid_surrogate_at_scale_1():
    xs = np.linspace(-5, 5, 21)
    _, grad = _surrogate_gradient("sigmoid", xs, scale=1.0, dtype=tf.float32)
    x = tf.constant(xs, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = differentiable_sign(x)
    sigma = 1 / (1 + np.exp(-xs))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), grad.numpy())
    np.testing.assert_allclose(grad.numpy(), sigma * (1 - sigma), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("surrogate", sorted(SURROGATES))
def test_compiled_and_eager_agree_on_any_shape(surrogate):
    op = surrogate_step("sign", surrogate)

    def grad_of(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = op(x)
        return tape.gradient(y, x)

    x = tf.random.stateless_normal((2, 3, 4), seed=(3, 4))
    # Graph optimisations may reorder float32 arithmetic: equal to the last bit or two.
    np.testing.assert_allclose(grad_of(x).numpy(), tf.function(grad_of)(x).numpy(), rtol=1e-6, atol=1e-7)


def test_scale_may_be_a_variable_read_at_backward_time():
    scale = tf.Variable(1.0)
    op = surrogate_step("sign", "sigmoid", scale)
    x = tf.constant(0.0)
    for k in (1.0, 4.0):
        scale.assign(k)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = op(x)
        assert float(tape.gradient(y, x)) == pytest.approx(k / 4)


def test_one_multiplier_serves_every_family():
    for entry in SURROGATES.values():
        for multiplier in (MULTIPLIER.low, MULTIPLIER.high):
            scaled = entry.scaled(multiplier)
            assert scaled is None if entry.scale is None else scaled == pytest.approx(entry.scale.default * multiplier)
        if entry.scale is not None:
            assert entry.scaled(1.0) == entry.scale.default
    with pytest.raises(ValueError, match="scale must be between 0.1 and 10"):
        SURROGATES["atan"].scaled(11)


def test_every_entry_is_documented():
    for entry in SURROGATES.values():
        assert entry.derivative_latex and entry.primitive_latex and entry.reference and entry.name
        if entry.scale is not None:
            assert entry.scale.low < entry.scale.default < entry.scale.high
    assert set(STEPS) == {"sign", "heaviside"}


def test_usable_as_a_keras_activation():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((2,)),
        keras.layers.Dense(8, activation=surrogate_step("sign", "atan")),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    hidden = model.layers[0]
    before = hidden.kernel.numpy().copy()
    data = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    model.fit(data, data[:, :1] * data[:, 1:], epochs=1, verbose=0)
    # The first layer only learns if a gradient crossed the sign activation: the surrogate's.
    assert not np.array_equal(before, hidden.kernel.numpy())


@pytest.mark.parametrize("args, message", [
    (("sign", "sigmoidal"), "unknown surrogate 'sigmoidal'"),
    (("step", "sigmoid"), "unknown forward step 'step'"),
    (("sign", "sigmoid", 0.0), "sigmoid scale k must be between 0.1 and 50"),
    (("sign", "sigmoid", float("nan")), "must be finite"),
    (("sign", "ste", 2.0), "has no scale parameter"),
])
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        surrogate_step(*args)
