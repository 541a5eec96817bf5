"""The Streamlit helpers every page shares: the page header, controls bound to the URL that say
when a link asked for something invalid, the code panel, and charts."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Callable, Mapping, NamedTuple, Sequence

import numpy as np
import pyarrow as pa
import streamlit as st

from ui import plotly_wire
from ui.exports import is_local, notebook, qr_svg, view_link
from ui.navigation import BY_KEY, HOME, PAGES
from ui.plotly_wire import styled
from ui.server import load_tensorflow, tensorflow_loaded

if TYPE_CHECKING:  # the home page uses no gradlib, so imports no TensorFlow
    from gradlib.chain import ChainCheck
    from gradlib.expressions import Formula
    from gradlib.settings import GridSetting, Setting

# Plotly's own toolbar minus the buttons that fetch things or clutter a projector.
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def navigation() -> None:
    """The sidebar's links to every page. Drawn here rather than by Streamlit, whose list would call
    the home page by its file name, "dashboard" (.streamlit/config.toml turns that list off).

    Every page calls it, so it also carries the app's few CSS fixes to Streamlit's and Plotly's
    defaults (a style-only ``st.html`` takes no room on the page; tests/test_browser.py checks them):
    - a slider's value above its thumb in the text colour, not the primary colour (the dark theme's
      #cf4250 on its background is 3.5:1, under the 4.5:1 text needs; a lighter primary colour would
      fail under the white text of a multiselect's chips instead);
    - a 2 px outline in the text colour around a link or a slider's thumb that has keyboard focus
      (Streamlit shows a link's focus only as the same grey as the current page's, a thumb's as a
      faint halo);
    - on touch screens Plotly shows its toolbar all the time, over the charts' titles, and Streamlit
      a table's over the text above it: there they show, as with a mouse, only once the chart or
      table is touched (hover) or focused;
    - display math gets a little room on its right: KaTeX draws some symbols (underbraces) ~2 px
      past its box, which then scrolls sideways by those 2 px in a box that takes no keyboard focus
      (axe: scrollable-region-focusable);
    - a row of metrics (``metric_row``) wraps two to a row on a phone, in smaller digits, where
      ``st.columns`` would stack them one under another."""
    st.html("""<style>
        [data-testid='stSliderThumbValue'] { color: inherit; }
        .katex-display { padding-right: 0.25rem; }
        [class*='st-key-math_'] .katex-display { margin: 0.25em 0; }
        [data-testid='stSidebar'] a:focus-visible, [data-testid='stMain'] a:focus-visible,
        [data-testid='stSlider'] [data-rac]:has(> [data-testid='stSliderThumbValue']):has(input:focus-visible) {
            outline: 2px solid currentColor; outline-offset: 2px; }
        .st-key-metrics > [data-testid='stElementContainer'] { flex: 1 1 7.5rem; min-width: 7.5rem; }
        @media (max-width: 640px) { .st-key-metrics [data-testid='stMetricValue'] { font-size: 1.6rem; } }
        @media (hover: none) {
            .js-plotly-plot .plotly .modebar > :not(.watermark),
            [data-testid='stElementContainer'] [data-testid='stElementToolbar'] { visibility: hidden; }
            .js-plotly-plot .plotly:hover .modebar > *,
            .js-plotly-plot .plotly:focus-within .modebar > *,
            [data-testid='stElementContainer']:is(:hover, :focus-within) [data-testid='stElementToolbar'] {
                visibility: visible; }
        }
        </style>""")
    for info in (HOME, *PAGES):
        st.sidebar.page_link(info.path, label=info.title, icon=info.icon)


def page_header(page: str, intro: str) -> None:
    """Page config, title and navigation, from the page's row in ui.navigation. A page that computes
    calls this before it imports gradlib: the first such page after the server started loads
    TensorFlow here, behind a note, instead of showing nothing for seconds."""
    info = BY_KEY[page]
    # The tab icon is a character: a Material icon there would be fetched from fonts.gstatic.com (not offline).
    st.set_page_config(page_title=f"{info.title} · Custom Gradient Lab", page_icon="∇", layout="wide")
    navigation()
    st.title(info.title)
    st.caption(intro)
    if info.computes and not tensorflow_loaded():
        note = st.empty()
        note.info("Loading TensorFlow: the first page that computes after the server started takes a few seconds.",
                  icon=":material/hourglass_top:")
        # TensorFlow's import holds the interpreter, so the server's sending thread gets no turn
        # until it is over (st.spinner's note, due after 0.5 s, comes too late): a short pause
        # lets this note leave first. It is paid once per process.
        time.sleep(0.1)
        load_tensorflow()
        note.empty()


# A projector at 1280×720 and 150% zoom is 853×480 CSS px: its first screen must hold the
# main controls and the top of the main chart (tests/test_browser.py). So less room above a
# smaller title, the page's intro hidden (the presenter says it), the main sliders side by
# side, smaller section headings. Style only: it takes no room.
_MAIN_BLOCK = "[data-testid='stMainBlockContainer'] > [data-testid='stVerticalBlock']"
_MAIN_SLIDERS = (f"{_MAIN_BLOCK} > [data-testid='stLayoutWrapper'] > [data-testid='stVerticalBlock']"
                 ":has(> [data-testid='stElementContainer'] [data-testid='stSlider'])")
_PRESENTER_CSS = f"""<style>
    [data-testid='stMainBlockContainer'] {{ padding-top: 3rem; }}
    [data-testid='stMain'] h1 {{ font-size: 1.75rem; padding-top: 0.25rem; }}
    [data-testid='stMain'] h2, [data-testid='stMain'] h3 {{ font-size: 1.25rem; padding-top: 0; }}
    {_MAIN_BLOCK} > [data-testid='stElementContainer']:has(h1)
        + [data-testid='stElementContainer']:has([data-testid='stCaptionContainer']) {{ display: none; }}
    {_MAIN_SLIDERS} {{ flex-flow: row wrap; column-gap: 1.5rem; }}
    {_MAIN_SLIDERS} > [data-testid='stElementContainer'] {{ flex: 1 1 16rem; width: auto; }}
    </style>"""


_PAGE_SHOWN = "_page_shown"  # which page the session's previous run showed
_PRESENTING = "_presenting"  # the page being shown is in presenter mode
MAX_SLIDER_POSITIONS = 1000


def _short(raw: Sequence[str]) -> str:
    text = "&".join(raw)
    return text if len(text) <= 40 else text[:37] + "…"


def _equations(latex: str) -> list[str]:
    """The equations of a display formula: its parts between top-level ``\\qquad`` (not inside
    braces), each without the comma that separated it from the next."""
    parts, depth, start, index = [], 0, 0, 0
    while index < len(latex):
        if latex[index] == "\\" and latex[index + 1:index + 2] in ("{", "}"):
            index += 2  # an escaped brace is drawn, it does not group
            continue
        depth += {"{": 1, "}": -1}.get(latex[index], 0)
        if depth == 0 and latex.startswith(r"\qquad", index):
            parts.append(latex[start:index])
            index = start = index + len(r"\qquad")
            continue
        index += 1
    parts.append(latex[start:])
    return [part.strip().removesuffix(",").strip() for part in parts if part.strip()]


class Controls:
    """The page's widgets: their state is the page's own, their values are in the link.

    - State: a widget's key is ``<page>_<name>``, or ``<page>_<owner>_<name>`` for a setting that
      belongs to one choice (one optimizer's β₂), so nothing set on one page or for one optimizer
      reaches another.
    - The link is read when the page is arrived at (a fresh link, or from another page): each
      control starts at the link's value, or at its default with a note when that value is not
      valid. After that the widgets rule, and each control writes its value to the address bar
      (leaving it out at the default), so a copied link reproduces what is on screen.

    Streamlit's ``bind="query-params"`` is not used: it makes the URL name the state key, which
    pages sharing a parameter name then shared, and it let the address bar fall behind quick key
    presses. Widgets go to the sidebar unless a method is given ``where``."""

    def __init__(self, page: str, where=None):
        self.page = page
        self.where = where if where is not None else st.sidebar
        self._notes = st.container()
        self._arriving = st.session_state.get(_PAGE_SHOWN) != page
        st.session_state[_PAGE_SHOWN] = page
        self._link = {name: st.query_params.get_all(name) for name in st.query_params} if self._arriving else {}
        self._url: dict[str, str | list[str]] = {}
        # Presenter mode (present=1): the sidebar folded away, the page's main controls above its
        # charts (``main``), formulas and "What to try" folded, larger chart text.
        self.presenting = self.toggle("present", "Presenter mode", url_values=("1", "0"),
                                      help="For a projector: main controls on the page, large chart text, the "
                                           "rest folded. Kept in the link.")
        st.session_state[_PRESENTING] = self.presenting
        if self.presenting:
            st.set_page_config(initial_sidebar_state="collapsed")
            st.html(_PRESENTER_CSS)
        self.main = st.container() if self.presenting else self.where
        # A control that sits on the page beside its chart; in presenter mode the first screen is for
        # the main controls and the chart, so it moves to the sidebar.
        self.aside = self.where if self.presenting else st
        self._formulas = st.expander("The math") if self.presenting else st.container()
        self.formulas: list[str] = []  # the LaTeX shown, for the notebook

    def math(self, latex: str) -> None:
        """A formula of the page (folded away in presenter mode), kept for the notebook download.
        Its equations (separated by ``\\qquad``) are drawn side by side and wrap onto the next line
        where the column is too narrow (a phone), instead of running out of view."""
        with self._formulas.container(horizontal=True, horizontal_alignment="center", gap="medium",
                                      key=f"math_{len(self.formulas)}"):
            for equation in _equations(latex):
                st.latex(equation, width="content")
        self.formulas.append(latex)

    def link(self) -> str:
        """The address of what is on screen: the page and every control away from its default."""
        return view_link(st.context.url or "", self._url)

    def key(self, name: str, owner: str = "") -> str:
        return "_".join(part for part in (self.page, owner, name) if part)

    def forget(self, name: str, owner: str = "") -> None:
        """Drop a control's state, so it starts again at its default (for ``on_change`` callbacks)."""
        st.session_state.pop(self.key(name, owner), None)

    def _start(self, name: str, key: str, parse: Callable[[list[str]], object], default: object,
               expected: str) -> None:
        """Put the control's starting value into its state: on arrival from the link (or the
        default, with a note), later only when the control is new (e.g. just made visible)."""
        if not self._arriving and key in st.session_state:
            return
        raw = self._link.get(name)
        value = default if raw is None else parse(raw)
        if value is None:
            self._note(name, raw, expected, default)
            value = default
        st.session_state[key] = value

    def _note(self, name: str, raw: list[str], expected: str, shown: object) -> None:
        # The link's text is shown as code, never as Markdown: a link must not be able to draw
        # links, images or formatting on the page.
        with self._notes:
            st.warning(f"The link's value for `{name}` is not valid ({expected}); showing {plain(_shown(shown))}. "
                       "The link said:", icon=":material/link_off:")
            st.code(_short(raw), language=None, wrap_lines=True)

    def _publish(self, name: str, value: object, default: object, text: str | list[str]) -> None:
        if value == default:
            self._url.pop(name, None)
        else:
            self._url[name] = text
        if {key: st.query_params.get_all(key) for key in st.query_params} != {
                key: text if isinstance(text, list) else [text] for key, text in self._url.items()}:
            st.query_params.from_dict(self._url)

    def number(self, name: str, setting: Setting, label: str | None = None, owner: str = "",
               help: str | None = None, where=None, on_change: Callable[[], None] | None = None) -> float:
        """A slider over the setting's grid; a link value must be a number on that grid."""
        key = self.key(name, owner)
        expected = (f"a number from {setting.low:g} to {setting.high:g}" +
                    (" in whole numbers" if setting.whole else f" in steps of {setting.step:g}"))
        self._start(name, key, lambda raw: _on_grid(raw, setting), setting.default,
                    expected)
        if not setting.low <= st.session_state[key] <= setting.high:  # the range moved (reveal ≤ depth)
            st.session_state[key] = setting.default
        # A slider with thousands of positions (steps 1–5000) cannot be set exactly on a phone: a box to type in.
        widget = (where or self.where).number_input if setting.points > MAX_SLIDER_POSITIONS else \
            (where or self.where).slider
        value = widget(label or setting.label, setting.low, setting.high, step=setting.step,
                       format=None if setting.whole else f"%.{setting.decimals}f", key=key, help=help,
                       on_change=on_change)
        value = setting.snap(value)  # a value sent off the grid (not through the slider) is put on it
        self._publish(name, value, setting.default, str(value))
        return value

    def grid(self, name: str, setting: GridSetting, default: float | None = None, help: str | None = None,
             where=None) -> float:
        """A slider over a short list of values (e.g. learning rates 1-2-5 per decade)."""
        key, default = self.key(name), setting.default if default is None else default
        self._start(name, key, lambda raw: _on_grid(raw, setting), default,
                    f"one of {', '.join(map(str, setting.options))}")
        value = (where or self.where).select_slider(setting.label, setting.options, key=key, help=help)
        self._publish(name, value, default, str(value))
        return value

    def choice(self, name: str, label: str, options: Sequence[str], default: str,
               horizontal: bool = False, help: str | None = None, where=None) -> str:
        """A radio (horizontal) or select box over ids; the link names one id."""
        key, where = self.key(name), where or self.where
        self._start(name, key, lambda raw: raw[0] if len(raw) == 1 and raw[0] in options else None, default,
                    f"one of {', '.join(options)}")
        widget = partial(where.radio, horizontal=True) if horizontal else where.selectbox
        value = widget(label, options, key=key, help=help)
        self._publish(name, value, default, value)
        return value

    def choices(self, name: str, label: str, options: Sequence[str], default: Sequence[str],
                max_selections: int, help: str | None = None, where=None) -> list[str]:
        """A multiselect; the link repeats the key once per id (one empty value: none chosen)."""
        key, default = self.key(name), list(default)

        def parse(raw: list[str]) -> list[str] | None:
            chosen = [] if raw == [""] else raw
            valid = all(r in options for r in chosen) and len(set(chosen)) == len(chosen) <= max_selections
            return chosen if valid else None

        self._start(name, key, parse, default, f"up to {max_selections} of {', '.join(options)}")
        value = (where or self.where).multiselect(label, options, max_selections=max_selections, key=key, help=help)
        self._publish(name, value, default, value or [""])
        return value

    def text(self, name: str, label: str, default: str, accepts: Callable[[str], bool], max_chars: int,
             help: str | None = None, where=None) -> str:
        """A text input; a link's value must be one text that ``accepts`` (e.g. a formula that parses)."""
        key = self.key(name)
        self._start(name, key, lambda raw: raw[0] if len(raw) == 1 and accepts(raw[0]) else None, default,
                    "a formula this page can use")
        value = (where or self.where).text_input(label, key=key, max_chars=max_chars, help=help)
        self._publish(name, value, default, value)
        return value

    def toggle(self, name: str, label: str, default: bool = False, help: str | None = None, where=None,
               url_values: tuple[str, str] = ("true", "false")) -> bool:
        """A toggle; the link says on or off with ``url_values`` (either pair is understood)."""
        key = self.key(name)
        words = {url_values[0]: True, url_values[1]: False, "true": True, "false": False}
        self._start(name, key, lambda raw: words.get(raw[0].lower()) if len(raw) == 1 else None, default,
                    f"{url_values[0]} or {url_values[1]}")
        value = (where or self.where).toggle(label, key=key, help=help)
        self._publish(name, value, default, url_values[0] if value else url_values[1])
        return value

    def reset(self) -> None:
        """Every control of the page back to its default, and the link with it (a button's callback)."""
        presenter = self.key("present")  # a reset keeps the projector's view
        for key in [key for key in st.session_state if str(key).startswith(f"{self.page}_") and key != presenter]:
            del st.session_state[key]
        self._url.clear()
        st.query_params.clear()


def plain(text: str) -> str:
    """``text`` with every character Markdown could act on escaped, for st.error/st.warning bodies
    that quote what a person typed."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in text)


_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+-.!|<>~$:=&\"'")


def _shown(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _on_grid(raw: list[str], setting: Setting | GridSetting) -> float | None:
    """The link's one value as a point of the setting's grid, or None."""
    try:
        return setting.on_grid(float(raw[0])) if len(raw) == 1 else None
    except ValueError:
        return None


class Metric(NamedTuple):
    label: str
    value: str
    delta: str | None = None
    help: str | None = None


def metric_row(*metrics: Metric) -> None:
    """Metrics side by side: one row on a wide screen, two to a row on a phone (the CSS is in
    ``navigation``). One row per page: its key is the CSS's hook."""
    with st.container(horizontal=True, key="metrics"):
        for metric in metrics:
            st.metric(metric.label, metric.value, metric.delta, help=metric.help)


def cache_in_memory(largest_entry_bytes: int, budget_bytes: int = 32 * 2 ** 20) -> Callable:
    """``st.cache_data`` (by value, a copy per caller) bounded in memory, not only in count: as
    many entries as the largest possible entry fits into the budget. Shared by every visitor."""
    return st.cache_data(max_entries=max(1, budget_bytes // largest_entry_bytes))


def formula_input(controls: Controls, name: str, label: str, default: str, help: str, where) -> Formula | None:
    """A text input for a formula in x (link key ``name``). A formula that cannot be used is
    explained where it was typed, and None is returned."""
    import gradlib  # here, not at the top: this module is also for pages without TensorFlow

    def parses(text: str) -> bool:
        try:
            gradlib.formula(text)
        except gradlib.ExpressionError:
            return False
        return True

    text = controls.text(name, label, default, parses, gradlib.MAX_FORMULA_LENGTH, where=where, help=help)
    try:
        return gradlib.formula(text)
    except gradlib.ExpressionError as error:
        where.error(plain(str(error)), icon=":material/error:")  # it quotes what was typed: no Markdown
        return None


def surrogate_formula(controls: Controls, surrogate: str) -> str | None:
    """For the surrogate "custom", the typed g(x) (link key ``g``), in the sidebar; None for any
    other surrogate. A g that cannot be used is explained there, and the page stops."""
    import gradlib

    if surrogate != gradlib.CUSTOM:
        return None
    backward = formula_input(controls, "g", "Your surrogate g(x)", gradlib.SURROGATE_TEXT,
                             "g(x) multiplies the upstream gradient in the backward pass of sign", st.sidebar)
    if backward is None:
        st.stop()
    return backward.text


def formula_pair(controls: Controls, where=None) -> tuple[Formula, Formula] | None:
    """Inputs for a forward f and backward g (link keys ``f`` and ``g``, the notebook's foo by
    default), side by side on the page or one above the other in ``where``; None if either fails."""
    import gradlib

    left, right = st.columns(2) if where is None else (where, where)
    forward = formula_input(controls, "f", "Forward f(x)", gradlib.FORWARD_TEXT, f"In x: {gradlib.expressions.ALLOWED}",
                            left)
    backward = formula_input(controls, "g", "Backward g(x): downstream = g(x) × upstream", gradlib.BACKWARD_TEXT,
                             "The local derivative your backward function multiplies the upstream by", right)
    return None if forward is None or backward is None else (forward, backward)


def chain_check(check: ChainCheck) -> None:
    """A chain's trace as the notebook prints it and as a table, and its dy/dx four ways. In
    presenter mode only the number shows; the rest is folded beside it, so that the chart below
    the check still starts on a projector's first screen."""
    trace = check.trace
    if check.problem:
        st.error(check.problem, icon="⚠️")
    left, right = st.columns([1, 3])
    left.metric("dy/dx (custom gradients)", f"{trace.dydx:.9g}")
    if st.session_state.get(_PRESENTING, False):
        left = right = right.expander("The trace, and dy/dx four ways")
    with right:
        st.markdown("**The trace**: forward from stage 1, backward from stage n (what each `grad` received and "
                    "returned)")
        table({
            "stage": [s.stage for s in trace.forward],
            "input x_i": [s.input for s in trace.forward],
            "output f(x_i)": [s.output for s in trace.forward],
            "upstream": [b.upstream for b in reversed(trace.backward)],
            "local f'(x_i)": [b.local_grad for b in reversed(trace.backward)],
            "downstream": [b.downstream for b in reversed(trace.backward)],
        }, key="trace")
    # Wrapped: in the narrow column a line would otherwise scroll sideways, in a box that the
    # keyboard cannot reach (axe: scrollable-region-focusable).
    left.code("\n".join([f"x={s.input:g}\ty={s.output:g}" for s in trace.forward]
                        + [f"x={b.input:g}\tupstream={b.upstream:g}\tcurrent={b.local_grad:g}\t"
                           f"downstream={b.downstream:g}" for b in trace.backward]
                        + [f"\nfinal dy/dx={trace.dydx:g}"]), language="text", wrap_lines=True)
    right.markdown("**The same dy/dx four ways**")
    table({
        "method": [e.label for e in check.estimates],
        "dy/dx": [f"{e.value:.9g}" for e in check.estimates],  # text: all 9 digits, to compare the four
        "relative error vs closed form": ["(reference)" if e.method == "closed_form" else
                                          "n/a (not finite)" if np.isnan(e.rel_error) else f"{e.rel_error:.2e}"
                                          for e in check.estimates],
    }, key="checks", where=right)


def code_panel(code: str, controls: Controls) -> None:
    """The runnable code of the view, also as a notebook (the page's math, its link, then the code),
    and the view's link with a QR code; last on the page, once every control has its value."""
    info, link = BY_KEY[controls.page], controls.link()
    with st.expander("Code for this view: runnable TensorFlow that prints these numbers"):
        st.code(code, language="python")
        # Built on every run (~0.5 ms), not on click: Streamlit 1.67 drops a file built on click when
        # another session's run ends before the browser fetched it (a 404 for most of a class).
        st.download_button("Download as notebook", notebook(info.title, controls.formulas, link, code),
                           file_name=f"{info.url_path}.ipynb", mime="application/x-ipynb+json",
                           icon=":material/download:", key="notebook", on_click="ignore")
    with st.expander("Share this view", expanded=controls.presenting, icon=":material/qr_code_2:"):
        left, right = st.columns([2, 1])
        left.markdown("The exact link of what is on screen; students can scan the code with a phone:")
        left.code(link, language=None, wrap_lines=True)
        if is_local(link):
            left.caption("This address only opens on this computer: share the server's network address instead "
                         "(Streamlit prints it at start as 'Network URL').")
        left.button("Reset to the defaults", on_click=controls.reset, icon=":material/restart_alt:", key="reset")
        # Its own size (12 px a module for the back of a room, else 6), but never wider than its
        # column: a fixed width ran out of the column on a projector or a narrow window.
        # Drawn on request (always in presenter mode): a new link's code costs ~4 ms of server CPU.
        if right.toggle("QR code", value=controls.presenting, key="qr", help="for phones to scan"):
            right.image(qr_svg(link, module_pixels=12 if controls.presenting else 6), caption="The link as a QR code",
                        width="content", alt="QR code of the link shown beside it")


def _arrow_table(columns: Mapping[str, Sequence | np.ndarray]) -> pa.Table:
    """Columns as an Arrow table for ``st.dataframe``, which sends one as it is (a pandas DataFrame
    it converts to Arrow first). NaN becomes a missing value, as in that conversion, so a table
    shows what it showed when it was built with pandas. Through NumPy: Arrow infers a Python list's
    type value by value (~4× slower for a page's small tables)."""
    return pa.table({name: pa.array(np.asarray(values), from_pandas=True) for name, values in columns.items()})


TABLE_NUMBER_FORMAT = "%.4g"  # 4 significant digits: a table fits a phone; the code panel and downloads keep all


def table(columns: Mapping[str, Sequence | np.ndarray], key: str, formats: Mapping[str, str] | None = None,
          where=None) -> None:
    """A table whose first column says what each row is: pinned, so it stays in view when the
    table scrolls sideways (a phone), and real numbers shown at 4 significant digits unless
    ``formats`` gives a column its own (Streamlit's number formats, "%.10g", "percent")."""
    data = _arrow_table(columns)
    config = {}
    for index, field in enumerate(data.schema):
        pinned = True if index == 0 else None
        if pa.types.is_floating(field.type) or pa.types.is_integer(field.type):
            default = TABLE_NUMBER_FORMAT if pa.types.is_floating(field.type) else None
            config[field.name] = st.column_config.NumberColumn(
                pinned=pinned, format=(formats or {}).get(field.name, default))
        elif pinned:
            config[field.name] = st.column_config.Column(pinned=True)
    (where or st).dataframe(data, hide_index=True, key=key, column_config=config)


# Plotly draws its ▶ Play / ❚❚ Pause as SVG shapes that take no keyboard focus. This makes each one
# a button a keyboard reaches (Tab), presses (Enter or Space) and shows focused. Trusted, fixed code:
# nothing in it comes from a visitor.
_KEYBOARD_BUTTONS_JS = """
export default function() {
    const enable = () => {
        for (const button of document.querySelectorAll('.updatemenu-button:not([tabindex])')) {
            button.setAttribute('tabindex', '0');
            button.setAttribute('role', 'button');
            button.setAttribute('aria-label', button.textContent.trim());
            button.addEventListener('keydown', event => {
                if (event.key !== 'Enter' && event.key !== ' ') return;
                event.preventDefault();
                button.dispatchEvent(new MouseEvent('click', {bubbles: true}));
            });
        }
    };
    enable();
    const observer = new MutationObserver(enable);  // charts are drawn, and redrawn, after this runs
    observer.observe(document.body, {childList: true, subtree: true});
    return () => observer.disconnect();
}
"""
_KEYBOARD_BUTTONS_CSS = """<style>
    .updatemenu-button:focus { outline: none; }
    .updatemenu-button:focus-visible rect { stroke: currentColor !important; stroke-width: 3px !important; }
    </style>"""


def chart(figure: dict, key: str, alt: str, where=None) -> None:
    """A Plotly chart of a figure dict from ``ui.figures``, keyed ``<key>_chart`` so it never
    clashes with a control's key (its CSS class is then ``st-key-<key>_chart``, which the browser
    tests use), with ``alt`` under it: one sentence saying what it shows and its key number (the
    chart's text alternative). Its text takes the theme's colour, larger in presenter mode; the
    toolbar's camera saves it as SVG, drawn by the browser."""
    if "frames" in figure:  # Plotly's Play
        with st.sidebar:  # it draws nothing, but its element would add a gap on the page
            st.components.v2.component("cgl.keyboard_buttons", js=_KEYBOARD_BUTTONS_JS)(key=f"{key}_keyboard")
        st.html(_KEYBOARD_BUTTONS_CSS)
    figure = styled(figure, large=st.session_state.get(_PRESENTING, False))
    config = dict(PLOTLY_CONFIG, toImageButtonOptions={"format": "svg", "filename": key})
    with (where or st).container():
        st.plotly_chart(plotly_wire.sendable(figure), key=f"{key}_chart", config=config)
        st.caption(plain(alt))


def on_a_phone() -> bool:
    """The visitor's browser says it is a phone's ("Mobi" in its User-Agent: what MDN advises to
    look for). Known when the page runs, unlike the window's width, so a figure can be laid out
    for it at once (no second run); a narrow desktop window is not a phone."""
    return "Mobi" in (st.context.headers.get("User-Agent") or "")


def what_to_try(*items: str) -> None:
    with st.expander("What to try", expanded=not st.session_state.get(_PRESENTING, False)):
        st.markdown("\n".join(f"- {item}" for item in items))
