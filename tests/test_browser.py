"""End to end in a real browser: Playwright drives Debian's Chromium against `streamlit run`.

Skipped with a message where no Chromium is installed, except when CGL_REQUIRE_BROWSER=1 (CI
sets it), where a missing browser fails the run. Screenshots go to tests/screenshots/ (git-ignored)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlparse

import pytest

import gradlib

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium floods the closed network here; Debian's launcher fails
# to add --disable-dev-shm-usage itself.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
RUN_FINISHED = ("[data-testid='stApp'][data-test-connection-state='CONNECTED']"
                "[data-test-script-state='notRunning']")
STCORE_PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")
PAGES = {"home": "", "chain": "Chain_rule", "multivar": "Multiple_variables",
         "surrogates": "Surrogate_gradients", "training": "Training", "network": "Binarized_network",
         "fixes": "Gradient_fixes", "yours": "Your_gradient"}
# Each page's title, which is also its label in the sidebar navigation.
TITLES = {"chain": "Chain rule", "multivar": "Multiple variables", "surrogates": "Surrogate gradients",
          "training": "Training", "network": "Binarized network", "fixes": "Gradient fixes",
          "yours": "Your gradient"}
LINK_WARNING = "[data-testid='stAlertContentWarning']:has-text(\"The link's value for\")"
ALERTS = ("[data-testid='stAlertContentWarning'], [data-testid='stAlertContentError'], "
          "[data-testid='stAlertContentInfo']")

pytestmark = pytest.mark.slow  # minutes: a server and a real browser

if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
    message = f"browser tests need Debian's Chromium at {CHROMIUM}: apt-get update && apt-get install -y chromium"
    if os.environ.get("CGL_REQUIRE_BROWSER") == "1":
        raise RuntimeError(message)
    pytest.skip(message, allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "server.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("streamlit did not answer /_stcore/health within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()  # our own child, by its own pid
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One browser tab on the app that records console errors and every request's host."""

    def __init__(self, page: Page, base: str):
        self.page, self.base = page, base
        self.console_errors: list[str] = []
        self.hosts: set[str] = set()
        page.on("console", self._on_console)
        page.on("request", lambda request: self.hosts.add(urlparse(request.url).hostname or request.url))

    def _on_console(self, message) -> None:
        # Opened at /Page, Streamlit's frontend first probes /Page/_stcore/health and host-config,
        # gets 404, then finds the server at the root: its own base-path guess, not an app error.
        if message.type == "error" and not STCORE_PROBE.search(message.location.get("url", "")):
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def open(self, page: str, query: str = "") -> Page:
        self.page.goto(f"{self.base}/{PAGES[page]}{'?' + query if query else ''}")
        return self.finished()

    def finished(self) -> Page:
        self.page.wait_for_selector(RUN_FINISHED, state="attached", timeout=60_000)
        expect(self.page.locator("[data-testid='stSkeleton']")).to_have_count(0, timeout=60_000)
        return self.page

    def metric(self, label: str) -> str:
        metric = self.page.locator("[data-testid='stMetric']").filter(has_text=label)
        return metric.locator("[data-testid='stMetricValue']").inner_text()

    def charts_drawn(self) -> int:
        """Wait until every Plotly chart has plotted traces in its SVG; return how many charts."""
        charts = self.page.locator("[data-testid='stPlotlyChart']")
        for index in range(charts.count()):
            expect(charts.nth(index).locator(".main-svg .scatterlayer .trace, .main-svg .contourlayer")
                   .first).to_be_attached(timeout=30_000)
        return charts.count()

    def code_panel(self):
        """The code panel's code (the expander is collapsed: read it with text_content)."""
        return (self.page.locator("[data-testid='stExpander']").filter(has_text="Code for this view")
                .locator("[data-testid='stCode']"))

    def settled(self) -> Page:
        """The run finished and nothing of the previous run is left on screen."""
        self.finished()
        expect(self.page.locator("[data-stale='true']")).to_have_count(0, timeout=60_000)
        self.charts_drawn()
        return self.page

    def navigate(self, target: str) -> Page:
        """Click a page in the sidebar navigation, as a person does, and wait for it to be shown."""
        page = self.page
        page.locator("[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']").filter(
            has_text=re.compile(rf"{TITLES[target]}$")).click()
        page.wait_for_url(re.compile(rf"/{PAGES[target]}(\?.*)?$"), timeout=30_000)
        expect(page.locator("h1").first).to_contain_text(TITLES[target], timeout=60_000)
        expect(self.code_panel()).to_have_count(1, timeout=60_000)
        return self.settled()

    def view(self, page_id: str) -> dict:
        """What the page shows: its title, metrics, alerts, every code block (the code panel is
        generated from every setting) and the value of each of the page's own controls."""
        page = self.page
        return {
            "title": page.locator("h1").first.inner_text(),
            "metrics": page.locator("[data-testid='stMetric']").all_inner_texts(),
            "alerts": page.locator(ALERTS).all_inner_texts(),
            "code": [code.text_content() for code in page.locator("[data-testid='stCode']").all()],
            "controls": page.evaluate("""prefix => Object.fromEntries(
                [...document.querySelectorAll("[class*='st-key-" + prefix + "']")].map(element => [
                    [...element.classList].find(name => name.startsWith("st-key-")), element])
                .filter(([key]) => !key.endsWith("_chart")).map(([key, element]) => [key,
                    [element.innerText, [...element.querySelectorAll("input")].map(input =>
                        input.type === "range" ? input.getAttribute("aria-valuetext") :
                        ["checkbox", "radio"].includes(input.type) ? String(input.checked) : input.value)]]))""",
                                      f"{page_id}_"),
        }

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    def assert_clean(self) -> None:
        assert self.page.locator("[data-testid='stException']").count() == 0
        assert not self.console_errors, self.console_errors
        assert self.hosts <= {"127.0.0.1"}, f"requests left localhost: {self.hosts - {'127.0.0.1'}}"


