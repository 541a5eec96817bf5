"""The binarized network and the three gradient fixes: gradlib, figures, code panels and pages."""

import contextlib
import io
import math

import numpy as np
import pytest
import tensorflow as tf

from apptest_helpers import fast_tier_sample, figures, metrics, numbers, open_page, run_code, warnings
from gradlib import fixes, networks
from gradlib.networks import (DATASETS, GRID, POINTS, REAL_VALUED, SNAPSHOT_GRID, SNAPSHOTS, NetworkConfig, build_model,
                              initial_weights, make_dataset, train_network, xla_compiled)
from gradlib.training import trace_count
from ui import snippets


# ---- the network in gradlib ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(DATASETS))
def test_datasets_are_balanced_standardised_and_seeded(name):
    points, labels = make_dataset(name, 7)
    assert points.shape == (POINTS, 2) and points.dtype == np.float32 and labels.shape == (POINTS,)
    assert set(np.unique(labels)) == {0.0, 1.0} and 0.3 < labels.mean() < 0.7
    np.testing.assert_allclose(points.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(points.std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(points, make_dataset(name, 7)[0])
    assert not np.array_equal(points, make_dataset(name, 8)[0])


def test_model_shapes_and_initial_weights():
    model = build_model(16, "tanh")
    weights = initial_weights(16, seed=3)
    assert [w.shape for w in weights] == [w.shape for w in model.get_weights()] == \
        [(2, 16), (16,), (16, 16), (16,), (16, 1), (1,)]
    model.set_weights(weights)
    assert model(np.zeros((5, 2), np.float32)).shape == (5, 1)
    assert all(np.array_equal(a, b) for a, b in zip(weights, initial_weights(16, seed=3)))


def test_default_network_reaches_95_percent_on_two_moons():
    # The time this takes is reported in the README (benchmarks), never asserted.
    assert train_network(NetworkConfig()).final_accuracy >= 0.95


def test_training_is_deterministic_for_a_seed():
    first = train_network(NetworkConfig(steps=60, seed=5))
    train_network(NetworkConfig(steps=30, seed=6, settings={"learning_rate": 0.1}))  # same trainer, other run
    again = train_network(NetworkConfig(steps=60, seed=5))
    np.testing.assert_array_equal(first.loss, again.loss)
    np.testing.assert_array_equal(first.boundary, again.boundary)


def test_the_surrogate_is_what_reaches_the_hidden_layers():
    grads = {s: train_network(NetworkConfig(surrogate=s, steps=1)).first_layer_grad[0]
             for s in ("sigmoid", "atan", "ste", "zero")}
    assert grads["zero"] == 0.0
    assert len({grads["sigmoid"], grads["atan"], grads["ste"]}) == 3 and min(grads.values()) == 0.0
    zero = train_network(NetworkConfig(surrogate="zero", steps=50))
    assert np.all(zero.first_layer_grad == 0)
    assert train_network(NetworkConfig(surrogate=REAL_VALUED, steps=1)).first_layer_grad[0] > 0


@pytest.mark.parametrize("surrogate", ["sigmoid", "atan"])  # the XLA loop and a graph one
def test_the_run_pictures_its_boundary_at_evenly_spaced_steps(surrogate):
    history = train_network(NetworkConfig(surrogate=surrogate, steps=300))
    steps = history.snapshot_steps
    assert len(steps) == SNAPSHOTS - 1 and steps[0] == 1 and np.all(np.diff(steps) > 0) and steps[-1] < 300
    assert np.ptp(np.diff(steps)) <= 1  # evenly spaced, to the step
    assert history.snapshots.shape == (len(steps), len(SNAPSHOT_GRID), len(SNAPSHOT_GRID))
    assert history.snapshots.dtype == np.float32 and not np.array_equal(history.snapshots[0], history.snapshots[-1])
    # A picture is the boundary a run stopped at that step ends with, on SNAPSHOT_GRID's points of GRID.
    shorter = train_network(NetworkConfig(surrogate=surrogate, steps=int(steps[10])))
    on_grid = np.searchsorted(GRID, SNAPSHOT_GRID)
    np.testing.assert_array_equal(GRID[on_grid], SNAPSHOT_GRID)
    np.testing.assert_allclose(history.snapshots[10], shorter.boundary[np.ix_(on_grid, on_grid)], atol=1e-6)
    np.testing.assert_array_equal(history.loss[:len(shorter)], shorter.loss)
    # A run shorter than SNAPSHOTS pictures every step but the last.
    assert train_network(NetworkConfig(steps=5)).snapshot_steps.tolist() == [1, 2, 3, 4]
    assert train_network(NetworkConfig(steps=1)).snapshots.shape == (0, len(SNAPSHOT_GRID), len(SNAPSHOT_GRID))


def test_only_the_network_the_page_opens_with_is_xla_compiled():
    # XLA programs are never freed: a bounded set, whatever data, seed, scale, rate or steps.
    assert xla_compiled(NetworkConfig(dataset="xor", seed=5, scale=2.0, settings={"learning_rate": 0.1}, steps=40))
    for config in [NetworkConfig(surrogate="atan"), NetworkConfig(surrogate=REAL_VALUED), NetworkConfig(hidden=64),
                   NetworkConfig(optimizer="sgd"), NetworkConfig(settings={"learning_rate": 0.01, "beta_1": 0.5}),
                   NetworkConfig(surrogate="custom", backward="2*exp(-x**2)")]:
        assert not xla_compiled(config), config


def test_the_xla_network_is_compiled_once_for_every_run():
    train_network(NetworkConfig(steps=3))
    before = trace_count()
    for dataset, seed, steps in [("xor", 1, 7), ("spirals", 2, 120), ("circles", 3, 2000)]:
        train_network(NetworkConfig(dataset=dataset, seed=seed, steps=steps, settings={"learning_rate": 0.02}))
    assert trace_count() == before and len(networks._XLA_POOL) <= 2


@pytest.mark.parametrize("config, message", [
    (NetworkConfig(dataset="iris"), "unknown data set 'iris'"),
    (NetworkConfig(hidden=129), "hidden units must be one of 2, 4, 8, 16, 32, 64, 128"),
    (NetworkConfig(steps=2001), "steps must be between 1 and 2000"),
    (NetworkConfig(seed=-1), "seed must be between 0 and 9999"),
    (NetworkConfig(surrogate="relu"), "unknown surrogate 'relu'"),
])
def test_bad_network_configs(config, message):
    with pytest.raises(ValueError, match=message):
        train_network(config)


# ---- the fixes in gradlib --------------------------------------------------------------------

def _grad(op, values, dtype=tf.float32):
    x = tf.constant(values, dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = op(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def test_log1pexp_gradient_is_the_sigmoid_and_finite_where_autodiff_is_not():
    xs = np.array([-30.0, -2.0, 0.0, 3.0, 50.0, 88.0, 89.0, 100.0, 1000.0])
    sigmoid = 1 / (1 + np.exp(-xs))  # float64; no cancellation for these x
    for dtype, rtol in ((tf.float32, 1e-6), (tf.float64, 1e-13)):
        y, custom = _grad(fixes.log1pexp, xs, dtype)
        np.testing.assert_allclose(custom, sigmoid, rtol=rtol)
        np.testing.assert_allclose(y, np.logaddexp(0, xs), rtol=rtol)
    _, autodiff = _grad(fixes.naive_log1pexp, xs)
    np.testing.assert_allclose(autodiff[xs <= 50], sigmoid[xs <= 50], rtol=1e-6)
    # e^x · 1/(1 + e^x): the reciprocal flushes to 0 beyond x ≈ 87.3, then e^x overflows (NaN).
    assert autodiff[xs == 88] == 0 and np.isnan(autodiff[xs >= 89]).all()


def test_clip_gradient_clips_upstream_and_is_identity_forward():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fixes.clip_gradient(1.5)(x)
        loss = tf.reduce_sum(tf.constant([-4.0, 0.5, 9.0]) * y)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [-1.5, 0.5, 1.5])


def test_clip_gradient_by_norm():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.constant([3.0, 4.0]) * fixes.clip_gradient_by_norm(1.0)(x))
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), [0.6, 0.8], rtol=1e-6)


