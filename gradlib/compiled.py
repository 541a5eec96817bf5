"""Compiled functions that give their memory back when they are dropped.

In graph mode ``tf.custom_gradient`` registers every backward function it traces in TensorFlow's
process-wide gradient registry, under a new ``CustomGradient-<uid>`` name, and never removes it.
The entry holds the backward closure, which holds the traced graph: every trace of a loop through a
surrogate stayed alive for the life of the process (measured: ~1.1 MB per trace). A trace needs its
entries only while it is being built (the backward graph is built from them then), so
``trace_once`` builds the one trace a function will ever have and removes the entries at once.

TensorFlow's kernel cache also keeps the kernels of functions that no longer exist (measured:
~0.14 MB per dropped trainer); ``dropped`` empties it after every few drops. The live functions
rebuild their kernels on their next call, once (~70 ms for a graph training loop, ~2 ms for an
XLA one, which is not recompiled).

XLA programs (``jit_compile=True``) are never given back: TensorFlow's XLA compilation cache has no
eviction ("the cache grows without bound", tensorflow/compiler/jit/device_compilation_cache.h), and
compiling instantiates the function's body in the process-wide function runtime for good. Measured:
a dropped XLA trainer leaves ~3 MB (scalar loop) to ~5 MB (network) behind whatever is cleared, and
a kept one holds ~8 MB and ~27 MB. So XLA-compiled functions come from a bounded set of structures,
and their pools keep every trainer they build (gradlib.training, gradlib.networks)."""

from __future__ import annotations

import threading

import tensorflow as tf
from tensorflow.core.framework.graph_pb2 import GraphDef
from tensorflow.python.eager import context
from tensorflow.python.framework import ops

# Private to TensorFlow: tests/test_limits.py checks that entries really are added and removed here.
_REGISTRY = ops._gradient_registry._registry


def _custom_gradient_names(graph: GraphDef) -> set[str]:
    """The registry names the graph's custom-gradient ops use, nested loop bodies included."""
    nodes = [*graph.node, *(node for function in graph.library.function for node in function.node_def)]
    return {node.attr["_gradient_op_type"].s.decode() for node in nodes if "_gradient_op_type" in node.attr}


def trace_once(function: tf.types.experimental.PolymorphicFunction) -> None:
    """Trace ``function`` (built with an ``input_signature``, so it never traces again) and
    remove the gradient-registry entries the trace added."""
    concrete = function.get_concrete_function()
    for name in _custom_gradient_names(concrete.graph.as_graph_def()):
        _REGISTRY.pop(name, None)


DROPS_PER_CLEAR = 16
_dropped = 0
_lock = threading.Lock()


def dropped(count: int) -> None:
    """Say that ``count`` compiled functions were let go; every DROPS_PER_CLEAR, clear the kernel cache."""
    global _dropped
    with _lock:
        _dropped += count
        if _dropped < DROPS_PER_CLEAR:
            return
        _dropped = 0
    context.context().clear_kernel_cache()
