"""Custom Gradient Lab: home page. It imports no TensorFlow, so it shows at once."""

import streamlit as st

st.set_page_config(page_title="Custom Gradient Lab", page_icon="∇")
st.title("Custom Gradient Lab")
st.write(
    "See TensorFlow custom gradients (`tf.custom_gradient`) work: the chain rule stage by stage, "
    "gradients of several variables, surrogate gradients through `sign`, and training through them."
)
st.info("The interactive pages are being built. The engine, `gradlib`, is ready to use from Python:")
st.code(
    """import tensorflow as tf
import gradlib

x = tf.constant(2.0)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = gradlib.square(gradlib.square(gradlib.square(x)))  # x ** 8
print(tape.gradient(y, x))  # 1024.0""",
    language="python",
)
