"""What a page hands out besides its view: the link as a QR code, the code panel as a notebook, and
data as CSV. No Streamlit here (unit-tested); ui.widgets and the pages show them."""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from typing import Mapping
from urllib.parse import urlencode, urlsplit

import numpy as np
import segno

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def view_link(page_url: str, params: dict[str, str | list[str]]) -> str:
    """The page's address with its controls' values: what reproduces the view. ``page_url`` is
    the address without a query (``st.context.url``), ``params`` the page's query parameters."""
    return f"{page_url}?{urlencode(params, doseq=True)}" if params else page_url


def is_local(link: str) -> bool:
    """True for an address only this machine can open (a phone scanning it gets nothing)."""
    return (urlsplit(link).hostname or "") in LOCAL_HOSTS


@lru_cache(maxsize=256)  # a class on one view asks for the same code: ~4 ms each, an SVG of a few kB
def qr_svg(link: str, module_pixels: int = 8) -> str:
    """The link as a QR code, an SVG string (no file, no image library). Error correction M, and
    dark on white whatever the theme: scanners expect dark modules on a light ground."""
    code = segno.make(link, error="m")
    return code.svg_inline(scale=module_pixels, dark="#000000", light="#ffffff", border=4)


def notebook(title: str, math: list[str], link: str, code: str) -> str:
    """The code panel as a Jupyter notebook (nbformat 4.5, as JSON text): a markdown cell with the
    page's math and the link to the view, then the runnable code. Written out here rather than with
    nbformat, whose schema validation on every page run cost more than the rest of the code panel;
    the tests validate it with nbformat."""
    formulas = "\n\n".join(f"$$\n{latex}\n$$" for latex in math)
    intro = (f"# {title}\n\nFrom Custom Gradient Lab. The view this notebook reproduces: <{link}>\n\n{formulas}\n\n"
             "Run the cell below: it prints the numbers the page shows.")
    cells = [{"cell_type": "markdown", "id": "view", "metadata": {}, "source": intro},
             {"cell_type": "code", "id": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": code}]
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"}}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells},
                      indent=1, ensure_ascii=False)


def csv_text(columns: Mapping[str, np.ndarray]) -> str:
    """Columns of equal length as CSV, a header row then one row per index, numbers as Python
    writes them (the shortest text that reads back as the same float64) and NaN as an empty
    field: what pandas' ``to_csv`` writes, in half its time (built on every Training page run)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*(_csv_values(np.asarray(values)) for values in columns.values())))
    return text.getvalue()


def _csv_values(values: np.ndarray) -> list:
    if values.dtype.kind == "f" and np.isnan(values).any():
        return np.where(np.isnan(values), None, values).tolist()  # None: csv writes an empty field
    return values.tolist()
