"""Custom Gradient Lab, the home page. It imports no TensorFlow, so it shows at once.

    streamlit run server.py      # the app with the server-start hook (tuning, warm-up): ui/server.py
    streamlit run dashboard.py   # the same pages without it, e.g. to develop a page"""

import streamlit as st

from ui.navigation import PAGES
from ui.widgets import navigation

st.set_page_config(page_title="Custom Gradient Lab", page_icon="∇", layout="wide")
navigation()
st.title("∇ Custom Gradient Lab")
st.markdown(
    "See TensorFlow's [`tf.custom_gradient`](https://www.tensorflow.org/api_docs/python/tf/custom_gradient) at "
    "work. A custom gradient is a forward function paired with your own backward function: TensorFlow calls it "
    "with the **upstream** gradient, and it returns the **downstream** gradient to pass on."
)

for page in PAGES:
    st.page_link(page.path, label=f"**{page.title}** — {page.description}", icon=page.icon)

st.header("The chain rule in one picture")
st.markdown("Compose $f(x) = x^2$ three times, $y = f(f(f(x)))$, and name the stages "
            "$x_1 = x^2$, $x_0 = x_1^2$, $y = x_0^2$. The chain rule multiplies the local derivatives:")
st.latex(r"\frac{dy}{dx} = \underbrace{\frac{dy}{dx_0}}_{2x_0} \cdot \underbrace{\frac{dx_0}{dx_1}}_{2x_1}"
         r"\cdot \underbrace{\frac{dx_1}{dx}}_{2x}")
st.markdown("In TensorFlow each stage's backward function receives the product of the factors after it, the "
            "*upstream* gradient, multiplies it by its own factor, the *local* (current) derivative, and passes "
            "the result *downstream*:")
st.latex(r"\text{downstream} = \frac{dx_i}{dx_{i+1}} \times \text{upstream}")
st.code("x=16\tupstream=1\tcurrent=32\tdownstream=32\n"
        "x=4\tupstream=32\tcurrent=8\tdownstream=256\n"
        "x=2\tupstream=256\tcurrent=4\tdownstream=1024", language="text", wrap_lines=True)
st.caption("At x = 2 the backward pass ends in dy/dx = 1024 = 8·2⁷. Open the Chain rule page to step through it "
           "for any function and depth.")
