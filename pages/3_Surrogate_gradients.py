"""Surrogate gradients: a step forward, a smooth stand-in for its derivative backward."""

import numpy as np
import streamlit as st
import tensorflow as tf

from ui.widgets import Controls, chart, code_panel, on_a_phone, page_header, table, what_to_try

MAX_SHOWN = 6  # surrogates overlaid at once: more is unreadable, and each costs a curve per panel

page_header("surrogates", "sign(x) has derivative 0 almost everywhere, so nothing upstream of it "
            "learns. A custom gradient keeps the step in the forward pass and uses a smooth surrogate in the "
            "backward pass.")

# Loaded after the header: the first page after the server started loads TensorFlow there, behind a note.
import gradlib
from gradlib import MULTIPLIER, STEPS, SURROGATE_X, SURROGATES
from ui import figures, snippets

controls = Controls("surrogates")
forward = controls.choice("forward", "Forward step", list(STEPS), "sign", horizontal=True)
chosen = controls.choices("surrogates", "Surrogates", list(SURROGATES), ["sigmoid"],
                          max_selections=MAX_SHOWN, help=f"up to {MAX_SHOWN} at once")
multiplier = controls.number("scale", MULTIPLIER, label="Scale (× each surrogate's published default)",
                             help="1 = the default from each paper; sigmoid's default k = 1 is the notebook's")
x = controls.number("x", SURROGATE_X, where=controls.main)

step = STEPS[forward]
controls.math(step.latex)
controls.math(r"\text{forward: } y = \operatorname{step}(x) \qquad \text{backward: } \frac{\partial L}{\partial x} = "
              r"\text{upstream} \cdot g(x) \quad\text{instead of}\quad \text{upstream} \cdot 0")
if not chosen:
    st.info("Choose at least one surrogate in the sidebar.")
    st.stop()


@st.cache_data(max_entries=512)
def surrogate_at(forward: str, surrogate: str, parameter: float | None, x: float) -> tuple[float, float]:
    """Forward value and the gradient TensorFlow's tape gets through the custom gradient."""
    x_tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        y = gradlib.surrogate_step(forward, surrogate, parameter)(x_tensor)
    return float(y), float(tape.gradient(y, x_tensor))


@st.cache_data(max_entries=512)
def curves(forward: str, surrogate: str, parameter: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = np.linspace(-3.0, 3.0, 601)
    entry = SURROGATES[surrogate]
    scale = tf.constant(entry.resolve_scale(parameter), tf.float64)
    x_tensor = tf.constant(xs)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        y = gradlib.surrogate_step(forward, surrogate, parameter)(x_tensor)
    return y.numpy(), entry.primitive(x_tensor, scale).numpy(), tape.gradient(y, x_tensor).numpy()


@st.cache_data(max_entries=512)
def profiled(surrogate: str, parameter: float | None) -> gradlib.SurrogateProfile:
    return gradlib.surrogate_profile(surrogate, parameter)


# A step has derivative 0 everywhere but at its jump, where it has none: what a surrogate stands in for.
exact = gradlib.step_derivative(forward, x)
true_derivative = f"none: x = 0 is the jump ({step.jump:g})" if exact is None else f"{exact:g}"
rows, plotted, parameters = [], {}, []
for surrogate in chosen:
    entry = SURROGATES[surrogate]
    parameter = entry.scaled(multiplier)
    parameters.append((surrogate, parameter))
    value, gradient = surrogate_at(forward, surrogate, parameter, x)
    profile = profiled(surrogate, parameter)
    step_values, primitive, derivative = curves(forward, surrogate, parameter)
    label = surrogate if parameter is None else f"{surrogate} ({entry.scale.symbol}={parameter:g})"
    plotted[label] = (primitive, derivative)
    rows.append({"surrogate": label, f"{forward}(x)": value, "true derivative": true_derivative,
                 "surrogate gradient (tape)": gradient, "peak of g": profile.peak, "area under g": profile.area})

st.header(f"At x = {x:g}")
table({name: [row[name] for row in rows] for name in rows[0]}, key="at_x",
      formats={"surrogate gradient (tape)": "%.10g"})  # what the tape returned, to every digit
stacked = on_a_phone()
chart(figures.surrogate_figure(np.linspace(-3.0, 3.0, 601), step_values, plotted, x, stacked), key="surrogates",
      alt=f"{'Top' if stacked else 'Left'}: the {forward} step and each surrogate's primitive P(x); "
          f"{'bottom' if stacked else 'right'}: each surrogate derivative g(x) "
          f"against the true derivative, 0. At x = {x:g}: "
          + "; ".join(f"{row['surrogate']} g = {row['surrogate gradient (tape)']:.4g}" for row in rows) + ".")
st.caption(f"The jump of {forward} is {step.jump:g}: a surrogate whose area equals it scales gradients like the "
           "step it replaces. Learning is robust to the shape of g but sensitive to its scale (Zenke & Vogels 2021).")
if "ste" in chosen:
    st.caption("The area under `ste` is infinite (inf in the table): its primitive is P(x) = x, so it passes the "
               "upstream gradient unchanged however far x is from 0.")

for surrogate, parameter in parameters:
    entry = SURROGATES[surrogate]
    with st.expander(f"{entry.name} — `{surrogate}`"):
        st.latex(rf"g(x) = {entry.derivative_latex} \qquad P(x) = {entry.primitive_latex}")
        scale_note = ("no parameter" if entry.scale is None else
                      f"${entry.scale.symbol} = {parameter:g}$ ({entry.scale.meaning}; default "
                      f"{entry.scale.default:g}, range {entry.scale.low:g}–{entry.scale.high:g})")
        st.markdown(f"**Reference:** {entry.reference}  \n**Parameter:** {scale_note}")

what_to_try(
    "The notebook: sign with the sigmoid surrogate at scale 1 and x = 3 gives y = 1 and dy/dx = 0.04517666 "
    "(float32 holds about 7 digits; the notebook prints 0.0451766551).",
    "Add ste, clipped_ste and zero: zero is the true derivative of the step, and nothing would learn through it.",
    "Raise the scale: the sigmoid surrogate gets taller and narrower, but its area stays 1.",
    "fast_sigmoid's default (k = 25, from snnTorch) has area 0.08: it shrinks every gradient it passes.",
)
code_panel(snippets.surrogate_code(forward, parameters, x), controls)