def test_reverse_gradient_flips_and_scales():
    y, grad = _grad(fixes.reverse_gradient(2.5), [1.0, -3.0])
    np.testing.assert_array_equal(y, [1.0, -3.0])
    np.testing.assert_array_equal(grad, [-2.5, -2.5])


def test_descent_demos_show_the_effect():
    clipped = fixes.descent_demo("clip", -2.0, 1.0, 0.1, 50)
    assert np.all(np.abs(clipped.grad_with) <= 1.0) and abs(clipped.x_with[-1] - 3) < 1
    assert not np.all(np.isfinite(clipped.x_without))  # the raw gradient diverges
    reversed_ = fixes.descent_demo("reverse", -2.0, 1.0, 0.1, 50)
    assert abs(reversed_.x_without[-1] - 1) < 0.05 and reversed_.x_with[-1] < -100
    np.testing.assert_allclose(reversed_.grad_with[0], -reversed_.grad_without[0])
    with pytest.raises(ValueError, match="steps must be between 1 and 200"):
        fixes.descent_demo("clip", 0.0, 1.0, 0.1, 201)


# ---- code panels -----------------------------------------------------------------------------


@pytest.mark.parametrize("config", fast_tier_sample([
    NetworkConfig(), NetworkConfig(dataset="xor", surrogate="atan", optimizer="sgd", settings={"learning_rate": 0.1}),
    NetworkConfig(surrogate=REAL_VALUED, steps=100, hidden=8, seed=3),
    NetworkConfig(dataset="circles", seed=4, scale=4.0, settings={"learning_rate": 0.05}, steps=150),
    NetworkConfig(surrogate="custom", backward="2*exp(-x**2)", optimizer="lion", settings={"learning_rate": 0.001}),
]))
def test_network_snippet_reproduces_the_page(config):
    history = train_network(config)
    code = snippets.network_code(config)
    assert ("jit_compile=True" in code) == xla_compiled(config)  # compiled as the page's run was
    namespace = {"__name__": "__code_panel__"}  # run as run_code does, keeping the script's variables
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(code, "<code panel>", "exec"), namespace)  # our generated code
    assert printed.getvalue().strip() == f"final loss={history.loss[-1]:.6g} accuracy={history.final_accuracy:.4g}"
    # Bit for bit, not only to the digits printed.
    assert float(namespace["loss"]) == history.loss[-1] and float(namespace["accuracy"]) == history.final_accuracy


