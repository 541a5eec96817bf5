"""The notebook's cells, pasted with gradlib's functions imported instead of defined inline:
every number the notebook printed is reproduced."""

import numpy as np
import pytest
import tensorflow as tf

from gradlib import TrainingConfig, differentiable_sign, multiply, square, trace_chain, train

# The notebook's printout of cell 5 (Adam 0.1, x0 = -1, target 1): step, loss, grad, x, y.
NOTEBOOK_ADAM_TABLE = [
    (0, 2, -0.393223882, -0.89999783, -1),
    (10, 0, 0, 0.0995881185, 1),
    (20, 0, 0, 0.6450876, 1),
    (30, 0, 0, 0.855591536, 1),
    (40, 0, 0, 0.938390434, 1),
    (50, 0, 0, 0.970632374, 1),
    (60, 0, 0, 0.983009696, 1),
    (70, 0, 0, 0.987700462, 1),
    (80, 0, 0, 0.989459515, 1),
    (90, 0, 0, 0.990113616, 1),
]
# Keras 3's Adam rounds differently from the Keras 2 Adam the notebook ran (it differs in the
# 5th significant digit, e.g. -0.9000008 against -0.89999783 after step 0): match to 1e-4.
ADAM_TOLERANCE = 1e-4


def test_cell2_chain_rule_gives_1024():
    x = tf.constant(2.0, dtype=tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = square(square(square(x)))  # y = x ** 8
    assert float(y) == 256.0
    assert float(tape.gradient(y, x)) == 1024.0


def test_cell2_trace_matches_the_printed_lines():
    trace = trace_chain("square", 2.0, 3)
    assert [(s.input, s.output) for s in trace.forward] == [(2.0, 4.0), (4.0, 16.0), (16.0, 256.0)]
    # x, upstream, current, downstream as the notebook printed them, in the order TF ran them.
    assert [(s.input, s.upstream, s.local_grad, s.downstream) for s in trace.backward] == [
        (16.0, 1.0, 32.0, 32.0),
        (4.0, 32.0, 8.0, 256.0),
        (2.0, 256.0, 4.0, 1024.0),
    ]
    assert trace.dydx == 1024.0


def test_cell3_multiply_gives_6_3_2_none():
    x = tf.constant(2.0, dtype=tf.float32)
    y = tf.constant(3.0, dtype=tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        tape.watch(y)
        z = multiply(x, y)
    assert float(z) == 6.0
    assert float(tape.gradient(z, x)) == 3.0
    assert float(tape.gradient(z, y)) == 2.0
    assert tape.gradient(x, y) is None


def test_cell4_differentiable_sign():
    x = tf.constant(3.0, dtype=tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = differentiable_sign(x)
        loss = tf.nn.l2_loss(y - tf.constant(-1.0))
    assert float(y) == 1.0
    assert float(tape.gradient(y, x)) == pytest.approx(0.0451766551, rel=1e-6)
    assert float(loss) == 2.0
    assert float(tape.gradient(loss, x)) == pytest.approx(0.0903533101, rel=1e-6)


def _check_against_table(rows):
    for (step, loss, grad, x, y), (n_step, n_loss, n_grad, n_x, n_y) in zip(rows, NOTEBOOK_ADAM_TABLE, strict=True):
        assert step == n_step
        assert loss == pytest.approx(n_loss, abs=ADAM_TOLERANCE)
        assert grad == pytest.approx(n_grad, abs=ADAM_TOLERANCE)
        assert x == pytest.approx(n_x, abs=ADAM_TOLERANCE)
        assert y == n_y


def test_cell5_eager_adam_loop_reproduces_the_table():
    x = tf.Variable(-1.0)
    opt = tf.keras.optimizers.Adam(1e-1)

    def train_step():
        with tf.GradientTape() as tape:
            y = differentiable_sign(x)
            loss = tf.nn.l2_loss(y - tf.constant(1.0))
        grads = tape.gradient(loss, x)
        opt.apply_gradients(zip([grads], [x]))
        return loss, y, grads

    rows = []
    for i in range(100):
        loss, y, grads = train_step()
        if i % 10 == 0:
            rows.append((i, float(loss), float(grads), float(x), float(y)))
    _check_against_table(rows)


def test_compiled_training_reproduces_the_table():
    history = train(TrainingConfig())  # the defaults are the notebook's settings
    assert len(history) == 100 and history.stopped is None
    rows = [(int(history.step[i]), history.loss[i], history.grad[i], history.x[i], history.y[i])
            for i in range(0, 100, 10)]
    _check_against_table(rows)
    assert set(history.state) == {"momentum", "velocity"}  # Adam's m and v
    # Adam's first moment after step 0 is (1 - beta_1) * grad.
    assert history.state["momentum"][0] == pytest.approx(0.1 * history.grad[0], rel=1e-6)
    assert np.all(history.loss[10:] == 0)
