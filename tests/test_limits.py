"""Every cap on the work one visitor can ask for, and gradlib's contracts with callers."""

import re
from dataclasses import replace

import keras
import numpy as np
import pytest
import tensorflow as tf

import gradlib
from apptest_helpers import ROOT, code_panel, open_page, warnings, widget
from gradlib.core import elementwise_custom_gradient
from gradlib.training import MAX_IDLE_TRAINERS, MAX_PLAY_FRAMES, playback_steps


# ---- caps, in gradlib ------------------------------------------------------------------------

def test_depth_cap():
    gradlib.check_chain("sin", 0.5, gradlib.MAX_DEPTH)
    with pytest.raises(ValueError, match="depth must be between 1 and 12"):
        gradlib.chain_curve("sin", gradlib.MAX_DEPTH + 1, np.zeros(3))


def test_steps_and_chunk_caps():
    with pytest.raises(ValueError, match="steps must be between 1 and 5000"):
        gradlib.train(gradlib.TrainingConfig(steps=gradlib.MAX_STEPS + 1))
    with pytest.raises(ValueError, match="chunk_steps must be between 1 and 5000"):
        next(gradlib.train_in_chunks(gradlib.TrainingConfig(), chunk_steps=gradlib.MAX_STEPS + 1))


def test_curve_and_grid_caps():
    with pytest.raises(ValueError, match="1 to 2001 points"):
        gradlib.chain_curve("sin", 2, np.zeros(gradlib.chain.MAX_CURVE_POINTS + 1))
    with pytest.raises(ValueError, match="between 2 and 201"):
        gradlib.gradient_field("multiply", np.zeros(3), np.zeros(gradlib.MAX_GRID_POINTS + 1))


def test_play_frames_cap():
    assert playback_steps(12) == list(range(1, 13))
    long_run = playback_steps(gradlib.MAX_STEPS)
    assert len(long_run) == MAX_PLAY_FRAMES and long_run[-1] == gradlib.MAX_STEPS
    with pytest.raises(ValueError, match="frames must be between 1 and 150"):
        playback_steps(100, frames=MAX_PLAY_FRAMES + 1)


def test_idle_trainer_pool_is_bounded():
    structures = [(s, o) for s in sorted(gradlib.SURROGATES) for o in sorted(gradlib.OPTIMIZERS)]
    for surrogate, optimizer in structures[:MAX_IDLE_TRAINERS + 5]:
        gradlib.train(gradlib.TrainingConfig(surrogate=surrogate, optimizer=optimizer, steps=1))
    assert len(gradlib.training._POOL) <= MAX_IDLE_TRAINERS


@pytest.mark.slow  # it holds the trainer for longer than the 10 s after which the pool once built another
def test_a_busy_pool_lends_the_trainer_given_back_and_builds_no_more_than_its_limit():
    """A class training one structure at once: past ``per_key`` trainers, callers wait for one to
    come back (an XLA program built past the limit would never be freed), however long."""
    import threading
    import time

    built = []
    pool = gradlib.training.TrainerPool(lambda key: built.append(object()) or built[-1], per_key=1)
    lent, waited = threading.Event(), []

    def first() -> None:
        with pool.borrow(("adam",)) as trainer:
            waited.append(trainer)
            lent.set()
            time.sleep(10.5)

    holder = threading.Thread(target=first)
    holder.start()
    lent.wait()
    started = time.monotonic()
    with pool.borrow(("adam",)) as trainer:
        assert trainer is waited[0] and time.monotonic() - started > 10  # the same one, once given back
    holder.join()
    assert len(built) == 1 and len(pool) == 1


def test_a_new_momentum_needs_no_new_trace():
    config = gradlib.TrainingConfig(optimizer="momentum", steps=30)
    gradlib.train(config)
    before = gradlib.training.trace_count()
    runs = [gradlib.train(replace(config, settings={"momentum": m})) for m in (0.05, 0.5, 0.99)]
    assert gradlib.training.trace_count() == before
    # Each run used its own momentum: Keras's own SGD, built with that momentum, gives the same x.
    for momentum, run in zip((0.05, 0.5, 0.99), runs):
        x = tf.Variable(config.x0)
        optimizer = keras.optimizers.SGD(config.settings.get("learning_rate", 0.1), momentum=momentum)
        for _ in range(config.steps):
            with tf.GradientTape() as tape:
                loss = tf.nn.l2_loss(gradlib.differentiable_sign(x) - config.target)
            optimizer.apply_gradients([(tape.gradient(loss, x), x)])
        assert run.x[-1] == pytest.approx(float(x.numpy()), abs=1e-6)


