"""Custom gradients that fix things: numerical stability, gradient clipping, gradient reversal."""

import numpy as np
import streamlit as st
import tensorflow as tf

from ui.widgets import Controls, Metric, chart, code_panel, metric_row, page_header, table, what_to_try

EXAMPLES = ["log1pexp", "clip", "reverse"]


def _error_text(relative_error: float) -> str:
    return "not finite" if not np.isfinite(relative_error) else f"{relative_error:.2g}"


page_header("fixes", "Three jobs custom gradients do in real code: keep a gradient finite where "
            "autodiff gives NaN, limit how far one step can go, and turn minimisation into maximisation.")

# Loaded after the header: the first page after the server started loads TensorFlow there, behind a note.
import gradlib
from gradlib import DESCENT_LEARNING_RATE, DESCENT_STEPS, DESCENT_X0, LOG1PEXP_X, PARAMETERS, WRONG_REL_ERROR
from ui import figures, snippets

controls = Controls("fixes")
example = controls.choice("example", "Example", EXAMPLES, "log1pexp", horizontal=True, where=controls.aside)

if example == "log1pexp":
    x = controls.number("x", LOG1PEXP_X, owner=example, where=controls.main)
    controls.math(rf"f(x) = {gradlib.fixes.NAIVE_FORWARD.latex}, \qquad f'(x) = \frac{{e^x}}{{1 + e^x}}, \qquad "
                  r"\text{autodiff: } e^x \cdot \frac{1}{1 + e^x}")
    controls.math(rf"\text{{the docs' custom gradient: }} {gradlib.fixes.DOCS_BACKWARD.latex} \qquad \text{{stable: }} "
                  rf"f(x) = {gradlib.fixes.STABLE_FORWARD.latex},\; f'(x) = {gradlib.fixes.STABLE_BACKWARD.latex}")

    @st.cache_data(max_entries=2)
    def compared(step: float) -> gradlib.Log1pexpComparison:
        # Over the slider's whole range, in float32: the thresholds below are measured on it.
        return gradlib.compare_log1pexp(np.arange(LOG1PEXP_X.low, LOG1PEXP_X.high + step / 2, step))

    fine, chart_grid, at_x = compared(0.01), compared(0.1), gradlib.compare_log1pexp(np.array([x]))
    chart(figures.log1pexp_figure(chart_grid, x, fine.autodiff_wrong_from, fine.docs_wrong_up_to), "gradients",
          alt=f"dy/dx of log(1 + eˣ) three ways against the exact value (top) and their relative errors (bottom). "
              f"Shaded: where autodiff (from x ≈ {fine.autodiff_wrong_from:.2f}) and the docs' form (below "
              f"x ≈ {fine.docs_wrong_up_to:.2f}) are more than {WRONG_REL_ERROR:g} off the exact value. No error is "
              "drawn where σ(x) is too small for float32 to hold.")
    names = {"stable": "stable custom gradient", "docs": "the docs' custom gradient", "autodiff": "TF autodiff"}
    st.metric("f(x) = log(1 + eˣ), stable, float32", f"{float(gradlib.log1pexp(tf.constant(x, tf.float32))):.7g}")
    table({
        "dy/dx by": ["exact (float64)", *names.values()],
        "value (float32)": [f"{at_x.exact[0]:.7g}", *(f"{at_x.gradients[m][0]:.7g}" for m in names)],
        "relative error": ["(reference)", *(_error_text(at_x.rel_errors[m][0]) for m in names)],
    }, key="at_x")
    wrong = [names[m] for m in names if not at_x.rel_errors[m][0] <= WRONG_REL_ERROR]
    if "TF autodiff" in wrong:
        st.warning(f"At x = {x:g} autodiff is wrong: from x ≈ {fine.autodiff_wrong_from:.2f}, 1/(1 + eˣ) is "
                   "below float32's smallest normal number and is flushed to 0, so eˣ · 0 = 0 instead of 1; from "
                   f"x ≈ {fine.autodiff_nan_from:.2f}, eˣ overflows and inf · 0 = NaN.")
    if "the docs' custom gradient" in wrong:
        st.warning(f"At x = {x:g} the documentation's 1 − 1/(1 + eˣ) is wrong by "
                   f"{_error_text(at_x.rel_errors['docs'][0])}: it subtracts two numbers close to 1, and float32 "
                   f"keeps ~7 digits of each. It is right only above x ≈ {fine.docs_wrong_up_to:.2f}.")
    code = snippets.log1pexp_code(x)
    tips = ["At x = 100 (the TensorFlow documentation's example) autodiff gives NaN; both custom gradients give 1.",
            f"Move x to 88: autodiff gives 0 instead of 1, with no NaN to warn you (wrong from x ≈ "
            f"{fine.autodiff_wrong_from:.2f}).",
            "Move x to −10: the docs' form is off by 0.046% (4.541874e-05 against 4.539787e-05); at −20 it gives 0. "
            "The stable form is right at both.",
            "Read the relative-error panel: the stable form stays within float32's rounding (about 1e-7) wherever "
            "float32 can hold σ(x) at all (x above −87.3; below, σ(x) is smaller than float32's smallest normal "
            "number)."]
