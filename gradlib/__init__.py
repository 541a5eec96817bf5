"""gradlib: TensorFlow custom gradients, made to be looked at.

Pure TensorFlow + NumPy (no Streamlit, no Plotly). Every op here is a real
``tf.custom_gradient`` that works elementwise on any shape, eagerly and in ``tf.function``,
in float32 and float64; the analysis functions return dataclasses rather than printing."""

from gradlib.chain import (
    MAX_DEPTH, ChainCheck, ChainTrace, check_chain, chain_curve, closed_form_derivative, compose, trace_chain,
)
from gradlib.core import DTYPES, binary_custom_gradient, elementwise_custom_gradient
from gradlib.elementary import ELEMENTARY, cube, exp, sigmoid, sin, softplus, square, tanh
from gradlib.fixes import clip_gradient, clip_gradient_by_norm, descent_demo, log1pexp, reverse_gradient
from gradlib.multivar import BIVARIATE, MAX_GRID_POINTS, divide, gradient_field, hypot, multiply, partial_derivatives
from gradlib.networks import DATASETS, NetworkConfig, NetworkHistory, make_dataset, train_network, train_network_in_chunks
from gradlib.surrogates import STEPS, SURROGATES, differentiable_sign, surrogate_profile, surrogate_step
from gradlib.training import MAX_STEPS, OPTIMIZERS, TrainingConfig, TrainingHistory, train, train_in_chunks

__all__ = [
    "BIVARIATE", "DATASETS", "DTYPES", "ELEMENTARY", "NetworkConfig", "NetworkHistory", "clip_gradient",
    "clip_gradient_by_norm", "descent_demo", "log1pexp", "make_dataset", "reverse_gradient", "train_network",
    "train_network_in_chunks", "MAX_DEPTH", "MAX_GRID_POINTS", "MAX_STEPS", "OPTIMIZERS", "STEPS",
    "SURROGATES", "ChainCheck", "ChainTrace", "TrainingConfig", "TrainingHistory", "binary_custom_gradient",
    "chain_curve", "check_chain", "closed_form_derivative", "compose", "cube", "differentiable_sign", "divide",
    "elementwise_custom_gradient", "exp", "gradient_field", "hypot", "multiply", "partial_derivatives",
    "sigmoid", "sin", "softplus", "square", "surrogate_profile", "surrogate_step", "tanh", "trace_chain",
    "train", "train_in_chunks",
]
