"""gradlib: TensorFlow custom gradients, made to be looked at.

Pure TensorFlow + NumPy (no Streamlit, no Plotly). Every op here is a real
``tf.custom_gradient`` that works elementwise on any shape, eagerly and in ``tf.function``,
in float32 and float64; the analysis functions return dataclasses rather than printing.
The settings (``Setting``, ``GridSetting``) are every number a user can set, declared once."""

from gradlib.chain import (
    CHAIN_X, DEPTH, MAX_DEPTH, ChainCheck, ChainTrace, backward_stages, check_chain, chain_curve,
    closed_form_derivative, compose, trace_chain,
)
from gradlib.core import DTYPES, binary_custom_gradient, elementwise_custom_gradient
from gradlib.custom import (
    BACKWARD_TEXT, CUSTOM_X, FORWARD_TEXT, RANGE_HIGH, RANGE_LOW, SURROGATE_TEXT, BackwardCheck, check_backward,
)
from gradlib.elementary import ELEMENTARY, Elementary, cube, exp, sigmoid, sin, softplus, square, tanh
from gradlib.expressions import MAX_LENGTH as MAX_FORMULA_LENGTH
from gradlib.expressions import ExpressionError, Formula, custom_gradient, formula
from gradlib.fixes import (
    DESCENT_LEARNING_RATE, DESCENT_STEPS, DESCENT_X0, LOG1PEXP_X, PARAMETERS, WRONG_REL_ERROR, Log1pexpComparison,
    clip_gradient, clip_gradient_by_norm, compare_log1pexp, descent_demo, docs_log1pexp, log1pexp, naive_log1pexp,
    reverse_gradient,
)
from gradlib.multivar import (
    BIVARIATE, MAX_GRID_POINTS, POINT_X, POINT_Y, divide, gradient_field, hypot, multiply, partial_derivatives,
)
from gradlib.networks import (
    DATASETS, GRID, HIDDEN, MAX_HISTORY_BYTES, NETWORK_LEARNING_RATE, NETWORK_STEPS, REAL_VALUED, SEED, NetworkConfig, NetworkHistory,
    make_dataset, train_network,
)
from gradlib.settings import GridSetting, Setting
from gradlib.surrogates import (
    CUSTOM, MULTIPLIER, STEPS, SURROGATE_X, SURROGATES, Surrogate, SurrogateProfile, differentiable_sign,
    step_derivative, surrogate_entry, surrogate_profile, surrogate_step,
)
from gradlib.training import (
    LEARNING_RATE, MAX_STEPS, OPTIMIZERS, TARGET, TRAINING_STEPS, X0, TrainingConfig, TrainingHistory,
    playback_steps, train, train_in_chunks,
)

__all__ = [
    "BACKWARD_TEXT", "SURROGATE_TEXT", "CUSTOM_X", "FORWARD_TEXT", "MAX_FORMULA_LENGTH", "RANGE_HIGH", "RANGE_LOW", "BackwardCheck",
    "CUSTOM", "Elementary", "ExpressionError", "Formula", "Surrogate", "check_backward", "custom_gradient", "formula",
    "surrogate_entry",
    "BIVARIATE", "CHAIN_X", "DATASETS", "DEPTH", "DESCENT_LEARNING_RATE", "DESCENT_STEPS", "DESCENT_X0", "DTYPES",
    "ELEMENTARY", "GRID", "HIDDEN", "LEARNING_RATE", "LOG1PEXP_X", "MAX_DEPTH", "MAX_GRID_POINTS", "MAX_STEPS",
    "MAX_HISTORY_BYTES", "MULTIPLIER", "NETWORK_LEARNING_RATE", "NETWORK_STEPS", "OPTIMIZERS", "PARAMETERS", "POINT_X", "POINT_Y",
    "REAL_VALUED", "SEED", "STEPS", "SURROGATES", "SURROGATE_X", "TARGET", "TRAINING_STEPS", "WRONG_REL_ERROR",
    "X0", "ChainCheck", "ChainTrace", "GridSetting", "Log1pexpComparison", "NetworkConfig", "NetworkHistory",
    "Setting", "SurrogateProfile", "TrainingConfig", "TrainingHistory", "backward_stages", "binary_custom_gradient",
    "chain_curve", "check_chain", "clip_gradient", "clip_gradient_by_norm", "closed_form_derivative",
    "compare_log1pexp", "compose", "cube", "descent_demo", "differentiable_sign", "divide", "docs_log1pexp",
    "elementwise_custom_gradient", "exp", "gradient_field", "hypot", "log1pexp", "make_dataset", "multiply",
    "naive_log1pexp", "partial_derivatives", "playback_steps", "reverse_gradient", "sigmoid", "sin", "softplus",
    "square", "step_derivative", "surrogate_profile", "surrogate_step", "tanh", "trace_chain", "train",
    "train_in_chunks", "train_network",
]
