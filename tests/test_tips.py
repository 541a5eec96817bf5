"""Every "What to try" statement that states a number is checked: the page is opened as the tip
says, the number is read off the page, and it is compared with an independent computation
(mpmath, plain Python, or the notebook's own printout), never with gradlib's output alone."""

import math
import re
from pathlib import Path

import mpmath
import numpy as np
import pytest

from apptest_helpers import figures, metrics, numbers, open_page



def tips(app) -> list[str]:
    box = next(expander for expander in app.expander if expander.label == "What to try")
    return [line.removeprefix("- ") for line in box.markdown[0].value.splitlines()]


def tip(app, page: str, start: str) -> str:
    """The page's tip that starts with ``start`` (a literal call in this file marks it as checked)."""
    return next(text for text in tips(app) if text.startswith(start))


# ---- Chain rule ------------------------------------------------------------------------------

def test_chain_tips():
    app = open_page("chain")
    assert "dy/dx = 1024 = 8·2⁷" in tip(app, "chain", "The notebook: square, x = 2, depth 3")
    assert metrics(app)["dy/dx (custom gradients)"] == "1024" and 8 * 2 ** 7 == 1024  # d/dx x⁸ = 8x⁷

    text = tip(app, "chain", "Depth 7 at x = 2 in float32")
    assert "2¹²⁸" in text and "depth 9 (2⁵¹²)" in text and "depth 10, 2¹⁰²⁴" in text
    assert 2.0 ** 128 > float(np.finfo(np.float32).max) and 2.0 ** 512 < float(np.finfo(np.float64).max)
    assert mpmath.mpf(2) ** 1024 > mpmath.mpf(np.finfo(np.float64).max)
    assert "overflows" in open_page("chain", depth="7").error[0].value
    assert not open_page("chain", depth="9", dtype="float64").error
    assert "overflows" in open_page("chain", depth="10", dtype="float64").error[0].value

    text = tip(app, "chain", "sin or tanh at x = 2")
    for fn, derivative, first, last in (("sin", mpmath.cos, "0.42", "0.040"),
                                        ("tanh", lambda v: 1 / mpmath.cosh(v) ** 2, "0.071", "0.0028")):
        exact = []
        value, product = mpmath.mpf(2), mpmath.mpf(1)
        for _ in range(12):
            product *= derivative(value)
            value = getattr(mpmath, fn)(value)
            exact.append(abs(product))
        assert all(b < a for a, b in zip(exact, exact[1:]))  # it shrinks at every depth
        assert float(first) == float(f"{float(exact[0]):.2g}") and float(last) == float(f"{float(exact[-1]):.2g}")
        assert first in text and last in text
        shown = float(metrics(open_page("chain", fn=fn, depth="12"))["dy/dx (custom gradients)"])
        assert abs(shown) == pytest.approx(float(exact[-1]), rel=1e-5)

    text = tip(app, "chain", "exp at depth 3 and x = 1")
    assert "3.8 million" in text and f"{float(mpmath.exp(mpmath.exp(mpmath.e))):.2g}" == "3.8e+06"
    page = open_page("chain", fn="exp", x="1.0", depth="3")
    assert float(page.dataframe[0].value["output f(x_i)"].iloc[1]) == pytest.approx(float(mpmath.exp(mpmath.e)),
                                                                                     rel=1e-6)


# ---- Multiple variables ----------------------------------------------------------------------

def test_multivar_tips():
    app = open_page("multivar")
    assert "z = 6, ∂z/∂x = 3 = y, ∂z/∂y = 2 = x" in tip(app, "multivar", "The notebook: multiply at (2, 3)")
    shown = metrics(app)
    assert (shown["z"], shown["∂z/∂x"], shown["∂z/∂y"], shown["tape.gradient(x, y)"]) == ("6", "3", "2", "None")

    assert "become 0" in tip(app, "multivar", "Turn on unconnected_gradients=ZERO")
    shown = metrics(open_page("multivar", zeros="true"))
    assert shown["∂z/∂w"] == "0" and shown["tape.gradient(x, y)"] == "0"

    assert "at y = 0 exactly they are inf" in tip(app, "multivar", "divide with y near 0")
    shown = metrics(open_page("multivar", fn="divide", y="0.0"))
    assert shown["∂z/∂x"] == "inf" and shown["∂z/∂y"] == "-inf"  # 1/0 and −2/0

    assert "length 1" in tip(app, "multivar", "hypot")
    shafts = figures(open_page("multivar", fn="hypot"))[0]["data"][1]  # (start, tip, gap) per arrow
    starts, ends = (np.column_stack([numbers(shafts, "x"), numbers(shafts)])[offset::3] for offset in (0, 1))
    arrows, away = ends - starts, np.linalg.norm(starts, axis=1) > 0
    lengths = np.linalg.norm(arrows[away], axis=1)  # drawn to one scale: all equal when all are 1
    np.testing.assert_allclose(lengths, lengths[0], rtol=1e-4)
    unit_away = starts[away] / np.linalg.norm(starts[away], axis=1, keepdims=True)  # ∇r = (x, y)/r
    np.testing.assert_allclose(arrows[away] / lengths[:, None], unit_away, atol=1e-4)


