"""The Streamlit helpers every page shares: the page header, controls bound to the URL that say
when a link asked for something invalid, the code panel, and charts."""

from __future__ import annotations

import gc
import math
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

# Plotly's own toolbar minus the buttons that fetch things or clutter a projector.
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}

_tuned = False


def _skip_keras_clear_session(free_memory: bool = True) -> None:
    """Stands in for ``keras.backend.clear_session`` in the dashboard's server process (see below)."""


def _tune_server_for_tensorflow() -> None:
    """Two per-run costs Streamlit adds once TensorFlow is loaded, removed once per process.

    1. After every run Streamlit calls ``gc.collect()``; walking TensorFlow's ~350k import-time
       objects cost ~400 ms of CPU per interaction. ``gc.freeze()`` moves them out of the
       collector's view (~30 ms); they live as long as the process anyway.
    2. After every run Streamlit also calls ``keras.backend.clear_session()``, meant for apps
       that build a new Keras model each run. It clears TensorFlow's kernel cache, so every
       compiled function re-instantiates its kernels on the next run: 100 training steps went
       from 6 ms to 78 ms. This app builds no Keras model per run (compiled trainers live in
       gradlib's bounded pool), so that one public entry point is made a no-op here, in the
       server process only; ``keras.utils.clear_session`` and everything else are untouched."""
    import keras

    gc.freeze()
    keras.backend.clear_session = _skip_keras_clear_session


def page_header(title: str, icon: str, intro: str) -> None:
    """Page config and title; once per process, after TensorFlow is loaded, the tuning above.
    The home page imports no TensorFlow, so it never pays for it and stays quick to show."""
    global _tuned
    if not _tuned and "tensorflow" in sys.modules:
        _tune_server_for_tensorflow()
        _tuned = True
    st.set_page_config(page_title=f"{title} · Custom Gradient Lab", page_icon=icon, layout="wide")
    st.title(title)
    st.caption(intro)


def _short(raw: Sequence[str]) -> str:
    text = "&".join(raw)
    return text if len(text) <= 40 else text[:37] + "…"


