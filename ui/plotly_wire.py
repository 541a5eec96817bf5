"""A figure dict from ui.figures, made ready for ``st.plotly_chart`` without Plotly's object tree.
No Streamlit here. ``sendable(figure)`` completes the dict as ``go.Figure(figure).to_dict()`` would
(tests/test_figures.py checks that the browser gets the same JSON), for a fraction of the cost."""

from __future__ import annotations

import base64
import re
from functools import lru_cache

import numpy as np
import plotly.io as pio
from plotly.basedatatypes import BaseFigure

# Streamlit's chart theme replaces these placeholders in the browser with the active theme's colours
# (streamlit/elements/lib/streamlit_plotly_theme.py: GRAY_90, GRAY_70, BG_COLOR), and again when the
# visitor switches theme: text and lines drawn in INK stay readable in light and dark.
INK, MUTED, BACKGROUND = "#000037", "#000036", "#000038"


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


# plotly.js's typed arrays, named as NumPy's dtype.str without the byte order ("<f4" -> "f4"), which
# is quick to read (dtype.name is not); it has no 64-bit integers (see _typed_array).
_TYPED_ARRAYS = frozenset({"i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8"})
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
    code = values.dtype.str[1:]
    if code not in _TYPED_ARRAYS:
        return values
    typed = {"dtype": code, "bdata": base64.b64encode(np.ascontiguousarray(values)).decode("ascii")}
    if values.ndim > 1:
        typed["shape"] = str(values.shape)[1:-1]
    return typed


def _encode_arrays(value: object, encoded: dict[int, dict | np.ndarray]) -> None:
    """Every NumPy array in a figure (dicts and lists, at any depth) as a typed array, in place:
    what ``Figure.to_dict`` does with ``convert_to_base64``. An array that appears several times
    (animation frames share their steps) is encoded once: ``encoded`` holds them by id."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _NOT_ENCODED:
                continue
            if isinstance(item, np.ndarray):
                if id(item) not in encoded:
                    encoded[id(item)] = _typed_array(item)
                value[key] = encoded[id(item)]
            elif isinstance(item, (dict, list, tuple)):
                _encode_arrays(item, encoded)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, (dict, list, tuple)):
                _encode_arrays(item, encoded)


def sendable(figure: dict) -> BaseFigure:
    """The figure completed in place (typed arrays, Plotly's default template: pass a new figure
    each time) and wrapped for ``st.plotly_chart``."""
    _encode_arrays(figure, {})  # the figure's arrays all exist when it starts, so no two share an id
    figure["layout"].setdefault("template", _plotly_template())
    return _SentAsIs(figure)


# Text sizes in px: (ticks and legend, titles). A projector at 1280×720 and 150% zoom needs the
# larger pair to be read from the back of a room.
TEXT_SIZES = {False: (14, 16), True: (18, 22)}


def styled(figure: dict, large: bool = False) -> dict:
    """Every text of the figure in the theme's text colour (INK: contrast above 4.5:1 in light and
    dark; Streamlit's default tick grey is 3.7:1 on white) and at a readable size, larger for a
    projector. In place; returns the figure."""
    tick, title = TEXT_SIZES[large]
    layout = figure["layout"]
    if large:  # room for the larger titles above the plots
        layout["margin"] = dict(layout.get("margin", {}), t=max(layout.get("margin", {}).get("t", 0), 60))
    layout["font"] = dict(layout.get("font", {}), color=INK, size=tick)
    layout["legend"] = dict(layout.get("legend", {}), font=dict(color=INK, size=tick))
    for name, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*", name):
            axis["tickfont"] = dict(color=INK, size=tick)
            if "title" in axis:
                axis["title"] = dict(axis["title"], font=dict(color=INK, size=tick))
    for annotation in layout.get("annotations", []):  # subplot titles
        annotation["font"] = dict(annotation.get("font", {}), color=INK, size=title)
    if "title" in layout:
        layout["title"] = dict(layout["title"], font=dict(color=INK, size=title))
    for trace in figure["data"]:
        if "colorbar" in trace:
            trace["colorbar"] = dict(trace["colorbar"], tickfont=dict(color=INK, size=tick),
                                     title=dict(trace["colorbar"].get("title", {}), font=dict(color=INK, size=tick)))
        if "text" in trace and "textfont" not in trace:
            trace["textfont"] = dict(color=INK, size=tick)
    return figure
