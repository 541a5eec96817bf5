"""Every cap on the work one visitor can ask for, and gradlib's contracts with callers."""

import re

import numpy as np
import pytest
import tensorflow as tf

import gradlib
from apptest_helpers import ROOT, open_page, warnings
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
    for momentum in np.linspace(0.05, 0.95, MAX_IDLE_TRAINERS + 5):
        gradlib.train(gradlib.TrainingConfig(optimizer="momentum", settings={"momentum": float(momentum)}, steps=1))
    assert len(gradlib.training._POOL) <= MAX_IDLE_TRAINERS


# ---- caps, in the widgets (a hand-edited link cannot pass them) ------------------------------

def test_link_caps_on_the_pages():
    assert "`depth=13`" in warnings(open_page("chain", depth="13"))[0]
    assert "`steps=5001`" in warnings(open_page("training", steps="5001"))[0]
    app = open_page("training", compare="optimizers", compare_optimizers=sorted(gradlib.OPTIMIZERS))
    assert len(app.multiselect(key="compare_optimizers").value) == 5  # plus the main run: 6 at most
    app = open_page("surrogates", surrogates=sorted(gradlib.SURROGATES))
    assert len(app.dataframe[0].value) == 6


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