def test_fix_snippets_print_the_pages_numbers():
    assert run_code(snippets.log1pexp_code(100.0)).split() == ["y=100", "stable", "dy/dx=1", "docs", "dy/dx=1",
                                                          "autodiff", "dy/dx=nan"]
    for x in (-20.0, -12.0, 3.0, 88.0):
        gradients = fixes.compare_log1pexp(np.array([x])).gradients
        assert run_code(snippets.log1pexp_code(x)).splitlines() == [
            f"y={float(fixes.log1pexp(x)):.9g}",
            *(f"{method} dy/dx={gradients[method][0]:.9g}" for method in ("stable", "docs", "autodiff"))]
    for demo, parameter in (("clip", 1.0), ("reverse", 0.7)):
        run = fixes.descent_demo(demo, -2.0, parameter, 0.1, 40)
        lines = run_code(snippets.descent_code(demo, -2.0, parameter, 0.1, 40)).splitlines()
        assert lines[0].endswith(f"x={run.x_with[-1]:.6g}") and lines[1].endswith(f"x={run.x_without[-1]:.6g}")


# ---- pages -----------------------------------------------------------------------------------

def test_network_page_defaults():
    app = open_page("network")
    assert float(metrics(app)["training accuracy"].rstrip("%")) >= 95
    boundary, curves = figures(app)
    # The final boundary's fill and 0.5 line, Play's tiles and line (empty until it starts), the two
    # classes' points, and Play's step.
    assert [t["type"] for t in boundary["data"]] == ["contour", "contour", *["scatter"] * 5]
    assert [t["name"] for t in curves["data"]] == ["sigmoid"] * 3


def test_network_page_every_control():
    app = open_page("network", dataset="xor", seed="3", surrogate="atan", scale="2.0", optimizer="sgd", lr="0.1",
                    steps="200", hidden="16")
    assert not warnings(app)
    expected = train_network(NetworkConfig(dataset="xor", seed=3, surrogate="atan", scale=4.0, optimizer="sgd",
                                           settings={"learning_rate": 0.1}, steps=200, hidden=16))
    assert metrics(app)["training accuracy"] == f"{expected.final_accuracy:.1%}"


def test_network_page_compare_includes_zero_and_the_reference():
    app = open_page("network", compare="true", surrogate="zero")  # the default list never holds the run itself
    assert app.dataframe[0].value["network"].tolist() == ["zero", REAL_VALUED, "sigmoid"]
    app = open_page("network", compare="true")
    table = app.dataframe[0].value
    assert table["network"].tolist() == ["sigmoid", "zero", REAL_VALUED]
    assert table["final accuracy"][2] >= table["final accuracy"][1]
    assert "only the output layer learns" in " ".join(c.value for c in app.caption)


