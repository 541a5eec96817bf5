"""Your own custom gradient: type a forward function and its backward rule, and see at once
whether the backward is right, where it is wrong, and what it does to a chain."""

import streamlit as st

from ui.widgets import Controls, chain_check, chart, code_panel, formula_pair, page_header, what_to_try

page_header("yours", "Type a forward function f and the backward rule g that your custom gradient "
            "multiplies the upstream gradient by. The page checks g against f's exact derivative, live.")

# Loaded after the header: the first page after the server started loads TensorFlow there, behind a note.
import gradlib
from gradlib import CUSTOM_X, DEPTH, RANGE_HIGH, RANGE_LOW, Elementary, formula
from ui import figures, snippets


controls = Controls("yours")
pair = formula_pair(controls)
x = controls.number("x", CUSTOM_X, where=controls.main)
depth = controls.number("depth", DEPTH)
dtype = controls.choice("dtype", "Precision of the chain", ["float32", "float64"], "float32", horizontal=True)
low = controls.number("lo", RANGE_LOW)
high = controls.number("hi", RANGE_HIGH)
if low >= high:
    st.error(f"The range must go from a smaller to a larger x: it is {low:g} to {high:g}.", icon=":material/error:")
if pair is None or low >= high:
    st.stop()

forward, backward = pair
controls.math(rf"f(x) = {forward.latex} \qquad g(x) = {backward.latex} \qquad f'(x) = {forward.derivative().latex}")
controls.math(r"\texttt{grad}(\text{upstream}) = g(x) \cdot \text{upstream} \quad\text{should be}\quad "
              r"f'(x) \cdot \text{upstream}")


@st.cache_data(max_entries=64)  # a check is 7 arrays of 601 float64: 64 of them are ~2 MB
def checked(forward_text: str, backward_text: str, low: float, high: float) -> gradlib.BackwardCheck:
    return gradlib.check_backward(formula(forward_text), formula(backward_text), low, high)


check = checked(forward.text, backward.text, low, high)
{"right": st.success, "surrogate": st.info, "wrong": st.warning}[check.verdict](check.summary)
chart(figures.backward_check_figure(check, x), key="check",
      alt=f"f over x from {low:g} to {high:g} (top); your g against f′ exact, TF autodiff and finite differences "
          f"(bottom), shaded where g is wrong. {check.summary}")

st.header(f"Your f composed {depth} times at x = {x:g}")
st.caption("The notebook's trace for your pair: each stage's backward receives the upstream gradient, multiplies it "
           "by g at its input and passes the result on. The closed form is the product of f′, exact.")
entry = Elementary.from_formulas(forward, backward)
chain_check(gradlib.check_chain(entry, x, depth, dtype))

link = {"f": forward.text, "g": backward.text}
st.markdown("**Use your pair elsewhere**")
columns = st.columns(3)
columns[0].page_link("pages/1_Chain_rule.py", label="In the chain rule", icon=":material/link:",
                     query_params={"fn": "custom", **link, "x": str(x), "depth": str(depth), "dtype": dtype})
columns[1].page_link("pages/4_Training.py", label="g as the surrogate in training", icon=":material/link:",
                     query_params={"surrogate": "custom", "g": backward.text})
columns[2].page_link("pages/5_Binarized_network.py", label="g as the network's surrogate", icon=":material/link:",
                     query_params={"surrogate": "custom", "g": backward.text})

what_to_try(
    "The notebook's foo: f = `x**2` with g = `2*x` agrees everywhere, and the chain at x = 2, depth 3 ends in 1024.",
    "Make a mistake on purpose: g = `4*x` is wrong by a factor 2 everywhere, and the chain's dy/dx is 8 times too "
    "large at depth 3.",
    "A surrogate: f = `x/abs(x)` (a sign) with g = `sigmoid(x)*(1-sigmoid(x))`, the notebook's differentiable sign.",
    "A gradient that is right except at one point: f = `abs(x)`, g = `sign(x) + 0.5*(1 - abs(sign(x)))`.",
    "`exp(exp(exp(x)))` over −3 to 3: the chain overflows float32 quickly, and the page says where.",
)
code_panel(snippets.chain_code(entry, x, depth, dtype), controls)
