"""Shared by the AppTest suites: open a page (optionally from a link) and read what it shows."""

from __future__ import annotations

import base64
import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "chain": "pages/1_Chain_rule.py",
    "multivar": "pages/2_Multiple_variables.py",
    "surrogates": "pages/3_Surrogate_gradients.py",
    "training": "pages/4_Training.py",
    "network": "pages/5_Binarized_network.py",
    "fixes": "pages/6_Gradient_fixes.py",
    "yours": "pages/7_Your_gradient.py",
}


def fast_tier_sample(cases: list, fast: int = 1) -> list:
    """``cases`` for ``pytest.mark.parametrize``, all of them in the full suite and only the first
    ``fast`` in the fast tier (``-m "not slow"``): for tests whose cases take one path with other data."""
    return [case if index < fast else pytest.param(*(case if isinstance(case, tuple) else (case,)), marks=pytest.mark.slow)
            for index, case in enumerate(cases)]


TIMEOUT = 60  # the first import of TensorFlow alone takes ~3 s here


def open_page(page: str, **params: str | list[str]) -> AppTest:
    """Run a page as a visitor following a link with ``params`` would see it."""
    # Run as the app runs it, under its entry point: page links resolve against dashboard.py.
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    app.page = page  # widget keys are "<page>_<name>": see widget()
    for key, value in params.items():
        app.query_params[key] = value
    app.switch_page(PAGES[page]).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def widget(app: AppTest, kind: str, name: str):
    """The page's control ``name`` (its URL parameter), e.g. widget(app, "slider", "x"); a setting
    of one choice is "<owner>/<name>", e.g. widget(app, "slider", "adam/beta_1")."""
    owner, _, name = name.rpartition("/")
    return getattr(app, kind)(key="_".join(part for part in (app.page, owner, name) if part))


def figures(app: AppTest) -> list[dict]:
    """Every Plotly chart on the page as the figure dict Streamlit sent to the browser."""
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def warnings(app: AppTest) -> list[str]:
    return [warning.value for warning in app.warning]


def numbers(trace: dict, axis: str = "y") -> list[float]:
    """A trace's values on ``axis``, decoding Plotly's typed-array form of NumPy arrays."""
    values = trace[axis]
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return values


def code_panel(app: AppTest) -> str:
    """The page's "Code for this view" (its one Python code block)."""
    return next(block.value for block in app.code if block.language == "python")


def share_link(app: AppTest) -> str:
    """The link "Share this view" shows (the code block right after the code panel)."""
    blocks = list(app.code)
    return next(blocks[i + 1].value for i, block in enumerate(blocks) if block.language == "python")


def run_code(code: str) -> str:
    """Run a code panel's script as a user would paste it, and return what it prints."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "<code panel>", "exec"), {"__name__": "__code_panel__"})  # our generated code
    return output.getvalue()
