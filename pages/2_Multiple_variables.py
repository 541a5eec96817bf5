"""Several variables: the custom backward returns one gradient per input."""

import numpy as np
import streamlit as st

from ui.widgets import Controls, Metric, chart, code_panel, metric_row, page_header, what_to_try

page_header("multivar", "A function of two inputs returns one gradient per input from its "
            "backward function. A variable that never reaches the output gets None, or 0 if you ask for zeros.")

# Loaded after the header: the first page after the server started loads TensorFlow there, behind a note.
import gradlib
from gradlib import BIVARIATE, POINT_X, POINT_Y
from ui import figures, snippets

controls = Controls("multivar")
fn = controls.choice("fn", "Function z = f(x, y)", list(BIVARIATE), "multiply")
x = controls.number("x", POINT_X, where=controls.main)
y = controls.number("y", POINT_Y, where=controls.main)
zeros = controls.toggle("zeros", "unconnected_gradients=ZERO",
                        help="tape.gradient(..., unconnected_gradients=tf.UnconnectedGradients.ZERO)")

entry = BIVARIATE[fn]
result = gradlib.partial_derivatives(fn, x, y, unconnected="zero" if zeros else "none")

controls.math(rf"z = f(x, y) = {entry.latex}, \qquad \frac{{\partial z}}{{\partial x}} = {entry.dz_dx_latex}, \qquad"
              rf"\frac{{\partial z}}{{\partial y}} = {entry.dz_dy_latex}")
controls.math(r"\texttt{grad}(\text{upstream}) \;\mapsto\; \left(\text{upstream}\cdot\frac{\partial z}{\partial x},\;"
              r"\text{upstream}\cdot\frac{\partial z}{\partial y}\right)")

numbers = [result.z, result.dz_dx, result.dz_dy]
if not np.all(np.isfinite(numbers)):
    st.error(f"At ({x:g}, {y:g}) {fn} is not finite (z = {result.z}, ∂z/∂x = {result.dz_dx}, ∂z/∂y = "
             f"{result.dz_dy}): " + ("division by y = 0 is undefined." if fn == "divide" and y == 0 else
                                     "the value overflows float32."), icon="⚠️")
if fn == "hypot" and x == 0 and y == 0:
    st.info("At the origin the gradient of the distance is undefined; the backward function reports 0 there "
            "(`tf.math.divide_no_nan`).")


def shown(value: float | None) -> str:
    return "None" if value is None else f"{value:.7g}"  # float32 carries ~7 significant digits


metric_row(
    Metric("z", shown(result.z)),
    Metric("∂z/∂x", shown(result.dz_dx), help=f"= {entry.dz_dx_latex} at the point"),
    Metric("∂z/∂y", shown(result.dz_dy), help=f"= {entry.dz_dy_latex} at the point"),
    Metric("∂z/∂w", shown(result.dz_dw), help="w is watched by the tape but never used to compute z"),
    Metric("tape.gradient(x, y)", shown(result.dx_dy), help="x does not depend on y"),
)


@st.cache_data(max_entries=16)
def field(fn: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # 61 points from -3.5 to 3.5 step 0.1167: the grid never lands exactly on y = 0, where divide blows up.
    xs = np.linspace(-3.5, 3.5, 61)
    with np.errstate(all="ignore"):
        return (xs, xs, *gradlib.gradient_field(fn, xs, xs))


st.header("z over the plane, with its gradient")
xs, ys, z, dz_dx, dz_dy = field(fn)
chart(figures.gradient_field_figure(xs, ys, z, dz_dx, dz_dy, (x, y), arrows_every=5), key="field",
      alt=f"Contours of z = {fn}(x, y) with black arrows (∂z/∂x, ∂z/∂y) from the custom backward function, all "
          f"drawn to one scale: they point uphill and cross the contour lines at right angles. At the point "
          f"({x:g}, {y:g}) the gradient is ({shown(result.dz_dx)}, {shown(result.dz_dy)}).")

what_to_try(
    "The notebook: multiply at (2, 3) gives z = 6, ∂z/∂x = 3 = y, ∂z/∂y = 2 = x, and None for a variable "
    "that does not reach z.",
    "Turn on unconnected_gradients=ZERO: the None values become 0, which is what an optimizer wants.",
    "divide with y near 0: the gradients blow up; at y = 0 exactly they are inf.",
    "hypot: the arrows all point away from the origin and have length 1.",
)
code_panel(snippets.multivar_code(fn, x, y, "zero" if zeros else "none"), controls)