# ---- Surrogate gradients ---------------------------------------------------------------------

def test_surrogate_tips():
    app = open_page("surrogates")
    text = tip(app, "surrogates", "The notebook: sign with the sigmoid surrogate")
    notebook = 0.0451766551  # what the notebook prints for tape.gradient(y, x)
    exact = float(mpmath.exp(-3) / (1 + mpmath.exp(-3)) ** 2)  # σ(3)(1 − σ(3))
    assert "0.04517666" in text and "0.0451766551" in text
    assert f"{exact:.7g}" == "0.04517666" and f"{notebook:.7g}" == "0.04517666"
    row = app.dataframe[0].value.iloc[0]
    assert row["sign(x)"] == 1.0 and row["surrogate gradient (tape)"] == pytest.approx(exact, rel=2e-7)

    assert "area stays 1" in tip(app, "surrogates", "Raise the scale")
    for scale in ("0.1", "5.0", "10.0"):
        assert open_page("surrogates", scale=scale).dataframe[0].value["area under g"][0] == pytest.approx(1.0)

    text = tip(app, "surrogates", "fast_sigmoid's default")
    assert "k = 25" in text and "area 0.08" in text
    area = mpmath.quad(lambda v: 1 / (1 + 25 * abs(v)) ** 2, [-mpmath.inf, 0, mpmath.inf])  # SuperSpike
    assert f"{float(area):.2g}" == "0.08"
    shown = open_page("surrogates", surrogates="fast_sigmoid").dataframe[0].value["area under g"][0]
    assert shown == pytest.approx(float(area), rel=1e-9)


# ---- Training --------------------------------------------------------------------------------

def test_training_tips():
    app = open_page("training")
    text = tip(app, "training", "The defaults are the notebook's")
    assert "Adam 0.1 from x0 = −1" in text and "step 10 (after 11 updates) shows x ≈ 0.0996" in text
    table = app.dataframe[0].value
    assert table["step"][1] == 10 and f"{table['x'][1]:.3g}" == "0.0996"
    assert f"{0.0995881185:.3g}" == "0.0996"  # the notebook's own row for step 10

    assert "become 0" in tip(app, "training", "Compare optimizers: SGD stops as soon as sign(x) is right")
    runs = figures(open_page("training", compare="optimizers", compare_optimizers=["sgd", "lion"]))[0]["data"]
    x_of = {t["name"].split(" · ")[1]: np.array(numbers(t)) for t in runs if t.get("yaxis") == "y2"}
    # Plain SGD by hand: x += 0.1 · 2σ'(x) while sign(x) = −1 (the loss gradient is −2σ'(x)).
    x, sgd = -1.0, []
    while x <= 0:
        s = 1 / (1 + math.exp(-x))
        x += 0.1 * 2 * s * (1 - s)
        sgd.append(x)
    right = len(sgd) - 1  # the step at which sign(x) became right
    # float32 steps against float64 ones: 22 updates of size ~0.04 carry ~1e-8 rounding each, which
    # is a large relative error only where x crosses 0 (the last value, 0.0063): hence the atol.
    np.testing.assert_allclose(x_of["SGD"][:right + 1], sgd, rtol=1e-5, atol=2e-7)
    assert np.all(x_of["SGD"][right:] == x_of["SGD"][right])  # then nothing moves it
    for name in ("Adam", "Lion"):
        assert np.any(np.diff(x_of[name][right + 5:]) != 0)  # they keep going

    assert "target to 0" in tip(app, "training", "Set the target to 0")
    run = open_page("training", target="0.0", steps="300")
    x = np.array(numbers(next(t for t in figures(run)[0]["data"] if t.get("yaxis") == "y2")))
    loss = np.array(numbers(figures(run)[0]["data"][0]))
    assert loss.min() > 0  # sign(x) is ±1: the loss is at least ½
    assert np.count_nonzero(np.diff(np.sign(x)) != 0) >= 10  # x keeps crossing 0


