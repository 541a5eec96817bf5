"""The chain rule through custom gradients: f composed `depth` times, stage by stage."""

import numpy as np
import streamlit as st

from ui.widgets import (Controls, chain_check, chart, code_panel, formula_pair, on_a_phone, page_header,
                        what_to_try)

CUSTOM = "custom"

page_header("chain", "Compose f with itself and watch every custom backward function receive the "
            "upstream gradient, multiply it by its local derivative and pass the downstream gradient on.")

# Loaded after the header: the first page after the server started loads TensorFlow there, behind a note.
import gradlib
from gradlib import CHAIN_X, DEPTH, ELEMENTARY, Elementary, backward_stages, formula
from ui import figures, snippets

controls = Controls("chain")
fn = controls.choice("fn", "Function f", [*ELEMENTARY, CUSTOM], "square",
                     help=f"{CUSTOM}: your own f and backward g, typed below (see the Your gradient page)")
pair = formula_pair(controls, where=st.sidebar) if fn == CUSTOM else None
x = controls.number("x", CHAIN_X, where=controls.main)
# A new depth shows every backward stage again, however the depth was changed (drag or keys).
depth = controls.number("depth", DEPTH, help="y = f(f(…f(x))), n times", where=controls.main,
                        on_change=lambda: controls.forget("reveal"))
dtype = controls.choice("dtype", "Precision", ["float32", "float64"], "float32", horizontal=True)
log_scale = controls.toggle("log", "Log scale for the curves", help="plots |y| and |dy/dx|")
if fn == CUSTOM and pair is None:
    st.stop()  # the sidebar says what is wrong with the formula
# A function is its id, or for your own the two formulas' texts: what the caches below key on.
function = (fn,) if pair is None else (fn, pair[0].text, pair[1].text)


def entry_of(function: tuple[str, ...]) -> gradlib.Elementary:
    return ELEMENTARY[function[0]] if len(function) == 1 else Elementary.from_formulas(*map(formula, function[1:]))


@st.cache_data(max_entries=1024)
def checked(function: tuple[str, ...], x: float, depth: int, dtype: str) -> gradlib.ChainCheck:
    # Cached by value, a copy per caller: a class on the same settings computes it once.
    return gradlib.check_chain(entry_of(function), x, depth, dtype)


entry = entry_of(function)
check = checked(function, x, depth, dtype)
trace = check.trace

controls.math(rf"y = \underbrace{{f(f(\cdots f(x)))}}_{{{depth}\text{{ times}}}}, \qquad f(x) = {entry.latex},"
              rf"\qquad f'(x) = {entry.derivative_latex}")
controls.math(r"\frac{dy}{dx} = \frac{dy}{dx_{0}} \cdots \frac{dx_i}{dx_{i+1}} \cdots \frac{dx_n}{dx}, \qquad"
              r"\text{downstream} = \underbrace{\frac{dx_{i}}{dx_{i+1}}}_{\text{local (current)}} \times \text{upstream}")

chain_check(check)

st.header("The chain, and the gradient flowing back")
# Beside the diagram; in presenter mode with the main sliders, so that the diagram starts on the first screen.
revealed = controls.number("reveal", backward_stages(depth), where=controls.main if controls.presenting else st,
                           help="0 shows the forward pass only; each step reveals one more stage, from y back to x")
chart(figures.chain_diagram(trace, revealed), key="diagram",
      alt=f"The chain from x = {x:g} to y = {trace.y:.6g} through {depth} stages of {entry.id}, with {revealed} of "
          f"{depth} backward stages shown; dy/dx = {trace.dydx:.6g}.")
if 0 < revealed < depth:
    stage = trace.backward[revealed - 1]
    st.info(f"Stage {stage.stage} received upstream = {stage.upstream:.6g}, multiplied it by its local derivative "
            f"f'({stage.input:.6g}) = {stage.local_grad:.6g} and passed downstream = {stage.downstream:.6g} on.")


@st.cache_data(max_entries=256)
def curve(function: tuple[str, ...], depth: int, dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = np.linspace(CHAIN_X.low, CHAIN_X.high, 601)
    with np.errstate(over="ignore", invalid="ignore"):
        return (xs, *gradlib.chain_curve(entry_of(function), depth, xs, dtype))


st.header("y and dy/dx over x")
xs, ys, slopes = curve(function, depth, dtype)
chart(figures.chain_curve_figure(xs, ys, slopes, x, trace.y, trace.dydx, log_scale, on_a_phone()), key="curves",
      alt=f"y and dy/dx for x from {CHAIN_X.low:g} to {CHAIN_X.high:g}{' (sizes, log scale)' if log_scale else ''}; at "
          f"x = {x:g}, y = {trace.y:.6g} and dy/dx = {trace.dydx:.6g}.")
if not (np.all(np.isfinite(ys)) and np.all(np.isfinite(slopes))):
    st.caption(f"Gaps in the curves are where y or dy/dx is inf or NaN in {dtype}.")

what_to_try(
    "The notebook: square, x = 2, depth 3. The trace ends in dy/dx = 1024 = 8·2⁷.",
    "Step the backward pass with the slider above the diagram: each stage multiplies what it received.",
    "Depth 7 at x = 2 in float32: y = 2¹²⁸ overflows. Switch to float64 and it fits up to depth 9 (2⁵¹²); at "
    "depth 10, 2¹⁰²⁴ overflows float64 too.",
    "sin or tanh at x = 2: every local derivative is at most 1 in size, so |dy/dx| shrinks as the chain grows: "
    "for sin from 0.42 at depth 1 to 0.040 at depth 12, for tanh from 0.071 to 0.0028.",
    "exp at depth 3 and x = 1: exp(exp(e)) is already 3.8 million; see how fast the gradient grows.",
)
code_panel(snippets.chain_code(entry, x, depth, dtype), controls)
