"""Custom gradients that fix things: numerical stability, gradient clipping, gradient reversal."""

import numpy as np
import streamlit as st
import tensorflow as tf

import gradlib.fixes as fixes
from ui import figures, snippets
from ui.widgets import Controls, chart, code_panel, page_header, what_to_try

EXAMPLES = ["log1pexp", "clip", "reverse"]

page_header("Gradient fixes", "🩹", "Three jobs custom gradients do in real code: keep a gradient finite where "
            "autodiff gives NaN, limit how far one step can go, and turn minimisation into maximisation.")

controls = Controls()
example = controls.choice("example", "Example", EXAMPLES, "log1pexp", horizontal=True, where=st)

if example == "log1pexp":
    x = controls.number("x", "x", -20.0, 120.0, 100.0, 0.5)
    st.latex(r"f(x) = \log(1 + e^x), \qquad \text{autodiff: } \frac{e^x}{1 + e^x} \;\to\; \frac{\infty}{\infty}"
             r"= \text{NaN}, \qquad \text{custom: } 1 - \frac{1}{1 + e^x} \;\to\; 1")

    @st.cache_data(max_entries=4)
    def gradients() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xs = np.linspace(-20.0, 120.0, 1401)
        x_tensor = tf.constant(xs, tf.float32)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x_tensor)
            custom, naive = fixes.log1pexp(x_tensor), fixes.naive_log1pexp(x_tensor)
        return xs, tape.gradient(custom, x_tensor).numpy(), tape.gradient(naive, x_tensor).numpy()

    xs, custom, autodiff = gradients()
    broken = np.flatnonzero(~np.isfinite(autodiff))
    breaks_at = float(xs[broken[0]]) if broken.size else None
    at_x = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(at_x)
        y_custom, y_naive = fixes.log1pexp(at_x), fixes.naive_log1pexp(at_x)
    columns = st.columns(3)
    columns[0].metric("f(x) (float32)", f"{float(y_custom):.7g}")
    columns[1].metric("custom dy/dx", f"{float(tape.gradient(y_custom, at_x)):.7g}")
    columns[2].metric("autodiff dy/dx", f"{float(tape.gradient(y_naive, at_x)):.7g}")
    if not np.isfinite(float(tape.gradient(y_naive, at_x))):
        st.warning(f"At x = {x:g}, e^x overflows float32 (largest 3.4e38, reached at x ≈ 88.7): autodiff's "
                   "e^x / (1 + e^x) is inf / inf = NaN. The custom gradient never forms that ratio.")
    if not np.isfinite(float(y_custom)):
        st.caption("f(x) itself is inf here too: the forward is left as the plain formula so that only the "
                   "gradient differs. A stable forward is `tf.math.softplus`.")
    chart(figures.gradient_comparison_figure(xs, custom, autodiff, breaks_at, x), "gradients")
    code = snippets.log1pexp_code(x)
    tips = ["At x = 100 (the TensorFlow documentation's example) autodiff gives NaN, the custom gradient 1.",
            "Move x below 88: both agree to every digit shown.",
            "Zoom into the shaded region: autodiff's curve simply stops."]
else:
    clip = example == "clip"
    x0 = controls.number("x", "Starting x", -5.0, 5.0, -2.0, 0.1)
    parameter = (controls.number("clip", "Clip value c", 0.1, 10.0, 1.0, 0.1) if clip else
                 controls.number("strength", "Reversal strength λ", 0.0, 3.0, 1.0, 0.1))
    learning_rate = controls.number("lr", "Learning rate", 0.01, 0.5, 0.1, 0.01)
    steps = controls.integer("steps", "Steps", 5, fixes.MAX_DEMO_STEPS, 50)
    if clip:
        st.latex(r"\text{forward: } y = x, \qquad \text{backward: } \frac{\partial L}{\partial x} = "
                 r"\operatorname{clip}(\text{upstream}, -c, c), \qquad L = \tfrac14 (x - 3)^4")
    else:
        st.latex(r"\text{forward: } y = x, \qquad \text{backward: } \frac{\partial L}{\partial x} = "
                 r"-\lambda \cdot \text{upstream}, \qquad L = \tfrac12 (x - 1)^2")
    run = fixes.descent_demo(example, x0, parameter, learning_rate, steps)
    columns = st.columns(2)
    columns[0].metric(f"final x with {'clipping' if clip else 'reversal'}", f"{run.x_with[-1]:.6g}")
    columns[1].metric("final x without", f"{run.x_without[-1]:.6g}")
    if not np.all(np.isfinite(run.x_without)):
        step = int(np.flatnonzero(~np.isfinite(run.x_without))[0])
        st.warning(f"Without clipping the first gradient, (x0 − 3)³, throws x far up the other wall, where "
                   f"the gradient is larger still: x is inf or NaN from step {step} on.")
    chart(figures.descent_figure(run, "with clipping" if clip else "with reversal"), "descent")
    code = snippets.descent_code(example, x0, parameter, learning_rate, steps)
    tips = (["From x = −2 the raw gradient is −125: one step of 0.1 throws x to 10.5, and it diverges. Clipped "
             "to 1, x walks steadily to 3.", "Raise c to 100: clipping no longer bites and x diverges again.",
             "Clip by norm instead with `gradlib.fixes.clip_gradient_by_norm` (the same for one number)."] if clip
            else ["λ = 1: the same bowl, but x runs away from its minimum: the layers before a reversal "
                  "maximise the loss (domain-adversarial training, Ganin & Lempitsky 2015).",
                  "λ = 0: nothing reaches x at all.", "Without reversal x settles at 1."])
what_to_try(*tips)
code_panel(code)