def test_a_compiled_trainer_leaves_nothing_in_the_gradient_registry():
    # gradlib.compiled removes what tf.custom_gradient registered while tracing (it would pin the
    # graph for the life of the process). This also guards the private TF registry it relies on.
    from tensorflow.python.framework import ops

    registry = ops._gradient_registry._registry
    before = set(registry)
    config = gradlib.TrainingConfig(surrogate="atan", optimizer="nadam", steps=20)
    history = gradlib.train(config)
    assert set(registry) == before
    assert np.all(history.grad[:3] != 0)  # the trace did use the custom gradient

    @tf.function
    def traced(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = gradlib.surrogate_step("sign", "atan")(x)
        return tape.gradient(y, x)

    traced(tf.constant(0.5))
    assert len(set(registry) - before) == 1  # what an ordinary trace leaves, and gradlib.compiled removes


def test_the_network_cache_bound_holds_the_largest_history():
    import pickle

    largest = gradlib.train_network(gradlib.NetworkConfig(
        dataset="spirals", surrogate="custom", backward="4*sigmoid(4*x)*(1 - sigmoid(4*x)) + 0*exp(-x**2)/(1 + x**2)",
        hidden=128,
        steps=gradlib.NETWORK_STEPS.high))
    assert len(pickle.dumps(largest)) <= gradlib.MAX_HISTORY_BYTES  # the bound pages/5_Binarized_network.py uses


def test_the_training_cache_bound_holds_the_largest_history():
    import pickle

    largest = gradlib.train(gradlib.TrainingConfig(optimizer="adamw", steps=gradlib.MAX_STEPS))
    assert len(pickle.dumps(largest)) <= 8 * 8 * gradlib.MAX_STEPS  # the bound pages/4_Training.py declares


# ---- caps, in the widgets (a hand-edited link cannot pass them) ------------------------------

def test_link_caps_on_the_pages():
    assert "value for `depth`" in warnings(open_page("chain", depth="13"))[0]
    assert "value for `steps`" in warnings(open_page("training", steps="5001"))[0]
    app = open_page("training", compare="optimizers", compare_optimizers=sorted(gradlib.OPTIMIZERS))
    assert "value for `compare_optimizers`" in warnings(app)[0]  # 5 at most, plus the main run
    assert widget(app, "multiselect", "compare_optimizers").value == ["sgd", "momentum"]
    app = open_page("surrogates", surrogates=sorted(gradlib.SURROGATES))
    assert "value for `surrogates`" in warnings(app)[0] and len(app.dataframe[0].value) == 1


def test_off_grid_link_values_are_refused_and_sent_values_snapped():
    # Each distinct value is a distinct cache entry: only the slider's grid may reach the engine.
    app = open_page("training", optimizer="momentum", momentum="0.3141592653589793")
    assert "value for `momentum`" in warnings(app)[0] and "steps of 0.001" in warnings(app)[0]
    widget(app, "slider", "momentum/momentum").set_value(0.0500001).run()
    assert "momentum=0.05" in code_panel(app)  # what the page ran (its code panel)


# ---- gradlib's contracts ---------------------------------------------------------------------

def _gradient(op, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = op(x)
    return tape.gradient(y, x)


def test_a_backward_of_the_wrong_dtype_is_refused():
    op = elementwise_custom_gradient(tf.sign, lambda x, y: tf.ones_like(x, dtype=tf.float64))
    with pytest.raises(TypeError, match="local gradient has dtype float64, input float32"):
        _gradient(op, tf.constant([1.0, 2.0]))


def test_a_backward_of_the_wrong_shape_is_refused():
    # (2,) times (2, 2) broadcasts without complaint: TF would pass a (2, 2) gradient for a (2,) input.
    op = elementwise_custom_gradient(tf.sign, lambda x, y: tf.ones([2, 2]))
    with pytest.raises(ValueError, match="local gradient has shape"):
        _gradient(op, tf.constant([1.0, 2.0]))


def test_keyword_calls_still_use_the_custom_gradient():
    # tf.custom_gradient itself silently falls back to autodiff (0 through sign) for keyword calls.
    x = tf.constant(0.5)
    expected = float(_gradient(gradlib.differentiable_sign, x))
    assert expected > 0
    assert float(_gradient(lambda t: gradlib.differentiable_sign(x=t), x)) == expected
    compiled = tf.function(lambda t: _gradient(lambda u: gradlib.differentiable_sign(x=u), t))
    assert float(compiled(x)) == pytest.approx(expected)
    a, b = tf.constant(2.0), tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch([a, b])
        z = gradlib.multiply(x=a, y=b)
    assert [float(g) for g in tape.gradient(z, [a, b])] == [3.0, 2.0]


# ---- hosted-sharing hygiene ------------------------------------------------------------------

def test_no_user_input_is_evaluated_or_used_as_a_path():
    sources = [path for folder in ("gradlib", "ui", "pages") for path in (ROOT / folder).glob("*.py")]
    sources.append(ROOT / "dashboard.py")
    for path in sources:
        text = path.read_text()
        assert not re.search(r"\b(eval|exec|compile|open|__import__)\(", text), path
        assert "Path(" not in text or path.name == "__init__.py", path


def test_streamlit_config_for_hosting():
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    for setting in ('enableXsrfProtection = true', 'toolbarMode = "viewer"', 'showErrorDetails = "none"',
                    'gatherUsageStats = false'):
        assert setting in config


def test_a_crowd_training_at_once_shares_at_most_two_compiled_trainers():
    import threading

    config = gradlib.TrainingConfig(surrogate="triangle", optimizer="adamax", steps=50)
    solo = gradlib.train(config)
    before = gradlib.training.trace_count()
    results = []

    def visitor() -> None:
        results.append(gradlib.train(config))

    crowd = [threading.Thread(target=visitor) for _ in range(12)]
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join()
    assert gradlib.training.trace_count() - before <= 1  # one more trainer at most: two in all
    assert len(results) == 12 and all(np.array_equal(r.x, solo.x) for r in results)