# ---- Binarized network -----------------------------------------------------------------------

def _accuracy(app) -> str:
    return metrics(app)["training accuracy"]


def test_network_tips():
    app = open_page("network")
    text = tip(app, "network", "The default (two moons")
    stated = float(re.search(r"reaches (\S+)% training accuracy", text).group(1))
    assert stated == float(_accuracy(app).rstrip("%"))

    text = tip(app, "network", "Compare with zero")
    zero = open_page("network", surrogate="zero")
    assert metrics(zero)["‖∂L/∂W₁‖ at the last step"] == "0" and f"stop at {float(_accuracy(zero).rstrip('%')):g}%" in text

    text = tip(app, "network", "Spirals need more")
    default, bigger = open_page("network", dataset="spirals"), open_page("network", dataset="spirals", hidden="128",
                                                                           steps="1500")
    assert f"{float(_accuracy(default).rstrip('%')):g}% at the defaults" in text
    assert f"{float(_accuracy(bigger).rstrip('%')):g}% with 128 hidden units and 1500 steps" in text


# ---- Gradient fixes --------------------------------------------------------------------------

def _sigmoid(x: float) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-mpmath.mpf(x)))


def test_fixes_log1pexp_tips():
    mpmath.mp.dps = 50
    app = open_page("fixes")
    values = dict(zip(app.dataframe[0].value["dy/dx by"], app.dataframe[0].value["value (float32)"]))
    assert "autodiff gives NaN; both custom gradients give 1" in tip(app, "fixes", "At x = 100")
    assert values["TF autodiff"] == "nan" and values["stable custom gradient"] == "1"
    assert values["the docs' custom gradient"] == "1"

    text = tip(app, "fixes", "Move x to 88")
    at_88 = dict(zip(*(open_page("fixes", x="88.0").dataframe[0].value[c] for c in ("dy/dx by", "value (float32)"))))
    assert at_88["TF autodiff"] == "0" and f"{float(_sigmoid(88)):.7g}" == "1"
    # 1/(1 + e^x) leaves float32's normal range (smallest 2^−126) at x = 126 ln 2 = 87.34.
    assert f"x ≈ {126 * math.log(2):.2f}" in text

    text = tip(app, "fixes", "Move x to −10")
    exact = float(_sigmoid(-10))
    docs = float(np.float32(1) - np.float32(1) / (np.float32(1) + np.exp(np.float32(-10))))  # float32, as TF does
    assert f"{docs:.7g}" in text and f"{exact:.7g}" in text and f"{100 * abs(docs - exact) / exact:.2g}%" in text
    at_minus_10 = dict(zip(*(open_page("fixes", x="-10.0").dataframe[0].value[c]
                             for c in ("dy/dx by", "value (float32)"))))
    assert at_minus_10["the docs' custom gradient"] == f"{docs:.7g}"
    assert at_minus_10["stable custom gradient"] == f"{exact:.7g}"
    at_minus_20 = dict(zip(*(open_page("fixes", x="-20.0").dataframe[0].value[c]
                             for c in ("dy/dx by", "value (float32)"))))
    assert at_minus_20["the docs' custom gradient"] == "0" and "at −20 it gives 0" in text
    assert at_minus_20["stable custom gradient"] == f"{float(_sigmoid(-20)):.7g}"

    text = tip(app, "fixes", "Read the relative-error panel")
    normal_from = math.log(np.finfo(np.float32).tiny)  # σ(x) ≈ e^x for x ≪ 0: −87.34
    assert "about 1e-7" in text and f"x above {normal_from:.1f}".replace("-", "−") in text
    stable = next(t for t in figures(app)[0]["data"] if t["name"] == "stable custom gradient" and t.get("yaxis") == "y2")
    errors, xs = np.array(numbers(stable), dtype=float), np.array(numbers(stable, "x"))
    assert np.nanmax(errors) < 1e-6 and np.all(np.isfinite(errors[xs > normal_from + 0.1]))


def _descent(x: float, learning_rate: float, steps: int, gradient) -> list[float]:
    path = []
    for _ in range(steps):
        x -= learning_rate * gradient(x)
        path.append(x)
    return path