else:
    clip = example == "clip"
    x0 = controls.number("x", DESCENT_X0, owner=example)
    parameter = (controls.grid("clip", PARAMETERS["clip"]) if clip else
                 controls.number("strength", PARAMETERS["reverse"]))
    learning_rate = controls.number("lr", DESCENT_LEARNING_RATE, owner=example)
    steps = controls.number("steps", DESCENT_STEPS, owner=example)
    if clip:
        controls.math(r"\text{forward: } y = x, \qquad \text{backward: } \frac{\partial L}{\partial x} = "
                      r"\operatorname{clip}(\text{upstream}, -c, c), \qquad L = \tfrac14 (x - 3)^4")
    else:
        controls.math(r"\text{forward: } y = x, \qquad \text{backward: } \frac{\partial L}{\partial x} = "
                      r"-\lambda \cdot \text{upstream}, \qquad L = \tfrac12 (x - 1)^2")
    run = gradlib.descent_demo(example, x0, parameter, learning_rate, steps)
    metric_row(Metric(f"final x with {'clipping' if clip else 'reversal'}", f"{run.x_with[-1]:.6g}"),
               Metric("final x without", f"{run.x_without[-1]:.6g}"))
    if not np.all(np.isfinite(run.x_without)):
        step = int(np.flatnonzero(~np.isfinite(run.x_without))[0])
        st.warning(f"Without clipping the first gradient, (x0 − 3)³, throws x far up the other wall, where "
                   f"the gradient is larger still: x is inf or NaN from step {step} on.")
    chart(figures.descent_figure(run, "with clipping" if clip else "with reversal"), "descent",
          alt=f"x and the gradient x received at each of {steps} steps, with {'clipping' if clip else 'reversal'} "
              f"and without: x ends at {run.x_with[-1]:.6g} with it and {run.x_without[-1]:.6g} without.")
    code = snippets.descent_code(example, x0, parameter, learning_rate, steps)
    tips = (["From x = −2 the raw gradient is −125: one step of 0.1 throws x to 10.5, and it diverges. Clipped to "
             "1, x climbs in steps of 0.1 and creeps towards 3 (2.44 after 50 steps: near its minimum the quartic "
             "is flat).",
             "Raise c to 100: the first step is clipped to 100, so x jumps to 8, then back to −2, and bounces "
             "between the two for ever: bounded, but it never settles.",
             "Clip by norm instead with `gradlib.clip_gradient_by_norm` (the same for one number)."] if clip
            else ["λ = 1: the same bowl, but x runs away from its minimum (−351 after 50 steps): the layers before "
                  "a reversal maximise the loss (domain-adversarial training, Ganin & Lempitsky 2015).",
                  "λ = 0: nothing reaches x at all.", "Without reversal x approaches 1 (0.985 after 50 steps)."])
what_to_try(*tips)
code_panel(code, controls)
