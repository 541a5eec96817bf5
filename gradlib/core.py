"""The one idea everything else builds on: a forward function plus its local derivative,
turned into a real ``tf.custom_gradient`` op, and the argument checks shared by the registries."""

from __future__ import annotations

import math
from typing import Callable, Mapping, TypeVar

import tensorflow as tf

Tensor = tf.Tensor
# observer(x, upstream, local_grad, downstream) is called from inside the backward pass.
BackwardObserver = Callable[[Tensor, Tensor, Tensor, Tensor], None]
T = TypeVar("T")


def as_float_tensor(x, dtype: tf.DType | None = None) -> Tensor:
    """Python numbers become float32 (not int32); integer tensors are refused because their
    gradients are silently ``None``."""
    tensor = tf.convert_to_tensor(x, dtype=dtype, dtype_hint=tf.float32)
    if not tensor.dtype.is_floating:
        raise TypeError(f"expected a floating-point tensor, got {tensor.dtype.name}; cast it first")
    return tensor


def parameter_as(value: float | Tensor | tf.Variable, dtype: tf.DType) -> Tensor:
    """A fix's or surrogate's parameter in ``dtype``. A tensor or Variable is cast (so a Variable
    is read each time this runs); a Python number becomes a constant of ``dtype`` directly, since
    ``tf.cast(0.1, tf.float64)`` first makes a float32 constant and gives 0.10000000149."""
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return tf.cast(value, dtype)
    return tf.constant(value, dtype)


def elementwise_custom_gradient(
    forward: Callable[[Tensor], Tensor],
    local_grad: Callable[[Tensor, Tensor], Tensor],
    observer: BackwardObserver | None = None,
) -> Callable[[Tensor], Tensor]:
    """Return ``op(x) = forward(x)`` whose backward pass is ``upstream * local_grad(x, y)``.

    ``local_grad`` receives the input and the forward output so derivatives such as the
    sigmoid's ``y (1 - y)`` reuse the forward value. The op works on any shape, eagerly and
    inside ``tf.function``. ``x`` is passed positionally on purpose: ``tf.custom_gradient``
    silently falls back to autodiff when called with keyword arguments.
    """

    @tf.custom_gradient
    def op(x: Tensor):
        y = forward(x)

        def backward(upstream: Tensor) -> Tensor:
            local = local_grad(x, y)
            # TF does not check what a backward function returns: a wrong shape or dtype here
            # would corrupt every gradient further down the chain, so check it where it is made.
            if local.dtype != x.dtype:
                raise TypeError(f"local gradient has dtype {local.dtype.name}, input {x.dtype.name}")
            downstream = upstream * local
            if not downstream.shape.is_compatible_with(x.shape):
                raise ValueError(f"local gradient has shape {local.shape}, input {x.shape}")
            if observer is not None:
                observer(x, upstream, local, downstream)
            return downstream

        return y, backward

    def call(x) -> Tensor:
        return op(as_float_tensor(x))

    return call


def sum_to_shape(gradient: Tensor, shape: Tensor) -> Tensor:
    """Undo broadcasting: sum ``gradient`` over the axes that broadcasting added to ``shape``."""
    axes, _ = tf.raw_ops.BroadcastGradientArgs(s0=shape, s1=tf.shape(gradient))
    return tf.reshape(tf.reduce_sum(gradient, axis=axes), shape)


def binary_custom_gradient(
    forward: Callable[[Tensor, Tensor], Tensor],
    partials: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]],
) -> Callable[[Tensor, Tensor], Tensor]:
    """Two-input version: ``partials(x, y, z)`` gives (dz/dx, dz/dy); the backward pass returns
    one gradient per input, each summed back to its input's shape when the inputs broadcast."""

    @tf.custom_gradient
    def op(x: Tensor, y: Tensor):
        z = forward(x, y)

        def backward(upstream: Tensor) -> tuple[Tensor, Tensor]:
            dz_dx, dz_dy = partials(x, y, z)
            return (
                sum_to_shape(upstream * dz_dx, tf.shape(x)),
                sum_to_shape(upstream * dz_dy, tf.shape(y)),
            )

        return z, backward

    def call(x, y) -> Tensor:
        x = as_float_tensor(x)
        return op(x, as_float_tensor(y, dtype=x.dtype))

    return call


# ---- argument checks shared by every public entry point -------------------------------------

def require_choice(registry: Mapping[str, T], key: str, what: str) -> T:
    if key not in registry:
        raise ValueError(f"unknown {what} {key!r}; choose one of: {', '.join(registry)}")
    return registry[key]


def require_finite(value: float, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def require_in_range(value: float, low: float, high: float, name: str) -> float:
    number = require_finite(value, name)
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {number:g}")
    return number


def require_int_in_range(value: int, low: int, high: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


DTYPES: Mapping[str, tf.DType] = {"float32": tf.float32, "float64": tf.float64}


def require_dtype(name: str) -> tf.DType:
    return require_choice(DTYPES, name, "dtype")