def test_fixes_clip_tips():
    app = open_page("fixes", example="clip")
    text = tip(app, "fixes", "From x = −2 the raw gradient is −125")
    with np.errstate(all="ignore"):  # it does diverge: inf, then NaN
        raw = _descent(np.float64(-2.0), 0.1, 50, lambda x: (x - 3) ** 3)
    assert (-2 - 3) ** 3 == -125 and raw[0] == pytest.approx(10.5) and "10.5" in text and np.isnan(raw[-1])
    assert "diverges" in text and metrics(app)["final x without"] == "nan"
    clipped = _descent(-2.0, 0.1, 50, lambda x: min(max((x - 3) ** 3, -1.0), 1.0))
    assert f"{clipped[-1]:.3g} after 50 steps" in text
    assert metrics(app)["final x with clipping"] == f"{clipped[-1]:.6g}"

    text = tip(app, "fixes", "Raise c to 100")
    bouncing = _descent(-2.0, 0.1, 50, lambda x: min(max((x - 3) ** 3, -100.0), 100.0))
    assert bouncing[:4] == pytest.approx([8, -2, 8, -2]) and "jumps to 8, then back to −2" in text
    page = open_page("fixes", example="clip", clip="100.0")
    assert numbers(figures(page)[0]["data"][0])[:4] == pytest.approx([8, -2, 8, -2])


def test_fixes_reverse_tips():
    app = open_page("fixes", example="reverse")
    reversed_path = _descent(-2.0, 0.1, 50, lambda x: -(x - 1))
    plain = _descent(-2.0, 0.1, 50, lambda x: x - 1)
    assert f"({reversed_path[-1]:.0f} after 50 steps)".replace("-", "−") in tip(app, "fixes", "λ = 1")
    assert f"({plain[-1]:.3g} after 50 steps)" in tip(app, "fixes", "Without reversal")
    shown = metrics(app)
    assert float(shown["final x with reversal"]) == pytest.approx(reversed_path[-1], rel=1e-4)
    assert float(shown["final x without"]) == pytest.approx(plain[-1], rel=1e-5)
    assert "0" in tip(app, "fixes", "λ = 0")
    page = open_page("fixes", example="reverse", strength="0.0")
    assert set(numbers(figures(page)[0]["data"][0])) == {-2.0}  # nothing reaches x


# ---- Your gradient ---------------------------------------------------------------------------

def test_yours_tips():
    app = open_page("yours")
    assert "x = 2, depth 3 ends in 1024" in tip(app, "yours", "The notebook's foo")
    assert metrics(app)["dy/dx (custom gradients)"] == "1024" and 8 * 2 ** 7 == 1024

    text = tip(app, "yours", "Make a mistake on purpose")
    wrong = open_page("yours", g="4*x")
    assert "`4*x` is wrong by a factor 2 everywhere" in text and "factor 2 everywhere" in wrong.warning[0].value
    assert "8 times too large at depth 3" in text and metrics(wrong)["dy/dx (custom gradients)"] == str(8 * 1024)

    assert "differentiable sign" in tip(app, "yours", "A surrogate: f = `x/abs(x)`")
    assert "surrogate" in open_page("yours", f="x/abs(x)", g="sigmoid(x)*(1-sigmoid(x))").info[0].value

    text = tip(app, "yours", "A gradient that is right except at one point")
    at_one_point = open_page("yours", f="abs(x)", g="sign(x) + 0.5*(1 - abs(sign(x)))")
    assert "f = `abs(x)`, g = `sign(x) + 0.5*(1 - abs(sign(x)))`" in text
    assert "agrees except near x = 0" in at_one_point.warning[0].value  # g(0) = 0.5; |x|' is 0 there (sympy)

    text = tip(app, "yours", "`exp(exp(exp(x)))` over −3 to 3")
    overflow = open_page("yours", f="exp(exp(exp(x)))", g="exp(x)*exp(exp(x))*exp(exp(exp(x)))")
    assert "overflows" in overflow.error[0].value and float(mpmath.exp(mpmath.exp(mpmath.exp(2)))) > 3.4e38


# ---- and nothing unchecked -------------------------------------------------------------------

VIEWS = {"chain": [{}], "multivar": [{}], "surrogates": [{}], "training": [{}], "network": [{}],
         "fixes": [{}, {"example": "clip"}, {"example": "reverse"}], "yours": [{}]}


def test_every_tip_that_states_a_number_is_checked():
    # What the tests above check, read from their tip(app, "page", "first words") calls: independent
    # of test order, so the suite can run on several workers.
    checked: dict[str, set[str]] = {}
    for page, start in re.findall(r'\btip\(\w+, "(\w+)", "([^"]+)"\)', Path(__file__).read_text()):
        checked.setdefault(page, set()).add(start)
    for page, views in VIEWS.items():
        for params in views:
            for text in tips(open_page(page, **params)):
                if re.search(r"\d", text.replace("▶", "")):
                    assert any(text.startswith(start) for start in checked.get(page, ())), (page, text)