def test_network_play_is_drawn_by_the_browser_from_one_figure():
    app = open_page("network", steps="30")
    assert "play" not in [button.key for button in app.button]  # no server-side play any more
    boundary = figures(app)[0]
    expected = train_network(NetworkConfig(steps=30))
    buttons = boundary["layout"]["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["▶ Play", "❚❚ Pause"] and buttons[0]["method"] == "animate"
    frames = boundary["frames"]
    steps = [int(frame["name"]) for frame in frames]
    assert steps == [*expected.snapshot_steps, 30] and steps == sorted(set(steps))
    by_trace = [dict(zip(frame["traces"], frame["data"])) for frame in frames]
    assert all({2, 3, 6} <= set(frame) for frame in by_trace)  # each frame: the tiles, the 0.5 line, the step
    # The last frame is the boundary shown before Play, the final one.
    final = np.float32(expected.boundary).ravel().tolist()
    assert numbers(by_trace[-1][0], "z") == numbers(by_trace[-1][1], "z") == final
    assert numbers(boundary["data"][0], "z") == final
    np.testing.assert_array_equal(numbers(by_trace[0][2]["marker"], "color"), expected.snapshots[0].ravel())


def _log1pexp_table(app) -> dict[str, str]:
    table = app.dataframe[0].value
    return dict(zip(table["dy/dx by"], table["value (float32)"]))


@pytest.mark.parametrize("x, f, stable, docs, autodiff, warned", [
    # σ(x) and log(1 + e^x) written out: the reference values.
    ("100.0", "100", "1", "1", "nan", ["autodiff"]),
    ("3.0", f"{math.log1p(math.exp(3)):.7g}", f"{1 / (1 + math.exp(-3)):.7g}", f"{1 / (1 + math.exp(-3)):.7g}",
     f"{1 / (1 + math.exp(-3)):.7g}", []),
    ("-12.0", f"{math.log1p(math.exp(-12)):.7g}", f"{math.exp(-12) / (1 + math.exp(-12)):.7g}", None,
     f"{math.exp(-12) / (1 + math.exp(-12)):.7g}", ["docs"]),
])
def test_fixes_page_log1pexp(x, f, stable, docs, autodiff, warned):
    app = open_page("fixes", x=x)
    def close(shown: str, exact: str) -> bool:  # float32 keeps ~7 digits: within 3e-7 relative
        return shown == exact or float(shown) == pytest.approx(float(exact), rel=3e-7)

    assert close(metrics(app)["f(x) = log(1 + eˣ), stable, float32"], f)
    shown = _log1pexp_table(app)
    assert close(shown["stable custom gradient"], stable) and close(shown["exact (float64)"], stable)
    assert close(shown["TF autodiff"], autodiff) and (docs is None or close(shown["the docs' custom gradient"], docs))
    assert [w for w in ("autodiff", "documentation") if any(w in note for note in warnings(app))] == \
        [{"autodiff": "autodiff", "docs": "documentation"}[w] for w in warned]


def test_fixes_page_states_one_measured_threshold_everywhere():
    app = open_page("fixes")
    # In float32, 1/(1 + e^x) leaves the normal range at x = 126 ln 2 and e^x overflows at
    # x = ln(max float32): autodiff's 0 and NaN start at the first 0.01 grid point past each.
    wrong_from = math.ceil(126 * math.log(2) * 100) / 100
    nan_from = math.ceil(math.log(float(np.finfo(np.float32).max)) * 100) / 100
    text = " ".join([*warnings(app), *(c.value for c in app.caption), app.expander[0].markdown[0].value])
    assert f"x ≈ {wrong_from:.2f}" in text and f"x ≈ {nan_from:.2f}" in text
    assert "88.7 " not in text and "below 88" not in text  # no other number for the same thing


@pytest.mark.parametrize("example, key, value", [("clip", "clip", "2.0"), ("reverse", "strength", "0.5")])
def test_fixes_page_descent_examples(example, key, value):
    app = open_page("fixes", example=example, **{key: value}, x="-1.5", lr="0.05", steps="80")
    assert not warnings(app) or example == "clip"
    run = fixes.descent_demo(example, -1.5, float(value), 0.05, 80)
    assert metrics(app)[f"final x with {'clipping' if example == 'clip' else 'reversal'}"] == f"{run.x_with[-1]:.6g}"
    assert len(figures(app)[0]["data"]) == 4
