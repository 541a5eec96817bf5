"""The view's link, its QR code and the code panel as a notebook (ui/exports.py)."""

import json
import re

import nbformat
import numpy as np
import zxingcpp
from PIL import Image

from apptest_helpers import run_code
from ui import exports


def test_the_link_holds_every_parameter_and_nothing_when_at_defaults():
    url = "https://lab.example.org/Training"
    assert exports.view_link(url, {}) == url
    link = exports.view_link(url, {"x0": "-1.55", "compare": ["sgd", "adam"], "f": "x**2 + 1"})
    assert link == f"{url}?x0=-1.55&compare=sgd&compare=adam&f=x%2A%2A2+%2B+1"
    assert exports.is_local("http://localhost:8501/Chain_rule?x=1") and exports.is_local("http://127.0.0.1:8501/")
    assert not exports.is_local(link)


def _raster(svg: str) -> Image.Image:
    """segno's SVG draws the dark modules as one path of horizontal strokes ("M x y", "m dx dy", "h n"), each one module
    high: drawn here into pixels, so that an independent reader (ZXing) can decode it."""
    scale = float(re.search(r'scale\((\d+(?:\.\d+)?)\)', svg).group(1))
    size = int(float(re.search(r'width="(\d+(?:\.\d+)?)"', svg).group(1)) / scale)
    image = Image.new("L", (size, size), 255)
    x = y = 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s+(-?[\d.]+))?", re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            for column in range(int(x), int(x + float(a))):
                image.putpixel((column, int(y)), 0)
            x += float(a)
    return image.resize((size * 8, size * 8), Image.NEAREST)


def test_the_qr_code_decodes_to_the_link():
    link = "https://lab.example.org/Surrogate_gradients?forward=heaviside&surrogates=sigmoid&surrogates=gaussian&x=0.35"
    decoded = [result.text for result in zxingcpp.read_barcodes(_raster(exports.qr_svg(link)))]
    assert decoded == [link]


def test_the_notebook_is_valid_nbformat_4_5_and_its_code_runs():
    code = "import math\nprint(f'dy/dx = {8 * 2 ** 7:g}')\n"
    text = exports.notebook("Chain rule", [r"y = f(f(f(x)))", r"\frac{dy}{dx} = 1024"], "http://h/Chain_rule?x=2",
                            code)
    document = nbformat.reads(text, as_version=4)
    nbformat.validate(document)
    assert (document.nbformat, document.nbformat_minor) == (4, 5)
    intro, cell = document.cells
    assert intro.cell_type == "markdown" and "<http://h/Chain_rule?x=2>" in intro.source
    assert "$$\n\\frac{dy}{dx} = 1024\n$$" in intro.source
    assert cell.cell_type == "code" and cell.source == code
    assert run_code(cell.source) == "dy/dx = 1024\n"
    assert json.loads(text)["metadata"]["kernelspec"]["name"] == "python3"


def test_csv_is_what_pandas_writes():
    """The Training page's download, against pandas' ``to_csv`` (what it used before): a real run,
    and the awkward values (NaN, ±inf, -0.0, tiny and huge numbers)."""
    import pandas as pd

    import gradlib

    history = gradlib.train(gradlib.TrainingConfig(steps=30))
    awkward = {"step": np.arange(6), "value": np.array([np.nan, np.inf, -np.inf, -0.0, 1e-300, 1.7976931348623157e308])}
    for columns in (history.columns(), awkward):
        assert exports.csv_text(columns) == pd.DataFrame(columns).to_csv(index=False)