class Controls:
    """Widgets bound to the URL (``bind="query-params"``; the key is the parameter name).

    Streamlit ignores a link value it cannot use and shows the default. Each method here also
    checks what the link asked for, with the same rules, and says so in a warning placed where
    the ``Controls`` were created (the top of the page). Widgets go to the sidebar unless a
    method is given ``where``."""

    def __init__(self, where=None):
        self.where = where if where is not None else st.sidebar
        self._notes = st.container()

    def _check(self, key: str, raw: list[str], is_valid: Callable[[list[str]], bool], expected: str,
               shown: object) -> None:
        """``raw`` must be read before the widget is created: Streamlit drops invalid values then."""
        if raw and not is_valid(raw):
            self._notes.warning(f"The link's `{key}={_short(raw)}` is not valid ({expected}); showing {shown}.",
                                icon="🔗")

    def number(self, key: str, label: str, low: float, high: float, default: float, step: float,
               help: str | None = None, fmt: str | None = None, where=None) -> float:
        """A float slider; the link value must be one finite number within [low, high]."""
        raw = st.query_params.get_all(key)
        value = (where or self.where).slider(label, low, high, default, step, format=fmt, key=key,
                                             bind="query-params", help=help)
        self._check(key, raw, lambda raw: len(raw) == 1 and _float_in(raw[0], low, high),
                    f"a number from {low:g} to {high:g}", f"{value:g}")
        return value

    def integer(self, key: str, label: str, low: int, high: int, default: int,
                help: str | None = None, where=None, on_change: Callable[[], None] | None = None) -> int:
        raw = st.query_params.get_all(key)
        value = (where or self.where).slider(label, low, high, default, 1, key=key, bind="query-params", help=help,
                                             on_change=on_change)
        self._check(key, raw, lambda raw: len(raw) == 1 and _float_in(raw[0], low, high) and float(raw[0]).is_integer(),
                    f"a whole number from {low} to {high}", value)
        return value

    def grid(self, key: str, label: str, options: Sequence[float], default: float,
             help: str | None = None, where=None) -> float:
        """A slider over given values, e.g. a log-spaced grid; the link must name one exactly as
        Python prints it ("0.1", "1.0")."""
        raw = st.query_params.get_all(key)
        value = (where or self.where).select_slider(label, options, value=default, key=key, bind="query-params",
                                                    help=help)
        self._check(key, raw, lambda raw: len(raw) == 1 and raw[0] in map(str, options),
                    f"one of {', '.join(map(str, options))}", value)
        return value

    def choice(self, key: str, label: str, options: Sequence[str], default: str,
               horizontal: bool = False, help: str | None = None, where=None) -> str:
        """A radio (horizontal) or select box. The options are shown as they are, with no
        ``format_func``: Streamlit puts the *shown* text in the URL, and links must carry ids."""
        where = where or self.where
        widget = where.radio if horizontal else where.selectbox
        kwargs = {"horizontal": True} if horizontal else {}
        raw = st.query_params.get_all(key)
        value = widget(label, options, index=list(options).index(default), key=key, bind="query-params",
                       help=help, **kwargs)
        self._check(key, raw, lambda raw: len(raw) == 1 and raw[0] in options, f"one of {', '.join(options)}", value)
        return value

    def choices(self, key: str, label: str, options: Sequence[str], default: Sequence[str],
                max_selections: int, help: str | None = None, where=None) -> list[str]:
        raw = st.query_params.get_all(key)
        value = (where or self.where).multiselect(label, options, default=list(default),
                                                  max_selections=max_selections, key=key, bind="query-params",
                                                  help=help)
        self._check(key, raw, lambda raw: all(r in options for r in raw) and len(set(raw)) == len(raw)
                    and len(raw) <= max_selections,
                    f"up to {max_selections} of {', '.join(options)}", ", ".join(value) or "none")
        return value

    def toggle(self, key: str, label: str, default: bool = False, help: str | None = None, where=None) -> bool:
        raw = st.query_params.get_all(key)
        value = (where or self.where).toggle(label, default, key=key, bind="query-params", help=help)
        self._check(key, raw, lambda raw: len(raw) == 1 and raw[0].lower() in ("true", "false"),
                    "true or false", value)
        return value


def _float_in(text: str, low: float, high: float) -> bool:
    try:
        number = float(text)
    except ValueError:
        return False
    return math.isfinite(number) and low <= number <= high


def play_button(help: str) -> tuple[bool, DeltaGenerator]:
    """▶ Play, and beside it the slot where ■ Stop shows while a run is played."""
    play_column, stop_column, _ = st.columns([1, 1, 4])
    return play_column.button("▶ Play", key="play", help=help), stop_column.empty()


@contextmanager
def playback(stop_slot: DeltaGenerator) -> Iterator[DeltaGenerator]:
    """While a run plays: a Stop button and a progress bar (yielded), both removed when it ends.
    Stop needs no handler: any click, on it or on a control, reruns the script, which ends the
    playing loop at its next Streamlit call."""
    stop_slot.button("■ Stop", key="stop")
    progress = st.progress(0.0)
    yield progress
    progress.empty()
    stop_slot.empty()  # the run is over: nothing left to stop


def code_panel(code: str) -> None:
    with st.expander("Code for this view: runnable TensorFlow that prints these numbers"):
        st.code(code, language="python")


def chart(figure: go.Figure, key: str, where=None) -> None:
    """A Plotly chart keyed ``<key>_chart``, so it never clashes with a control's key (its CSS
    class is then ``st-key-<key>_chart``, which the browser tests use)."""
    (where or st).plotly_chart(figure, key=f"{key}_chart", config=PLOTLY_CONFIG)


def what_to_try(*items: str) -> None:
    with st.expander("What to try", expanded=True):
        st.markdown("\n".join(f"- {item}" for item in items))
