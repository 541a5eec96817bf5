"""'Code for this view' is runnable and prints the numbers the page shows (gradlib's)."""

import re

import pytest

import gradlib
from apptest_helpers import run_code
from gradlib import BIVARIATE, ELEMENTARY, OPTIMIZERS, SURROGATES, TrainingConfig
from ui import snippets



def value_after(label: str, text: str) -> float:
    return float(re.search(rf"{re.escape(label)}=\s*(\S+)", text).group(1))


def test_chain_snippet_prints_the_notebook_trace():
    printed = run_code(snippets.chain_code("square", 2.0, 3, "float32"))
    assert printed.splitlines() == ["x=2\ty=4", "x=4\ty=16", "x=16\ty=256",
                                    "x=16\tupstream=1\tcurrent=32\tdownstream=32",
                                    "x=4\tupstream=32\tcurrent=8\tdownstream=256",
                                    "x=2\tupstream=256\tcurrent=4\tdownstream=1024",
                                    "", "final y=256", "final dy/dx=1024"]


@pytest.mark.parametrize("fn", sorted(ELEMENTARY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_chain_snippet_matches_gradlib(fn, dtype):
    trace = gradlib.trace_chain(fn, 0.45, 3, dtype)
    printed = run_code(snippets.chain_code(fn, 0.45, 3, dtype))
    assert value_after("final y", printed) == pytest.approx(trace.y, rel=1e-6)
    assert value_after("final dy/dx", printed) == pytest.approx(trace.dydx, rel=1e-6)


@pytest.mark.parametrize("fn", sorted(BIVARIATE))
@pytest.mark.parametrize("unconnected", ["none", "zero"])
def test_multivar_snippet_matches_gradlib(fn, unconnected):
    expected = gradlib.partial_derivatives(fn, 2.0, 3.0, unconnected)
    printed = run_code(snippets.multivar_code(fn, 2.0, 3.0, unconnected))
    assert value_after("z", printed) == pytest.approx(expected.z)
    assert value_after("dz/dx", printed) == pytest.approx(expected.dz_dx)
    assert value_after("dz/dy", printed) == pytest.approx(expected.dz_dy)
    shown = "None" if unconnected == "none" else "0.0"
    assert f"dz/dw= {shown}" in printed


@pytest.mark.parametrize("forward", ["sign", "heaviside"])
def test_surrogate_snippet_matches_gradlib_for_every_surrogate(forward):
    for x in (3.0, -0.4, 0.0):
        chosen = [(s, SURROGATES[s].scaled(1.5)) for s in SURROGATES]
        printed = run_code(snippets.surrogate_code(forward, chosen, x))
        for surrogate, parameter in chosen:
            line = next(line for line in printed.splitlines() if line.startswith(f"{surrogate}:"))
            y, gradient = (float(v) for v in re.findall(r"=(\S+)", line))
            op = gradlib.surrogate_step(forward, surrogate, parameter)
            import tensorflow as tf

            x_tensor = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(x_tensor)
                out = op(x_tensor)
            assert y == float(out)
            assert gradient == pytest.approx(float(tape.gradient(out, x_tensor)), rel=1e-6, abs=1e-12), surrogate


def test_surrogate_snippet_defaults_print_the_notebook():
    printed = run_code(snippets.surrogate_code("sign", [("sigmoid", 1.0)], 3.0))
    # The notebook printed 0.0451766551: its float32 σ(1 − σ) cancels in the last digits, which
    # σ(x)·σ(−x) does not (it prints 0.0451766588; exact 0.0451766597), so to float32 rounding.
    assert printed.startswith("sigmoid: y=1 dy/dx=")
    assert value_after("dy/dx", printed) == pytest.approx(0.0451766551, rel=1e-6)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_training_snippet_matches_gradlib(optimizer):
    config = TrainingConfig(optimizer=optimizer, surrogate="atan", scale=3.0, steps=40)
    history = gradlib.train(config)
    rows = [line.split() for line in run_code(snippets.training_code(config)).splitlines()[1:]]
    assert [int(row[0]) for row in rows] == [0, 10, 20, 30, 39]
    for row in rows:
        step = int(row[0])
        loss, grad, x, y = (float(v) for v in row[1:])
        # The snippet feeds settings as Python floats, gradlib through variables: float32 rounding
        # may differ in the last digits.
        assert x == pytest.approx(history.x[step], rel=1e-4, abs=1e-5)
        assert grad == pytest.approx(history.grad[step], rel=1e-4, abs=1e-6)
        assert (loss, y) == (pytest.approx(history.loss[step]), history.y[step])


def test_training_snippet_defaults_print_the_notebook_table():
    rows = run_code(snippets.training_code(TrainingConfig())).splitlines()
    assert rows[0] == "step loss grad x y"
    assert rows[1].split()[:2] == ["0", "2"] and float(rows[2].split()[3]) == pytest.approx(0.0995881185, abs=1e-4)
