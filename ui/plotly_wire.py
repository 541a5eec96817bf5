"""A figure dict from ui.figures, made ready for ``st.plotly_chart`` without Plotly's object tree.
No Streamlit here. ``sendable(figure)`` completes the dict as ``go.Figure(figure).to_dict()`` would
(tests/test_figures.py checks that the browser gets the same JSON), for a fraction of the cost."""

from __future__ import annotations

import base64
from functools import lru_cache

import numpy as np
import plotly.io as pio
from plotly.basedatatypes import BaseFigure


@lru_cache(maxsize=1)
def _plotly_template() -> dict:
    """Plotly's default template, which ``go.Figure`` puts into every figure's layout. Streamlit's
    theme restyles it in the browser, so a figure is drawn in the app's theme only with it. Shared
    by every figure: not to be changed."""
    return pio.templates[pio.templates.default].to_plotly_json()


class _SentAsIs(BaseFigure):
    """A figure dict in the guise of a Plotly figure, for ``st.plotly_chart``. Streamlit 1.67
    rebuilds a dict it is given into a ``go.Figure``, validating every property (8–14 ms for a
    figure of this app), but sends a figure object's ``to_dict()`` as it is: this one's is the dict.
    ``BaseFigure.__init__`` is not run, so no tree of Plotly objects is built."""

    def __init__(self, figure: dict) -> None:
        self._figure = figure

    def to_dict(self) -> dict:
        return self._figure


# plotly.js's typed arrays by NumPy dtype; it has no 64-bit integers (see _typed_array).
_TYPED_ARRAYS = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4",
                 "float32": "f4", "float64": "f8"}
_NOT_ENCODED = frozenset({"geojson", "layer", "layers", "range"})  # keys Plotly leaves (and does not enter)


def _typed_array(values: np.ndarray) -> dict | np.ndarray:
    """A NumPy array as Plotly's ``Figure.to_dict`` writes it, ``{"dtype": "f4", "bdata": <base64>}``
    (``_plotly_utils.utils.to_typed_array_spec``, whose conversions it repeats, costs ~40 µs an
    array: it asks narwhals what the array is and copies it). 64-bit integers take the smallest
    type that holds them; an array plotly.js has no type for is left as it is (a JSON list)."""
    if values.size == 0:
        return values
    if values.dtype.kind in "iu" and values.dtype.itemsize == 8:
        smaller = (np.int8, np.int16, np.int32) if values.dtype.kind == "i" else (np.uint8, np.uint16, np.uint32)
        low, high = values.min(), values.max()
        fitting = next((t for t in smaller if np.iinfo(t).min <= low and high <= np.iinfo(t).max), None)
        if fitting is None:
            return values
        values = values.astype(fitting)
    code = _TYPED_ARRAYS.get(values.dtype.name)
    if code is None:
        return values
    typed = {"dtype": code, "bdata": base64.b64encode(np.ascontiguousarray(values)).decode("ascii")}
    if values.ndim > 1:
        typed["shape"] = str(values.shape)[1:-1]
    return typed


def _encode_arrays(value: object) -> None:
    """Every NumPy array in a figure (dicts and lists, at any depth) as a typed array, in place:
    what ``Figure.to_dict`` does with ``convert_to_base64``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _NOT_ENCODED:
                continue
            if isinstance(item, np.ndarray):
                value[key] = _typed_array(item)
            elif isinstance(item, (dict, list, tuple)):
                _encode_arrays(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, (dict, list, tuple)):
                _encode_arrays(item)


def sendable(figure: dict) -> BaseFigure:
    """The figure completed in place (typed arrays, Plotly's default template: pass a new figure
    each time) and wrapped for ``st.plotly_chart``."""
    _encode_arrays(figure)
    figure["layout"].setdefault("template", _plotly_template())
    return _SentAsIs(figure)
