"""Every page through Streamlit's AppTest, as a visitor uses it: defaults, each control, links."""

import subprocess
import sys

import numpy as np
import pytest

import gradlib
from apptest_helpers import (PAGES, ROOT, code_panel, fast_tier_sample, figures, metrics, numbers, open_page, run_code, share_link,
                             warnings,
                             widget)


def test_home_page_shows_without_tensorflow():
    code = ("import sys; from streamlit.testing.v1 import AppTest; "
            f"app = AppTest.from_file({str(ROOT / 'dashboard.py')!r}, default_timeout=30); app.run(); "
            "assert not app.exception; print(len(app.main.get('page_link')), len(app.sidebar.get('page_link')), "
            "'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.split() == ["7", "8", "False"]  # the pages; the navigation


def test_home_page_links_every_page():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    app.run()
    assert not app.exception
    app.switch_page("pages/1_Chain_rule.py").run()
    assert not app.exception and metrics(app)["dy/dx (custom gradients)"] == "1024"


# ---- Going from page to page ------------------------------------------------------------------

# One change per page, through the controls people use; the training and network ones are the
# paths that used to carry settings into other pages (and crash the network page).
CHANGES = {
    "chain": [("slider", "x", 1.0), ("slider", "depth", 5)],
    "multivar": [("slider", "x", -1.0), ("toggle", "zeros", True)],
    "surrogates": [("slider", "x", 0.5), ("slider", "scale", 2.0)],
    "training": [("slider", "x0", 0.5), ("radio", "compare", "surrogates"), ("select_slider", "lr", 0.01)],
    "network": [("toggle", "compare", True), ("select_slider", "lr", 0.1), ("number_input", "steps", 100)],
    "fixes": [("slider", "log1pexp/x", 2.0), ("radio", "example", "clip")],
}


def _view(app) -> tuple:
    """What a page shows that depends on its settings: metrics, warnings and the code panel,
    which is generated from every setting."""
    return tuple(metrics(app).items()), tuple(warnings(app)), code_panel(app)


def _follow_sidebar_link(app, page: str) -> None:
    # A sidebar link carries no query string (AppTest would keep the last page's; a browser does
    # not: tests/test_browser.py checks that part).
    app.query_params.clear()
    app.switch_page(PAGES[page]).run()
    app.page = page


@pytest.mark.slow  # 30 s: every page after every other (the browser tests go page to page too)
def test_each_page_opens_as_its_link_says_whatever_page_came_before():
    from streamlit.testing.v1 import AppTest

    fresh = {name: _view(open_page(name)) for name in CHANGES}
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    app.run()
    for before in CHANGES:
        _follow_sidebar_link(app, before)
        for kind, name, value in CHANGES[before]:
            widget(app, kind, name).set_value(value).run()
        assert not app.exception and _view(app) != fresh[before]
        for after in CHANGES:
            if after != before:
                _follow_sidebar_link(app, after)
                assert not app.exception, (before, after, [e.value for e in app.exception])
                assert _view(app) == fresh[after], f"{after} opened after {before} is not its default view"
        _follow_sidebar_link(app, before)
        assert _view(app) == fresh[before]  # back by the sidebar: its own defaults again


# ---- Chain rule ------------------------------------------------------------------------------

def test_chain_defaults_are_the_notebook():
    app = open_page("chain")
    assert metrics(app)["dy/dx (custom gradients)"] == "1024"
    trace = app.dataframe[0].value
    assert trace["downstream"].tolist() == [1024.0, 256.0, 32.0]
    assert trace["local f'(x_i)"].tolist() == [4.0, 8.0, 32.0]
    printout = app.code[0].value
    assert "x=16\tupstream=1\tcurrent=32\tdownstream=32" in printout and "final dy/dx=1024" in printout
    checks = app.dataframe[1].value
    assert [float(v) for v in checks["dy/dx"]] == [1024.0] * 4


def test_chain_diagram_and_curves_carry_the_data():
    app = open_page("chain")
    diagram, curves = figures(app)
    nodes, gradients = diagram["data"]
    assert [t.split("<br>")[1] for t in nodes["text"]] == ["2", "4", "16", "256"]
    assert [t.split("↓ ")[1] for t in gradients["text"]] == ["32", "256", "1024"]
    y_curve, y_marker, slope_curve, slope_marker = curves["data"]
    assert y_marker["x"] == [2.0] and numbers(y_marker) == [256.0]
    assert numbers(slope_marker) == [1024.0]
    np.testing.assert_allclose(numbers(y_curve), np.asarray(numbers(y_curve, "x")) ** 8, rtol=1e-5)


def test_chain_backward_steps_one_stage_at_a_time():
    app = open_page("chain")
    for shown in range(0, 4):
        app.slider(key="chain_reveal").set_value(shown).run()
        assert len(figures(app)[0]["data"][1]["x"]) == shown
    app.slider(key="chain_reveal").set_value(1).run()
    assert "Stage 3 received upstream = 1" in app.info[0].value


@pytest.mark.parametrize("fn", fast_tier_sample(sorted(gradlib.ELEMENTARY, key=lambda fn: fn != "square")))
def test_chain_every_function(fn):
    app = open_page("chain")
    app.selectbox(key="chain_fn").set_value(fn).run()
    app.slider(key="chain_x").set_value(0.7).run()
    app.slider(key="chain_depth").set_value(4).run()
    expected = gradlib.trace_chain(fn, 0.7, 4).dydx
    assert float(metrics(app)["dy/dx (custom gradients)"]) == pytest.approx(expected, rel=1e-6)


def test_chain_overflow_is_explained_and_float64_fixes_it():
    app = open_page("chain", depth="7")
    assert "Forward stage 7" in app.error[0].value and "float64" in app.error[0].value
    app.radio(key="chain_dtype").set_value("float64").run()
    assert not app.error
    assert float(metrics(app)["dy/dx (custom gradients)"]) == pytest.approx(128 * 2.0 ** 127)


def test_chain_log_scale_plots_magnitudes():
    app = open_page("chain", x="-1.5")
    app.toggle(key="chain_log").set_value(True).run()
    curves = figures(app)[1]
    assert curves["layout"]["yaxis"]["type"] == "log"
    assert min(v for v in numbers(curves["data"][2]) if v is not None) >= 0


def test_chain_depth_shrinking_below_the_backward_step_keeps_working():
    app = open_page("chain", depth="8", reveal="6")
    app.slider(key="chain_depth").set_value(2).run()
    assert not app.exception and app.slider(key="chain_reveal").value == 2


def test_chain_link_sets_every_control():
    app = open_page("chain", fn="sin", x="1.5", depth="4", dtype="float64", log="true", reveal="2")
    assert not warnings(app)
    assert (app.selectbox(key="chain_fn").value, app.slider(key="chain_x").value, app.slider(key="chain_depth").value,
            app.radio(key="chain_dtype").value, app.toggle(key="chain_log").value, app.slider(key="chain_reveal").value) == \
        ("sin", 1.5, 4, "float64", True, 2)
    assert float(metrics(app)["dy/dx (custom gradients)"]) == pytest.approx(
        gradlib.trace_chain("sin", 1.5, 4, "float64").dydx, rel=1e-9)


@pytest.mark.parametrize("params, key", fast_tier_sample(fast=3, cases=[
    ({"x": "abc"}, "x"), ({"x": "nan"}, "x"), ({"x": "1e309"}, "x"), ({"x": "99"}, "x"),
    ({"depth": "-3"}, "depth"), ({"depth": "13"}, "depth"), ({"depth": ""}, "depth"),
    ({"fn": "cosh"}, "fn"), ({"dtype": "float16"}, "dtype"), ({"log": "maybe"}, "log"),
    ({"x": ["1", "2"]}, "x"), ({"fn": "ß" * 500}, "fn"),
]))
def test_chain_malformed_links_fall_back_with_a_note(params, key):
    app = open_page("chain", **params)
    notes = warnings(app)
    assert len(notes) == 1 and f"value for `{key}`" in notes[0] and "not valid" in notes[0]
    assert len(notes[0]) < 300
    assert metrics(app)["dy/dx (custom gradients)"] == "1024"  # every control at its default


# ---- Multiple variables ----------------------------------------------------------------------

def test_multivar_defaults_are_the_notebook():
    app = open_page("multivar")
    assert metrics(app) == {"z": "6", "∂z/∂x": "3", "∂z/∂y": "2", "∂z/∂w": "None", "tape.gradient(x, y)": "None"}


def test_multivar_zeros_toggle_turns_none_into_zero():
    app = open_page("multivar")
    app.toggle(key="multivar_zeros").set_value(True).run()
    assert metrics(app)["∂z/∂w"] == "0" and metrics(app)["tape.gradient(x, y)"] == "0"


@pytest.mark.parametrize("fn", sorted(gradlib.BIVARIATE))
def test_multivar_every_function_and_point(fn):
    app = open_page("multivar", fn=fn, x="1.5", y="-2")
    expected = gradlib.partial_derivatives(fn, 1.5, -2.0)
    shown = metrics(app)
    assert float(shown["z"]) == pytest.approx(expected.z)
    assert float(shown["∂z/∂x"]) == pytest.approx(expected.dz_dx)
    assert float(shown["∂z/∂y"]) == pytest.approx(expected.dz_dy)
    field = figures(app)[0]
    assert field["data"][0]["type"] == "contour"
    assert field["data"][-1]["x"] == [1.5] and field["data"][-1]["y"] == [-2.0]


def test_multivar_division_by_zero_is_explained():
    app = open_page("multivar", fn="divide", y="0")
    assert "division by y = 0" in app.error[0].value


def test_multivar_sliders_move_the_point():
    app = open_page("multivar")
    app.slider(key="multivar_x").set_value(-1.0).run()
    app.slider(key="multivar_y").set_value(0.5).run()
    assert metrics(app)["z"] == "-0.5"
    assert figures(app)[0]["data"][-1]["x"] == [-1.0]


# ---- Surrogate gradients ---------------------------------------------------------------------

def test_surrogate_defaults_are_the_notebook():
    app = open_page("surrogates")
    row = app.dataframe[0].value.iloc[0]
    assert row["sign(x)"] == 1.0 and row["true derivative"] == "0"
    assert row["surrogate gradient (tape)"] == pytest.approx(0.0451766551, rel=1e-6)
    assert row["area under g"] == pytest.approx(1.0)


def test_surrogate_overlay_and_scale():
    app = open_page("surrogates", surrogates=["sigmoid", "atan", "zero"], x="0.5")
    table = app.dataframe[0].value
    assert table["surrogate"].tolist() == ["sigmoid (k=1)", "atan (α=2)", "zero"]
    figure = figures(app)[0]
    assert len(figure["data"]) == 2 + 2 * 3  # step, true derivative, and a primitive and a derivative each
    app.slider(key="surrogates_scale").set_value(2.0).run()
    table = app.dataframe[0].value
    assert table["surrogate"].tolist()[:2] == ["sigmoid (k=2)", "atan (α=4)"]
    expected = 2 * (1 / (1 + np.exp(-1.0))) * (1 - 1 / (1 + np.exp(-1.0)))
    assert table["surrogate gradient (tape)"][0] == pytest.approx(expected, rel=1e-5)


def test_surrogate_heaviside_forward():
    app = open_page("surrogates")
    app.radio(key="surrogates_forward").set_value("heaviside").run()
    app.slider(key="surrogates_x").set_value(-1.0).run()
    assert app.dataframe[0].value["heaviside(x)"][0] == 0.0
    assert numbers(figures(app)[0]["data"][0])[0] == 0.0


def test_surrogate_every_id_through_the_link():
    ids = sorted(gradlib.SURROGATES)
    for start in range(0, len(ids), 6):
        app = open_page("surrogates", surrogates=ids[start:start + 6])
        assert not warnings(app) and len(app.dataframe[0].value) == len(ids[start:start + 6])


def test_surrogate_unknown_ids_are_noted():
    app = open_page("surrogates", surrogates=["sigmoid", "relu"])
    assert "value for `surrogates`" in warnings(app)[0] and app.code[0].value == "sigmoid&relu"


def test_surrogate_empty_selection_asks_for_one():
    app = open_page("surrogates")
    app.multiselect(key="surrogates_surrogates").set_value([]).run()
    assert "Choose at least one surrogate" in app.info[0].value


# ---- Training --------------------------------------------------------------------------------

NOTEBOOK_X = [-0.89999783, 0.0995881185, 0.6450876, 0.855591536, 0.938390434, 0.970632374, 0.983009696,
              0.987700462, 0.989459515, 0.990113616]


def test_training_defaults_reproduce_the_notebook_table():
    app = open_page("training")
    table = app.dataframe[0].value
    assert table["step"].tolist() == list(range(0, 100, 10))
    # Keras 3's Adam differs from the notebook's in the 5th digit: 1e-4.
    np.testing.assert_allclose(table["x"], NOTEBOOK_X, atol=1e-4)
    assert table["loss"].tolist() == [2.0] + [0.0] * 9
    assert metrics(app)["steps run"] == "100 / 100"


def test_training_figures_carry_the_history():
    app = open_page("training")
    training, state = figures(app)
    loss, x, grad, y = training["data"]
    history = gradlib.train(gradlib.TrainingConfig())
    np.testing.assert_allclose(numbers(x), history.x, rtol=1e-6)
    np.testing.assert_allclose(numbers(grad), history.grad, rtol=1e-6)
    assert [t["name"] for t in state["data"]] == ["momentum", "velocity"]


@pytest.mark.parametrize("kind, key, value", fast_tier_sample(fast=2, cases=[("slider", "x0", 0.5), ("slider", "target", -1.0),
                                              ("slider", "scale", 3.0), ("number_input", "steps", 40),
                                              ("slider", "adam/beta_1", 0.5), ("number_input", "adam/beta_2", 0.9)]))
def test_training_each_control_changes_the_run(kind, key, value):
    app = open_page("training")
    before = figures(app)[0]["data"][1]
    widget(app, kind, key).set_value(value).run()
    assert not app.exception
    assert numbers(figures(app)[0]["data"][1]) != numbers(before)


def test_training_learning_rate_and_optimizer_settings():
    app = open_page("training")
    app.select_slider(key="training_lr").set_value(0.01).run()
    assert float(metrics(app)["final x"]) != pytest.approx(0.990333, abs=1e-3)
    app.selectbox(key="training_optimizer").set_value("rmsprop").run()
    assert widget(app, "slider", "rmsprop/rho").value == 0.9
    widget(app, "slider", "rmsprop/rho").set_value(0.5).run()
    expected = gradlib.train(gradlib.TrainingConfig(optimizer="rmsprop",
                                                    settings={"learning_rate": 0.01, "rho": 0.5}))
    assert float(metrics(app)["final x"]) == pytest.approx(expected.x[-1], rel=1e-5)
    app.selectbox(key="training_optimizer").set_value("momentum").run()
    widget(app, "slider", "momentum/momentum").set_value(0.5).run()
    assert not app.exception


def test_training_each_optimizer_keeps_its_own_settings():
    app = open_page("training")
    widget(app, "number_input", "adam/beta_2").set_value(0.9).run()
    app.selectbox(key="training_optimizer").set_value("lion").run()
    assert widget(app, "number_input", "lion/beta_2").value == 0.99  # Lion's own default, not Adam's
    app = open_page("training", optimizer="lion", beta_2="0.95")  # a link sets the linked optimizer's
    assert widget(app, "number_input", "lion/beta_2").value == 0.95
    app.selectbox(key="training_optimizer").set_value("adam").run()
    assert widget(app, "number_input", "adam/beta_2").value == 0.999


@pytest.mark.parametrize("optimizer", fast_tier_sample(sorted(gradlib.OPTIMIZERS, key=lambda name: name != "sgd")))
def test_training_every_optimizer_through_the_link(optimizer):
    app = open_page("training", optimizer=optimizer)
    expected = gradlib.train(gradlib.TrainingConfig(optimizer=optimizer))
    assert float(metrics(app)["final x"]) == pytest.approx(expected.x[-1], rel=1e-5)


def test_training_zero_surrogate_never_moves():
    app = open_page("training", surrogate="zero")
    assert metrics(app)["final x"] == "-1"


def test_training_compare_modes_overlay_runs():
    app = open_page("training", compare="surrogates")
    names = {t["name"] for t in figures(app)[0]["data"]}
    assert names == {"sigmoid · Adam", "ste · Adam", "zero · Adam"}
    zero_x = next(t for t in figures(app)[0]["data"] if t["name"] == "zero · Adam" and t["yaxis"] == "y2")
    assert set(numbers(zero_x)) == {-1.0}
    app = open_page("training", compare="optimizers", compare_optimizers=["sgd", "lion", "nadam"])
    assert {t["name"] for t in figures(app)[0]["data"]} == {"sigmoid · Adam", "sigmoid · SGD", "sigmoid · Lion",
                                                           "sigmoid · Nadam"}


@pytest.mark.parametrize("params, key, expected", [
    ({"optimizer": "sgd", "compare": "optimizers"}, "compare_optimizers", ["momentum", "adam"]),
    ({"optimizer": "momentum", "compare": "optimizers"}, "compare_optimizers", ["sgd", "adam"]),
    ({"surrogate": "ste", "compare": "surrogates"}, "compare_surrogates", ["zero", "sigmoid"]),
    ({"compare": "optimizers"}, "compare_optimizers", ["sgd", "momentum"]),
])
def test_training_compare_defaults_never_hold_the_run_itself(params, key, expected):
    app = open_page("training", **params)
    assert widget(app, "multiselect", key).value == expected
    assert len({t["name"] for t in figures(app)[0]["data"]}) == 3


def test_training_play_is_drawn_by_the_browser_from_one_figure():
    app = open_page("training", steps="12")
    assert "play" not in [button.key for button in app.button]  # no server-side play any more
    figure = figures(app)[0]
    assert [frame["name"] for frame in figure["frames"]] == [str(n) for n in range(1, 13)]
    assert figure["layout"]["updatemenus"][0]["buttons"][0]["label"] == "▶ Play"


def test_training_history_downloads_as_csv():
    app = open_page("training")
    assert app.get("download_button")[0].label == "Download the history (CSV)"


def test_training_diverging_run_is_explained():
    app = open_page("training", optimizer="adamw", lr="10.0", weight_decay="0.5", steps="200")
    assert "became inf or NaN" in app.error[0].value
    assert int(metrics(app)["steps run"].split(" / ")[0]) < 200


def test_training_malformed_links_fall_back_with_a_note():
    app = open_page("training", optimizer="adadelta", lr="-1", steps="1e9", surrogate="", compare="all")
    notes = " ".join(warnings(app))
    for key in ("optimizer", "lr", "steps", "surrogate", "compare"):
        assert f"value for `{key}`" in notes
    table = app.dataframe[0].value
    np.testing.assert_allclose(table["x"], NOTEBOOK_X, atol=1e-4)


# ---- Your gradient ---------------------------------------------------------------------------

def test_yours_defaults_are_the_notebook_foo():
    app = open_page("yours")
    assert "agrees with the exact derivative" in app.success[0].value
    assert metrics(app)["dy/dx (custom gradients)"] == "1024"
    assert "x=2\tupstream=256\tcurrent=4\tdownstream=1024" in app.code[0].value
    top, bottom = figures(app)[0]["data"][0], figures(app)[0]["data"][1:]
    xs = np.array(numbers(top, "x"))
    np.testing.assert_allclose(numbers(top), xs ** 2, rtol=1e-6)  # f(x) = x², drawn
    assert [t["name"] for t in bottom] == ["f′ exact (sympy)", "TF autodiff of f", "finite difference",
                                           "g, your backward"]


def test_yours_typed_backward_is_checked_live():
    app = open_page("yours")
    app.text_input(key="yours_g").input("4*x").run()
    assert "wrong by a factor 2 everywhere" in app.warning[0].value
    assert metrics(app)["dy/dx (custom gradients)"] == "8192"  # 2³ × 1024 through three stages
    shaded = [s for s in figures(app)[0]["layout"]["shapes"] if s["type"] == "rect"]
    # Wrong everywhere but at x = 0, where 4x and 2x are both 0.
    assert [(round(s["x0"], 3), round(s["x1"], 3)) for s in shaded] == [(-3.005, -0.005), (0.005, 3.005)]
    app.text_input(key="yours_g").input("2*x +").run()
    assert "ends too early" in app.error[0].value and not app.get("plotly_chart")


def test_yours_surrogate_is_labelled_not_an_error():
    app = open_page("yours", f="x/abs(x)", g="sigmoid(x)*(1 - sigmoid(x))")
    assert "surrogate gradient, on purpose" in app.info[0].value and not app.warning


def test_yours_code_panel_reproduces_the_numbers():
    app = open_page("yours", f="sin(x)", g="cos(x)", x="0.5", depth="4", dtype="float64")
    printed = run_code(code_panel(app))
    assert f"final dy/dx={float(metrics(app)['dy/dx (custom gradients)']):.9g}" in printed


def test_yours_links_carry_the_pair_to_the_other_pages():
    app = open_page("yours", f="sin(x)", g="2*cos(x)")
    links = {link.label: link for link in app.get("page_link")}
    chain = links["In the chain rule"].proto
    assert chain.page == "Chain_rule" and "fn=custom" in chain.query_string
    assert "f=sin%28x%29" in chain.query_string and "g=2%2Acos%28x%29" in chain.query_string
    assert "surrogate=custom" in links["g as the surrogate in training"].proto.query_string
    app = open_page("chain", fn="custom", f="sin(x)", g="2*cos(x)", x="0.5", depth="2")
    expected = gradlib.trace_chain(gradlib.Elementary.from_formulas(gradlib.formula("sin(x)"),
                                                                    gradlib.formula("2*cos(x)")), 0.5, 2)
    assert float(metrics(app)["dy/dx (custom gradients)"]) == pytest.approx(expected.dydx, rel=1e-6)
    app = open_page("training", surrogate="custom", g="1")  # the straight-through estimator, typed
    expected = gradlib.train(gradlib.TrainingConfig(surrogate="ste"))
    assert metrics(app)["final x"] == f"{expected.x[-1]:.6g}"
    app = open_page("network", surrogate="custom", g="sigmoid(x)*(1 - sigmoid(x))", steps="60")
    expected = gradlib.train_network(gradlib.NetworkConfig(surrogate="custom", steps=60,
                                                           backward="sigmoid(x)*(1 - sigmoid(x))"))
    assert metrics(app)["training accuracy"] == f"{expected.final_accuracy:.1%}"


@pytest.mark.parametrize("page, params", [
    ("yours", {"f": "__import__('os')"}), ("yours", {"g": "x" * 5000}), ("chain", {"fn": "custom", "f": "lambda: 1"}),
    ("training", {"surrogate": "custom", "g": "().__class__"}), ("network", {"surrogate": "custom", "g": "9**9**9"}),
])
def test_a_bad_formula_in_a_link_opens_the_default_with_a_note(page, params):
    app = open_page(page, **params)
    name = next(k for k in params if k in ("f", "g"))
    assert f"value for `{name}`" in warnings(app)[0] and not app.exception


def test_each_typed_formula_costs_at_most_one_trainer():
    app = open_page("training", surrogate="custom", g="1")
    before = gradlib.training.trace_count()
    for _ in range(2):
        for text in ("2*exp(-x**2)", "1/(1 + 5*abs(x))**2"):
            app.text_input(key="training_g").input(text).run()
            assert not app.exception
    assert gradlib.training.trace_count() - before == 2


def test_the_server_tuning_stays_out_of_the_tests():
    """gc.freeze and the clear_session stand-in belong to a server started by server.py (ui/server.py):
    a page run here leaves Python's collector and Keras as they are, whatever ran before."""
    import gc

    import keras

    from ui import server

    open_page("training")
    assert gc.get_freeze_count() == 0
    assert keras.backend.clear_session is not server._skip_keras_clear_session


@pytest.mark.parametrize("page", fast_tier_sample(list(PAGES)))
def test_every_page_shares_its_view_and_offers_its_code_as_a_notebook(page):
    app = open_page(page)
    assert [b.label for b in app.get("download_button") if b.label == "Download as notebook"] == ["Download as notebook"]
    assert "present" not in share_link(app)  # at the defaults the link holds no parameter at all
    assert "Reset to the defaults" in [button.label for button in app.button]
    assert not app.get("image")  # the QR code: on request, or in presenter mode
    app.toggle(key="qr").set_value(True).run()
    assert len(app.get("image")) == 1
    assert len(open_page(page, present="1").get("image")) == 1


def test_the_share_link_is_the_view_and_reset_goes_back_to_the_defaults():
    app = open_page("chain", x="1.25", depth="4")
    assert share_link(app).endswith("?x=1.25&depth=4")
    assert metrics(app)["dy/dx (custom gradients)"] != "1024"
    next(button for button in app.button if button.label == "Reset to the defaults").click().run()
    assert metrics(app)["dy/dx (custom gradients)"] == "1024" and not app.query_params
    assert share_link(app).endswith("Chain_rule") or "?" not in share_link(app)


@pytest.mark.parametrize("page, main", fast_tier_sample([("chain", ["x", "depth"]), ("multivar", ["x", "y"]), ("surrogates", ["x"]),
                                        ("training", ["x0"]), ("fixes", ["log1pexp/x"]), ("yours", ["x"])]))
def test_presenter_mode_puts_the_main_controls_on_the_page_and_folds_the_rest(page, main):
    app = open_page(page, present="1")
    for name in main:
        owner, _, name = name.rpartition("/")
        key = "_".join(part for part in (page, owner, name) if part)
        assert key in [s.key for s in app.main.slider] and key not in [s.key for s in app.sidebar.slider]
    assert share_link(app).endswith("?present=1")
    labels = [expander.label for expander in app.expander]
    assert "The math" in labels and "What to try" in labels
    plain = open_page(page)
    assert "The math" not in [expander.label for expander in plain.expander]
    assert key in [s.key for s in plain.sidebar.slider]  # the last main control, in the sidebar again