@pytest.fixture
def visit(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    yield Visit(context.new_page(), server)
    context.close()


CHARTS = {"home": 0, "chain": 2, "multivar": 1, "surrogates": 1, "training": 2, "network": 2, "fixes": 1, "yours": 1}


@pytest.mark.parametrize("page", list(PAGES))
def test_page_loads_clean_with_every_chart_drawn(visit, page):
    visit.open(page)
    assert visit.charts_drawn() == CHARTS[page]
    visit.screenshot(page)
    visit.assert_clean()


def test_chain_share_link_opens_in_that_state(visit):
    page = visit.open("chain", "x=2&depth=3")
    assert visit.metric("dy/dx (custom gradients)") == "1024"
    page = visit.open("chain", "fn=sin&x=1.5&depth=4&dtype=float64")
    expected = gradlib.trace_chain("sin", 1.5, 4, "float64").dydx
    assert float(visit.metric("dy/dx (custom gradients)")) == pytest.approx(expected, rel=1e-8)
    expect(page.locator(".st-key-chain_fn [role='combobox']")).to_have_value("sin")
    visit.screenshot("chain_link")
    visit.assert_clean()


def _press_on_slider(page: Page, key: str, keys: list[str]) -> None:
    thumb = page.locator(f".st-key-{key} input[type=range]")
    thumb.focus()
    for name in keys:
        thumb.press(name)


def test_chain_slider_moved_with_the_keyboard_changes_numbers_and_chart(visit):
    page = visit.open("chain")
    visit.charts_drawn()
    before = page.locator(".st-key-curves_chart .scatterlayer .trace").nth(1).inner_html()
    _press_on_slider(page, "chain_x", ["ArrowLeft"])  # one step: x = 1.95
    expected = gradlib.trace_chain("square", 1.95, 3).dydx
    expect(page.locator("[data-testid='stMetricValue']").first).to_have_text(f"{expected:.9g}", timeout=30_000)
    visit.finished()
    visit.charts_drawn()
    assert page.locator(".st-key-curves_chart .scatterlayer .trace").nth(1).inner_html() != before
    _press_on_slider(page, "chain_depth", ["ArrowRight"])  # depth 4
    expected = gradlib.trace_chain("square", 1.95, 4).dydx
    expect(page.locator("[data-testid='stMetricValue']").first).to_have_text(f"{expected:.9g}", timeout=30_000)
    visit.finished()
    assert "depth=4" in page.url and "x=1.95" in page.url  # the address bar now reproduces the view
    visit.assert_clean()


def test_multivar_toggle_and_slider(visit):
    page = visit.open("multivar")
    assert visit.metric("∂z/∂w") == "None"
    page.locator(".st-key-multivar_zeros label").click()
    expect(page.locator("[data-testid='stMetric']").filter(has_text="∂z/∂w")
           .locator("[data-testid='stMetricValue']")).to_have_text("0", timeout=30_000)
    _press_on_slider(page, "multivar_y", ["ArrowLeft"])  # y = 2.95, z = 5.9
    expect(page.locator("[data-testid='stMetricValue']").first).to_have_text("5.9", timeout=30_000)
    visit.finished()
    visit.assert_clean()


def test_surrogate_link_and_scale(visit):
    page = visit.open("surrogates", "surrogates=sigmoid&surrogates=atan&surrogates=zero&x=0.5")
    assert visit.charts_drawn() == 1
    traces = page.locator("[data-testid='stPlotlyChart'] .scatterlayer .trace")
    expect(traces).to_have_count(2 + 2 * 3)
    _press_on_slider(page, "surrogates_scale", ["ArrowRight"] * 10)  # 1.0 -> 2.0
    expect(page.locator("[data-testid='stDataFrame']").first).to_contain_text("sigmoid (k=2)", timeout=30_000)
    visit.finished()
    visit.screenshot("surrogates_link")
    visit.assert_clean()


def test_malformed_link_falls_back_with_a_note(visit):
    page = visit.open("chain", "depth=abc&x=1e309")
    expect(page.locator("[data-testid='stAlertContentWarning']")).to_have_count(2)
    for name, raw in (("depth", "abc"), ("x", "1e309")):
        expect(page.locator(LINK_WARNING).filter(has_text=f"for {name} is not valid")).to_have_count(1)
        expect(page.locator("[data-testid='stCode']").filter(has_text=re.compile(rf"^{raw}$"))).to_have_count(1)
    assert visit.metric("dy/dx (custom gradients)") == "1024"
    visit.assert_clean()


def _start_play(visit: Visit, page_name: str, query: str):
    """Open a page, press Play, and return its progress bar once it shows."""
    page = visit.open(page_name, query)
    visit.charts_drawn()
    page.locator(".st-key-play").get_by_role("button", name="Play").click()
    progress = page.locator("[data-testid='stProgress']")
    expect(progress).to_be_visible(timeout=30_000)
    return progress


def test_training_play_is_drawn_by_the_browser(visit):
    """Plotly's ▶ Play in the chart steps through the figure's frames in the browser: every frame is
    drawn, and the server runs nothing meanwhile (no rerun). Frames per second are reported."""
    page = visit.open("training", "steps=2000")
    visit.charts_drawn()
    chart = page.locator(".st-key-training_chart .js-plotly-plot")
    chart.evaluate("""div => {
        window.__frames = [];
        div.on('plotly_animatingframe', () => window.__frames.push(performance.now()));
        window.__done = new Promise(resolve => div.on('plotly_animated', resolve));
        const app = document.querySelector("[data-testid='stApp']");
        window.__runs = 0;  // script runs started on the server while the browser plays
        new MutationObserver(() => { if (app.getAttribute('data-test-script-state') === 'running') window.__runs++; })
            .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    }""")
    page.locator(".st-key-training_chart .updatemenu-button").filter(has_text="Play").click()
    page.evaluate("window.__done")
    times = page.evaluate("window.__frames")
    assert page.evaluate("window.__runs") == 0  # no server work while it plays
    assert len(times) == 60  # ui.figures.ANIMATION_FRAMES: all of them drawn
    print(f"Play: {len(times)} frames in {(times[-1] - times[0]) / 1e3:.2f} s, "
          f"{(len(times) - 1) / ((times[-1] - times[0]) / 1e3):.1f} frames per second drawn by the browser")
    assert visit.metric("steps run") == "2000 / 2000"
    visit.screenshot("training_after_play")
    visit.assert_clean()


def test_two_visitors_training_at_once_each_get_their_solo_history(browser, server):
    """Two sessions train different settings at the same moment: each downloads exactly the
    history a solo gradlib run gives, bit for bit, and sees only its own settings."""
    links = {"A": ("optimizer=adam&x0=-1.55&steps=4000", gradlib.TrainingConfig(x0=-1.55, steps=4000)),
             "B": ("optimizer=rmsprop&surrogate=atan&target=-1.0&lr=0.01&steps=3500",
                   gradlib.TrainingConfig(optimizer="rmsprop", surrogate="atan", target=-1.0,
                                          settings={"learning_rate": 0.01}, steps=3500))}
    contexts = {name: browser.new_context(accept_downloads=True) for name in links}
    try:
        visits = {name: Visit(context.new_page(), server) for name, context in contexts.items()}
        for name, visit in visits.items():  # both requests are in flight before either is awaited
            visit.page.goto(f"{server}/Training?{links[name][0]}", wait_until="commit")
        for name, visit in visits.items():
            visit.finished()
            with visit.page.expect_download() as download:
                visit.page.locator(".st-key-download").get_by_role("button").click()
            rows = Path(download.value.path()).read_text().splitlines()
            solo = gradlib.train(links[name][1])
            x_column = rows[0].split(",").index("x")
            assert [float(row.split(",")[x_column]) for row in rows[1:]] == solo.x.tolist()
            expect(visit.page.locator(".st-key-training_optimizer [role='combobox']")).to_have_value(
                links[name][1].optimizer)
            visit.assert_clean()
    finally:
        for context in contexts.values():
            context.close()


def test_training_compare_link(visit):
    page = visit.open("training", "compare=optimizers&compare_optimizers=sgd&compare_optimizers=lion")
    visit.charts_drawn()
    legend = page.locator(".st-key-training_chart .legend")
    for name in ("sigmoid · Adam", "sigmoid · SGD", "sigmoid · Lion"):
        expect(legend).to_contain_text(name)
    visit.assert_clean()


# page, link, slider key, URL parameter, chart whose drawing must change, text element whose content must change
SLIDER_MOVES = [
    ("multivar", "", "multivar_x", "x", "field_chart", "[data-testid='stMetricValue']"),
    ("surrogates", "", "surrogates_x", "x", "surrogates_chart", "[data-testid='stDataFrame']"),
    ("training", "", "training_x0", "x0", "training_chart", "[data-testid='stMetricValue']"),
    ("network", "", "network_hidden", "hidden", "boundary_chart", "[data-testid='stMetricValue'] >> nth=2"),
    ("fixes", "example=clip", "fixes_clip", "clip", "descent_chart", "[data-testid='stMetricValue']"),
]


@pytest.mark.parametrize("page_name, query, key, parameter, chart, numbers", SLIDER_MOVES)
def test_keyboard_slider_move_changes_numbers_and_chart(visit, page_name, query, key, parameter, chart, numbers):
    page = visit.open(page_name, query)
    visit.charts_drawn()
    drawing = f".st-key-{chart} .main-svg"
    # A dataframe draws on a canvas and fills its text in later: wait for the text before reading it.
    expect(page.locator(numbers).first).not_to_have_text("", timeout=30_000)
    before_chart, before_numbers = page.locator(drawing).first.inner_html(), page.locator(numbers).first.text_content()
    _press_on_slider(page, key, ["ArrowLeft"])
    expect(page.locator(numbers).first).not_to_have_text(before_numbers, timeout=30_000)
    visit.finished()
    visit.charts_drawn()
    # Plotly redraws after the numbers show: poll the drawing until it differs instead of comparing once.
    page.wait_for_function("([selector, before]) => document.querySelector(selector)?.innerHTML !== before",
                           arg=[drawing, before_chart], timeout=30_000)
    expect(page).to_have_url(re.compile(rf"[?&]{parameter}="))
    visit.assert_clean()


def test_network_share_link_and_live_play(visit):
    progress = _start_play(visit, "network", "dataset=circles&seed=4&hidden=16&steps=400")
    first = progress.inner_text()
    expect(progress).not_to_have_text(first, timeout=10_000)
    expect(progress).to_have_count(0, timeout=60_000)  # a 400-step live run finishes by itself
    visit.finished()
    expected = gradlib.networks.train_network(gradlib.networks.NetworkConfig(dataset="circles", seed=4, hidden=16,
                                                                             steps=400))
    assert visit.metric("training accuracy") == f"{expected.final_accuracy:.1%}"
    visit.charts_drawn()
    visit.screenshot("network_after_play")
    visit.assert_clean()


def test_fixes_share_link(visit):
    page = visit.open("fixes", "x=100")
    expect(page.locator(".st-key-fixes_log1pexp_x input[type=range]")).to_have_attribute("aria-valuetext", "100.0")
    assert visit.metric("f(x) = log(1 + eˣ), stable, float32") == "100"
    # dy/dx by method: a dataframe (drawn on a canvas), whose cells fill in as text shortly after.
    table = page.locator("[data-testid='stDataFrame']")
    expect(table).to_contain_text("TF autodiff", timeout=30_000)
    rows = table.locator("tr")
    expected = {"exact (float64)": "1", "stable custom gradient": "1", "the docs' custom gradient": "1",
                "TF autodiff": "nan"}
    for method, value in expected.items():
        cells = (rows.filter(has=page.locator("td, th", has_text=re.compile(rf"^{re.escape(method)}$")))
                 .locator("td, th"))
        assert cells.nth(1).text_content() == value, (method, cells.all_text_contents())
    warnings = page.locator("[data-testid='stAlertContentWarning']")
    expect(warnings).to_have_count(1)  # autodiff is wrong; the docs' form is right at x = 100
    expect(warnings).to_contain_text("inf · 0 = NaN")
    assert visit.charts_drawn() == 1
    expect(page.locator(".st-key-gradients_chart .main-svg .cartesianlayer .subplot")).to_have_count(2)
    visit.screenshot("fixes_log1pexp")
    visit.assert_clean()


# Going from page to page as people do. Per starting page: the slider moved with the keyboard (its
# key, the URL parameter it writes, the key pressed) and the other pages in the order they are
# clicked, the reported paths first: Training (x0) → Binarized network (crashed); Binarized network
# → Training (must show the notebook's lr 0.1 / 100 steps); Chain rule → Training → Gradient fixes
# (log1pexp x must be 100). Most controls share a URL name with another page's (x, lr, steps).
ROUNDS = {
    "chain": ("chain_x", "x", "ArrowLeft", ["training", "fixes", "multivar", "surrogates", "network"]),
    "multivar": ("multivar_x", "x", "ArrowLeft", ["chain", "surrogates", "training", "network", "fixes"]),
    "surrogates": ("surrogates_x", "x", "ArrowLeft", ["chain", "multivar", "training", "network", "fixes"]),
    "training": ("training_x0", "x0", "ArrowRight", ["network", "chain", "multivar", "surrogates", "fixes"]),
    "network": ("network_lr", "lr", "ArrowRight", ["training", "chain", "multivar", "surrogates", "fixes"]),
    "fixes": ("fixes_log1pexp_x", "x", "ArrowLeft", ["chain", "multivar", "surrogates", "training", "network"]),
    "yours": ("yours_x", "x", "ArrowLeft", ["chain", "training", "network", "fixes"]),
}


@pytest.fixture(scope="module")
def fresh_view(browser, server):
    """What a fresh visit (a new tab, no link) shows on a page; each page visited once per module."""
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    views: dict[str, dict] = {}

    def view(page_id: str) -> dict:
        if page_id not in views:
            fresh = Visit(context.new_page(), server)
            fresh.open(page_id)
            fresh.settled()
            views[page_id] = fresh.view(page_id)
            fresh.assert_clean()
            fresh.page.close()
        return views[page_id]

    yield view
    context.close()


def _slider_value(page: Page, key: str) -> str:
    return page.locator(f".st-key-{key} input[type=range]").get_attribute("aria-valuetext")


@pytest.mark.parametrize("start", list(ROUNDS))
def test_each_page_arrived_at_from_another_shows_its_fresh_view(visit, fresh_view, start):
    key, parameter, press, others = ROUNDS[start]
    page = visit.open(start)
    visit.settled()
    before = visit.code_panel().text_content()
    _press_on_slider(page, key, [press])
    expect(visit.code_panel()).not_to_have_text(before, timeout=30_000)  # the view changed
    expect(page).to_have_url(re.compile(rf"[?&]{parameter}="), timeout=30_000)
    visit.settled()
    path = [f"{TITLES[start]} ({parameter} moved with {press}, {page.url})"]
    for target in others:
        visit.navigate(target)
        path.append(TITLES[target])
        where = " → ".join(path)
        assert page.locator("[data-testid='stException']").count() == 0, where
        assert page.locator(LINK_WARNING).count() == 0, where
        assert urlparse(page.url).query == "", f"{where}: address bar {page.url}"
        assert visit.view(target) == fresh_view(target), where
        if target == "training":  # the notebook's defaults, not the Binarized network's lr 0.01 / 300 steps
            assert (_slider_value(page, "training_lr"), _slider_value(page, "training_steps")) == ("0.1", "100"), where
            assert visit.metric("steps run") == "100 / 100", where
        if target == "fixes":
            assert float(_slider_value(page, "fixes_log1pexp_x")) == 100, where
    visit.assert_clean()


CHAIN_STATE = """() => ({
    depth: [...document.querySelectorAll(".st-key-chain_depth input[type=range]")].map(i => i.getAttribute("aria-valuetext")),
    reveal: [...document.querySelectorAll(".st-key-chain_reveal input[type=range]")].map(i => i.getAttribute("aria-valuetext")),
    backward_points: [...document.querySelectorAll(".st-key-diagram_chart .scatterlayer .trace")].slice(1, 2)
        .map(trace => trace.querySelectorAll(".point").length),
    query: location.search,
})"""


def _chain_shows_depth(visit: Visit, depth: int, reveal: int | None = None) -> None:
    """Depth and revealed stages on the sliders (one of each), in the diagram's second trace
    ("gradient flowing back", one point per stage), in the trace and in the URL (reveal is left out
    at its default, all stages)."""
    page, reveal = visit.page, depth if reveal is None else reveal
    query = f"?depth={depth}" + ("" if reveal == depth else f"&reveal={reveal}")
    expected = {"depth": [str(depth)], "reveal": [str(reveal)], "backward_points": [reveal], "query": query}
    deadline, state = time.monotonic() + 30, None
    while time.monotonic() < deadline:  # polled as a whole: mid-run, an old and a new slider can coexist
        state = page.evaluate(CHAIN_STATE)
        if state == expected:
            break
        page.wait_for_timeout(100)
    assert state == expected, f"after 30 s, {page.url}"
    # Settled: a moment later, with the run finished, everything still says so.
    page.wait_for_timeout(1000)
    visit.settled()
    assert page.evaluate(CHAIN_STATE) == expected, page.url
    trace = page.locator("[data-testid='stCode']").filter(has_text=re.compile(r"^x="))  # a line per stage, each way
    assert trace.text_content().count("upstream=") == depth and trace.text_content().count("\ty=") == depth


def test_quick_key_presses_on_depth_all_land_in_the_view_and_the_link(visit):
    page = visit.open("chain")
    visit.settled()
    thumb = page.locator(".st-key-chain_depth input[type=range]")
    thumb.focus()
    for _ in range(4):  # quickly, with no wait between presses: 3 → 7
        page.keyboard.press("ArrowRight")
    _chain_shows_depth(visit, 7)
    shown = visit.view("chain")
    fresh = Visit(page.context.new_page(), visit.base)  # the copied link, in a new tab
    fresh.page.goto(page.url)
    fresh.settled()
    assert fresh.metric("dy/dx (custom gradients)") == visit.metric("dy/dx (custom gradients)")
    assert fresh.view("chain") == shown
    fresh.assert_clean()
    # Stepping depth down (no drag) shows every backward stage of the new depth, also after the
    # reveal slider was moved.
    _press_on_slider(page, "chain_depth", ["ArrowLeft"])
    _chain_shows_depth(visit, 6)
    _press_on_slider(page, "chain_reveal", ["ArrowLeft", "ArrowLeft"])
    _chain_shows_depth(visit, 6, reveal=4)
    _press_on_slider(page, "chain_depth", ["ArrowLeft"])
    _chain_shows_depth(visit, 5)
    visit.assert_clean()


# Links whose values are Markdown or HTML that would draw a phishing link, an image or a request.
INJECTIONS = {
    "chain": {"x": "[Sign in again](http://evil.example/login)", "fn": "![i](http://evil.example/p.png)"},
    "training": {"optimizer": "<img src=http://evil.example/o.png>"},
}


def _open_injection(visit: Visit, page_id: str) -> Page:
    page = visit.open(page_id, urlencode(INJECTIONS[page_id]))
    visit.settled()
    page.wait_for_timeout(500)  # time for anything injected to start loading
    return page


@pytest.mark.parametrize("page_id", list(INJECTIONS))
def test_a_link_cannot_draw_links_images_or_make_requests(visit, page_id):
    page = _open_injection(visit, page_id)
    for name in INJECTIONS[page_id]:
        expect(page.locator(LINK_WARNING).filter(has_text=f"for {name} is not valid")).to_have_count(1)
    assert page.locator("a[href*='evil'], img[src*='evil'], [href*='evil'], [src*='evil']").count() == 0
    # The payload's text is only inside code blocks, nowhere else on the page.
    assert not page.evaluate("""() => { const body = document.body.cloneNode(true);
        body.querySelectorAll("[data-testid='stCode']").forEach(code => code.remove());
        return body.textContent.includes("evil"); }""")
    codes = page.locator("[data-testid='stCode']").all_text_contents()
    for payload in INJECTIONS[page_id].values():
        # The link's literal text: whole up to 40 characters, else its first 37 and "…" (a note stays
        # short whatever a link holds; ui.widgets._short).
        shown = payload if len(payload) <= 40 else payload[:37] + "…"
        assert shown in codes, (payload, codes)
    visit.assert_clean()  # no request left 127.0.0.1


def test_typing_your_own_gradient(visit):
    page = visit.open("yours")
    visit.settled()
    expect(page.locator("[data-testid='stAlertContentSuccess']")).to_contain_text("agrees with the exact derivative")
    assert visit.metric("dy/dx (custom gradients)") == "1024"
    drawing = page.locator(".st-key-check_chart .main-svg").first
    before = drawing.inner_html()
    backward = page.locator(".st-key-yours_g input")
    backward.fill("4*x")
    backward.press("Enter")
    expect(page.locator("[data-testid='stAlertContentWarning']")).to_contain_text("wrong by a factor 2 everywhere",
                                                                                  timeout=30_000)
    visit.settled()
    assert visit.metric("dy/dx (custom gradients)") == "8192"
    expect(page).to_have_url(re.compile(r"[?&]g=4%2Ax"), timeout=30_000)
    deadline = time.monotonic() + 30
    while drawing.inner_html() == before and time.monotonic() < deadline:  # Plotly redraws after the rerun
        page.wait_for_timeout(100)
    assert drawing.inner_html() != before
    backward.fill("2*x +")  # a typo: explained where it was typed, nothing else breaks
    backward.press("Enter")
    expect(page.locator("[data-testid='stAlertContentError']")).to_contain_text("ends too early", timeout=30_000)
    visit.settled()
    visit.screenshot("yours_typed")
    # The pair travels by link: the chain rule page opens with it.
    backward.fill("3*x")
    backward.press("Enter")
    expect(page.locator("[data-testid='stAlertContentWarning']")).to_contain_text("factor 1.5", timeout=30_000)
    visit.settled()
    page.get_by_role("link", name="In the chain rule").click()
    visit.settled()
    expect(page).to_have_url(re.compile(r"Chain_rule\?.*fn=custom"), timeout=30_000)
    assert visit.metric("dy/dx (custom gradients)") == str(1024 * 27 // 8)  # (3/2)³ × 1024
    visit.assert_clean()
