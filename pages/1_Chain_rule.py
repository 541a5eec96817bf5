"""The chain rule through custom gradients: f composed `depth` times, stage by stage."""

import numpy as np
import pandas as pd
import streamlit as st

import gradlib
from gradlib import CHAIN_X, DEPTH, ELEMENTARY, backward_stages
from ui import figures, snippets
from ui.widgets import Controls, chart, code_panel, page_header, what_to_try

page_header("Chain rule", "⛓️", "Compose f with itself and watch every custom backward function receive the "
            "upstream gradient, multiply it by its local derivative and pass the downstream gradient on.")

controls = Controls("chain")
fn = controls.choice("fn", "Function f", list(ELEMENTARY), "square")
x = controls.number("x", CHAIN_X)
# A new depth shows every backward stage again, however the depth was changed (drag or keys).
depth = controls.number("depth", DEPTH, help="y = f(f(…f(x))), n times", on_change=lambda: controls.forget("reveal"))
dtype = controls.choice("dtype", "Precision", ["float32", "float64"], "float32", horizontal=True)
log_scale = controls.toggle("log", "Log scale for the curves", help="plots |y| and |dy/dx|")



@st.cache_data(max_entries=1024)
def checked(fn: str, x: float, depth: int, dtype: str) -> gradlib.ChainCheck:
    # Cached by value, a copy per caller: a class on the same settings computes it once.
    return gradlib.check_chain(fn, x, depth, dtype)


entry = ELEMENTARY[fn]
check = checked(fn, x, depth, dtype)
trace = check.trace

st.latex(rf"y = \underbrace{{f(f(\cdots f(x)))}}_{{{depth}\text{{ times}}}}, \qquad f(x) = {entry.latex},"
         rf"\qquad f'(x) = {entry.derivative_latex}")
st.latex(r"\frac{dy}{dx} = \frac{dy}{dx_{0}} \cdots \frac{dx_i}{dx_{i+1}} \cdots \frac{dx_n}{dx}, \qquad"
         r"\text{downstream} = \underbrace{\frac{dx_{i}}{dx_{i+1}}}_{\text{local (current)}} \times \text{upstream}")

if check.problem:
    st.error(check.problem, icon="⚠️")

left, right = st.columns([1, 3])
left.metric("dy/dx (custom gradients)", f"{trace.dydx:.9g}")
with right:
    st.markdown("**The trace**: forward from stage 1, backward from stage n (what each `grad` received and returned)")
    st.dataframe(pd.DataFrame({
        "stage": [s.stage for s in trace.forward],
        "input x_i": [s.input for s in trace.forward],
        "output f(x_i)": [s.output for s in trace.forward],
        "upstream": [b.upstream for b in reversed(trace.backward)],
        "local f'(x_i)": [b.local_grad for b in reversed(trace.backward)],
        "downstream": [b.downstream for b in reversed(trace.backward)],
    }), hide_index=True, key="trace")
left.code("\n".join([f"x={s.input:g}\ty={s.output:g}" for s in trace.forward]
                    + [f"x={b.input:g}\tupstream={b.upstream:g}\tcurrent={b.local_grad:g}\tdownstream={b.downstream:g}"
                       for b in trace.backward] + [f"\nfinal dy/dx={trace.dydx:g}"]), language="text")
right.markdown("**The same dy/dx four ways**")
right.dataframe(pd.DataFrame({
    "method": [e.label for e in check.estimates],
    "dy/dx": [f"{e.value:.9g}" for e in check.estimates],
    "relative error vs closed form": ["(reference)" if e.method == "closed_form" else
                                      "n/a (not finite)" if np.isnan(e.rel_error) else f"{e.rel_error:.2e}"
                                      for e in check.estimates],
}), hide_index=True, key="checks")

st.subheader("The chain, and the gradient flowing back")
revealed = controls.number("reveal", backward_stages(depth), where=st,
                           help="0 shows the forward pass only; each step reveals one more stage, from y back to x")
chart(figures.chain_diagram(trace, revealed), key="diagram")
if 0 < revealed < depth:
    stage = trace.backward[revealed - 1]
    st.info(f"Stage {stage.stage} received upstream = {stage.upstream:.6g}, multiplied it by its local derivative "
            f"f'({stage.input:.6g}) = {stage.local_grad:.6g} and passed downstream = {stage.downstream:.6g} on.")


@st.cache_data(max_entries=256)
def curve(fn: str, depth: int, dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = np.linspace(-3.0, 3.0, 601)
    with np.errstate(over="ignore", invalid="ignore"):
        return (xs, *gradlib.chain_curve(fn, depth, xs, dtype))


st.subheader("y and dy/dx over x")
xs, ys, slopes = curve(fn, depth, dtype)
chart(figures.chain_curve_figure(xs, ys, slopes, x, trace.y, trace.dydx, log_scale), key="curves")
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
code_panel(snippets.chain_code(fn, x, depth, dtype))
