"""No input, link or combination of controls breaks a page, and every inf or NaN on screen is
explained in words. Hypothesis drives each page through AppTest with random controls."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest_helpers import open_page, warnings, widget
from gradlib import BIVARIATE, DATASETS, ELEMENTARY, MAX_DEPTH, MAX_STEPS, OPTIMIZERS, STEPS, SURROGATES
from gradlib.fixes import DESCENT_LEARNING_RATE, DESCENT_STEPS, DESCENT_X0, LOG1PEXP_X, PARAMETERS
from gradlib.networks import HIDDEN, NETWORK_STEPS, REAL_VALUED, SEED
from gradlib.surrogates import MULTIPLIER
from gradlib.training import LEARNING_RATE
from ui.widgets import MAX_SLIDER_POSITIONS

MULTIPLIER_RANGE = (MULTIPLIER.low, MULTIPLIER.high)

pytestmark = pytest.mark.slow  # minutes: hundreds of random controls and bad links through AppTest

EXAMPLES_PER_PAGE = 130  # 130 on five pages, 25 on the network page: 675 random combinations per run
EXPLANATION_WORDS = ("overflow", "inf", "nan", "not finite", "undefined", "infinite")


def edges(low: float, high: float) -> st.SearchStrategy[float]:
    """Both ends, often, and anything in between."""
    return st.one_of(st.sampled_from([low, high]), st.floats(low, high, allow_nan=False))


def shown_numbers(app) -> list[str]:
    cells = [str(value) for frame in app.dataframe for value in frame.value.to_numpy().ravel()]
    return [metric.value for metric in app.metric] + cells


def assert_sound(app) -> None:
    """No exception, and if a number on screen is inf or NaN, some text on the page says why."""
    assert not app.exception, [e.value for e in app.exception]
    non_finite = [text for text in shown_numbers(app) if text.strip().lower() in ("inf", "-inf", "nan", "infinity")]
    if non_finite:
        words = " ".join(e.value for kind in ("error", "warning", "info", "caption") for e in getattr(app, kind))
        assert any(word in words.lower() for word in EXPLANATION_WORDS), (non_finite, words)


def drive(app, controls: dict[tuple[str, str], object]) -> None:
    """Set each (widget kind, key) to its value, rerun once, and check the page."""
    for (kind, name), value in controls.items():
        widget(app, kind, name).set_value(value)
    app.run()
    assert_sound(app)


SETTINGS = settings(max_examples=EXAMPLES_PER_PAGE, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def pages():
    return {}


def page(pages: dict, name: str):
    if name not in pages:
        pages[name] = open_page(name)
    return pages[name]


@SETTINGS
@given(fn=st.sampled_from(sorted(ELEMENTARY)), x=edges(-3.0, 3.0), depth=st.integers(1, MAX_DEPTH),
       dtype=st.sampled_from(["float32", "float64"]), log=st.booleans(), reveal=st.integers(0, MAX_DEPTH))
def test_chain_page_survives_any_controls(pages, fn, x, depth, dtype, log, reveal):
    app = page(pages, "chain")
    drive(app, {("selectbox", "fn"): fn, ("slider", "x"): x, ("slider", "depth"): depth, ("radio", "dtype"): dtype,
                ("toggle", "log"): log})
    drive(app, {("slider", "reveal"): min(reveal, depth)})  # its range follows depth


@SETTINGS
@given(fn=st.sampled_from(sorted(BIVARIATE)), x=edges(-3.0, 3.0),
       y=st.one_of(st.just(0.0), edges(-3.0, 3.0)), zeros=st.booleans())
def test_multivar_page_survives_any_controls(pages, fn, x, y, zeros):
    drive(page(pages, "multivar"), {("selectbox", "fn"): fn, ("slider", "x"): x, ("slider", "y"): y,
                                    ("toggle", "zeros"): zeros})


@SETTINGS
@given(forward=st.sampled_from(sorted(STEPS)),
       chosen=st.lists(st.sampled_from(sorted(SURROGATES)), min_size=0, max_size=6, unique=True),
       scale=edges(*MULTIPLIER_RANGE), x=edges(-3.0, 3.0))
def test_surrogate_page_survives_any_controls(pages, forward, chosen, scale, x):
    drive(page(pages, "surrogates"), {("radio", "forward"): forward, ("multiselect", "surrogates"): chosen,
                                      ("slider", "scale"): scale, ("slider", "x"): x})


@st.composite
def training_controls(draw):
    optimizer = draw(st.sampled_from(sorted(OPTIMIZERS)))
    own = {s.name: draw(edges(s.low, s.high)) for s in OPTIMIZERS[optimizer].settings[1:]}
    return dict(
        optimizer=optimizer, own=own, lr=draw(st.sampled_from(LEARNING_RATE.options)),
        surrogate=draw(st.sampled_from(sorted(SURROGATES))), scale=draw(edges(*MULTIPLIER_RANGE)),
        x0=draw(edges(-3.0, 3.0)), target=draw(edges(-2.0, 2.0)),
        steps=draw(st.one_of(st.sampled_from([1, MAX_STEPS]), st.integers(1, 300))),
        compare=draw(st.sampled_from(["none", "surrogates", "optimizers"])),
        others=draw(st.lists(st.sampled_from(sorted(SURROGATES)), max_size=5, unique=True)),
        other_optimizers=draw(st.lists(st.sampled_from(sorted(OPTIMIZERS)), max_size=5, unique=True)),
    )


def _kind(setting) -> str:
    """The widget a setting gets (ui.widgets.Controls.number: a box to type in past 1000 positions)."""
    return "number_input" if setting.points > MAX_SLIDER_POSITIONS else "slider"


@SETTINGS
@given(controls=training_controls())
def test_training_page_survives_any_controls(pages, controls):
    app = page(pages, "training")
    drive(app, {("selectbox", "optimizer"): controls["optimizer"]})  # its own settings appear
    own = {setting.name: setting for setting in OPTIMIZERS[controls["optimizer"]].settings}
    drive(app, {**{(_kind(own[name]), f"{controls['optimizer']}/{name}"): value
                   for name, value in controls["own"].items()},
                ("select_slider", "lr"): controls["lr"], ("selectbox", "surrogate"): controls["surrogate"],
                ("slider", "scale"): controls["scale"], ("slider", "x0"): controls["x0"],
                ("slider", "target"): controls["target"], ("number_input", "steps"): controls["steps"],
                ("radio", "compare"): controls["compare"]})
    if controls["compare"] == "surrogates":
        drive(app, {("multiselect", "compare_surrogates"): controls["others"]})
    elif controls["compare"] == "optimizers":
        drive(app, {("multiselect", "compare_optimizers"): controls["other_optimizers"]})
    steps_run = int(app.metric[3].value.split(" / ")[0]) if app.metric else 0
    if steps_run < controls["steps"]:
        assert "became inf or NaN" in app.error[0].value  # a stop is always explained


@settings(max_examples=25, deadline=None,  # each new network shape costs a trace (~0.5 s)
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dataset=st.sampled_from(sorted(DATASETS)), seed=st.sampled_from([0, SEED.high]),
       surrogate=st.sampled_from([*sorted(SURROGATES), REAL_VALUED]), scale=edges(*MULTIPLIER_RANGE),
       optimizer=st.sampled_from(sorted(OPTIMIZERS)), lr=st.sampled_from(LEARNING_RATE.options),
       steps=st.sampled_from([1, 50, NETWORK_STEPS.high]), hidden=st.sampled_from([2, 32, max(HIDDEN.options)]),
       compare=st.booleans())
def test_network_page_survives_any_controls(pages, dataset, seed, surrogate, scale, optimizer, lr, steps, hidden,
                                            compare):
    drive(page(pages, "network"), {("radio", "dataset"): dataset, ("number_input", "seed"): seed,
                                   ("selectbox", "surrogate"): surrogate, ("slider", "scale"): scale,
                                   ("selectbox", "optimizer"): optimizer, ("select_slider", "lr"): lr,
                                   ("number_input", "steps"): steps, ("select_slider", "hidden"): hidden,
                                   ("toggle", "compare"): compare})


@SETTINGS
@given(example=st.sampled_from(["log1pexp", "clip", "reverse"]), x=edges(DESCENT_X0.low, DESCENT_X0.high),
       big_x=edges(LOG1PEXP_X.low, LOG1PEXP_X.high), clip=st.sampled_from(PARAMETERS["clip"].options),
       strength=edges(PARAMETERS["reverse"].low, PARAMETERS["reverse"].high),
       lr=edges(DESCENT_LEARNING_RATE.low, DESCENT_LEARNING_RATE.high),
       steps=st.integers(DESCENT_STEPS.low, DESCENT_STEPS.high))
def test_fixes_page_survives_any_controls(pages, example, x, big_x, clip, strength, lr, steps):
    app = page(pages, "fixes")
    drive(app, {("radio", "example"): example})  # each example has its own controls
    if example == "log1pexp":
        drive(app, {("slider", "log1pexp/x"): big_x})
    else:
        parameter = ("select_slider", "clip", clip) if example == "clip" else ("slider", "strength", strength)
        drive(app, {("slider", f"{example}/x"): x, parameter[:2]: parameter[2], ("slider", f"{example}/lr"): lr,
                    ("slider", f"{example}/steps"): steps})


# ---- Malformed links: each opens the page at the control's default, with a note --------------

BAD_NUMBERS = ["abc", "nan", "NaN", "inf", "-inf", "1e309", "-1e309", "", "99", "-99", "1,5", "0x10", "1 2",
               "null", "९" * 400, "7" * 5000, "💥"]
BAD_WHOLE_NUMBERS = ["abc", "nan", "inf", "1e309", "", "-3", "0", "13", "99999999999999999999", "½", "🙂"]
BAD_IDS = ["cosh", "", "SQUARE", "squares", "null", "💥", "ß" * 3000, "square; DROP TABLE", "../etc/passwd"]
BAD_FLAGS = ["maybe", "", "1", "yes", "truee"]
REPEATED = ["1", "2"]

# page -> (key, widget kind, default, bad values)
CONTROLS = {
    "chain": [("x", "slider", 2.0, BAD_NUMBERS), ("depth", "slider", 3, BAD_WHOLE_NUMBERS),
              ("fn", "selectbox", "square", BAD_IDS), ("dtype", "radio", "float32", ["float16", "", "FLOAT64"]),
              ("log", "toggle", False, BAD_FLAGS)],
    "multivar": [("x", "slider", 2.0, BAD_NUMBERS), ("y", "slider", 3.0, BAD_NUMBERS[:8]),
                 ("fn", "selectbox", "multiply", BAD_IDS), ("zeros", "toggle", False, BAD_FLAGS)],
    "surrogates": [("x", "slider", 3.0, BAD_NUMBERS), ("scale", "slider", 1.0, BAD_NUMBERS[:10] + ["0", "11"]),
                   ("forward", "radio", "sign", BAD_IDS), ("surrogates", "multiselect", ["sigmoid"],
                                                            [["relu"], ["sigmoid", "sigmoid"], ["💥"]])],
    "training": [("x0", "slider", -1.0, BAD_NUMBERS), ("lr", "select_slider", 0.1, BAD_NUMBERS[:9] + ["0", "11", "0.3", "0.00015"]),
                 ("steps", "number_input", 100, BAD_WHOLE_NUMBERS[:6] + ["5001", "1e9"]),
                 ("optimizer", "selectbox", "adam", BAD_IDS + ["adadelta"]),
                 ("surrogate", "selectbox", "sigmoid", BAD_IDS), ("adam/beta_1", "slider", 0.9, BAD_NUMBERS[:8])],
    "network": [("dataset", "radio", "moons", BAD_IDS), ("hidden", "select_slider", 32, BAD_WHOLE_NUMBERS + ["129", "1", "20"]),
                ("seed", "number_input", 0, BAD_WHOLE_NUMBERS[:5] + ["10000"]), ("steps", "number_input", 300, ["2001", "x"])],
    "fixes": [("example", "radio", "log1pexp", BAD_IDS), ("log1pexp/x", "slider", 100.0, [v for v in BAD_NUMBERS if v not in ("99", "-99")] + ["121", "-101", "99.25"])],
}
BAD_LINKS = [(page, key, kind, default, bad) for page, controls in CONTROLS.items()
             for key, kind, default, values in controls for bad in values + [REPEATED]
             if not (kind == "multiselect" and bad == REPEATED)]


def url_name(key: str) -> str:
    return key.rpartition("/")[2]  # "adam/beta_1" is Adam's β₁ control; the link calls it beta_1


def test_at_least_twenty_bad_links_per_page():
    for name in CONTROLS:
        assert sum(1 for case in BAD_LINKS if case[0] == name) >= 20


@pytest.mark.parametrize("page_name, key, kind, default, bad", BAD_LINKS,
                         ids=[f"{p}-{k}-{i}" for i, (p, k, *_rest) in enumerate(BAD_LINKS)])
def test_malformed_link_opens_the_default_with_a_note(page_name, key, kind, default, bad):
    app = open_page(page_name, **{url_name(key): bad})
    value = widget(app, kind, key).value
    assert value == default or (isinstance(default, float) and math.isclose(value, default))
    notes = [note for note in warnings(app) if note.startswith("The link's")]
    assert len(notes) == 1 and f"value for `{url_name(key)}`" in notes[0] and "not valid" in notes[0], warnings(app)
    assert len(notes[0]) < 400  # a long value is shortened, not echoed in full


def test_too_many_surrogates_in_a_link_open_the_default_with_a_note():
    app = open_page("surrogates", surrogates=sorted(SURROGATES)[:7])
    assert widget(app, "multiselect", "surrogates").value == ["sigmoid"]
    assert "value for `surrogates`" in warnings(app)[0]


MARKDOWN_PAYLOADS = ["[Sign in again](http://evil.example/login)", "![i](http://evil.example/pixel.png)",
                     "`x` [a](http://evil.example) `y`", "<img src='http://evil.example/p.png'>",
                     ":red[big] $x^2$ **bold**"]


@pytest.mark.parametrize("page_name, key", sorted({(page, key) for page, key, *_rest in BAD_LINKS}))
@pytest.mark.parametrize("payload", MARKDOWN_PAYLOADS)
def test_link_text_is_never_rendered_as_markdown(page_name, key, payload):
    """A crafted link must not draw links, images or formatting: the value is shown as code."""
    app = open_page(page_name, **{url_name(key): payload})
    rendered = [e.value for kind in ("warning", "markdown", "caption", "info", "error", "success")
                for e in getattr(app, kind)]
    assert not any("evil" in text or "bold" in text for text in rendered), rendered
    assert payload[:37] in [code.value.rstrip("…")[:37] for code in app.code]


def test_every_hostile_formula_typed_into_the_page_gets_a_message_not_a_traceback():
    from test_expressions import HOSTILE

    app = open_page("yours")
    for text in HOSTILE:
        for name in ("f", "g"):
            widget(app, "text_input", name).input(text).run()
            assert_sound(app)
            shown = [e.value for e in app.error]
            assert shown or app.get("plotly_chart"), (name, text)  # refused in words, or drawn
            assert not any("Traceback" in message for message in shown)
        widget(app, "text_input", "f").input("x**2").run()
        widget(app, "text_input", "g").input("2*x").run()
