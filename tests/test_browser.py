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
from urllib.parse import urlparse

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
         "fixes": "Gradient_fixes"}

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
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
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


CHARTS = {"home": 0, "chain": 2, "multivar": 1, "surrogates": 1, "training": 2, "network": 2, "fixes": 1}


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
    expect(page.locator(".st-key-fn [role='combobox']")).to_have_value("sin")
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
    _press_on_slider(page, "x", ["ArrowLeft"])  # one step: x = 1.95
    expected = gradlib.trace_chain("square", 1.95, 3).dydx
    expect(page.locator("[data-testid='stMetricValue']").first).to_have_text(f"{expected:.9g}", timeout=30_000)
    visit.finished()
    visit.charts_drawn()
    assert page.locator(".st-key-curves_chart .scatterlayer .trace").nth(1).inner_html() != before
    _press_on_slider(page, "depth", ["ArrowRight"])  # depth 4
    expected = gradlib.trace_chain("square", 1.95, 4).dydx
    expect(page.locator("[data-testid='stMetricValue']").first).to_have_text(f"{expected:.9g}", timeout=30_000)
    visit.finished()
    assert "depth=4" in page.url and "x=1.95" in page.url  # the address bar now reproduces the view
    visit.assert_clean()


def test_multivar_toggle_and_slider(visit):
    page = visit.open("multivar")
    assert visit.metric("∂z/∂w") == "None"
    page.locator(".st-key-zeros label").click()
    expect(page.locator("[data-testid='stMetric']").filter(has_text="∂z/∂w")
           .locator("[data-testid='stMetricValue']")).to_have_text("0", timeout=30_000)
    _press_on_slider(page, "y", ["ArrowLeft"])  # y = 2.95, z = 5.9
    expect(page.locator("[data-testid='stMetricValue']").first).to_have_text("5.9", timeout=30_000)
    visit.finished()
    visit.assert_clean()


def test_surrogate_link_and_scale(visit):
    page = visit.open("surrogates", "surrogates=sigmoid&surrogates=atan&surrogates=zero&x=0.5")
    assert visit.charts_drawn() == 1
    traces = page.locator("[data-testid='stPlotlyChart'] .scatterlayer .trace")
    expect(traces).to_have_count(2 + 2 * 3)
    _press_on_slider(page, "scale", ["ArrowRight"] * 10)  # 1.0 -> 2.0
    expect(page.locator("[data-testid='stDataFrame']").first).to_contain_text("sigmoid (k=2)", timeout=30_000)
    visit.finished()
    visit.screenshot("surrogates_link")
    visit.assert_clean()


def test_malformed_link_falls_back_with_a_note(visit):
    page = visit.open("chain", "depth=abc&x=1e309")
    expect(page.locator("[data-testid='stAlertContentWarning']")).to_have_count(2)
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


def test_training_play_animates_and_stops(visit):
    progress = _start_play(visit, "training", "steps=2000")
    page = visit.page
    first = progress.inner_text()
    expect(progress).not_to_have_text(first, timeout=10_000)  # it moves: the run is being animated
    started = time.monotonic()
    page.locator(".st-key-stop").get_by_role("button", name="Stop").click()
    expect(progress).to_have_count(0, timeout=10_000)
    stopped_in = time.monotonic() - started
    visit.finished()
    assert visit.metric("steps run") == "2000 / 2000"  # the page is whole again after the stop
    visit.charts_drawn()
    visit.screenshot("training_after_stop")
    visit.assert_clean()
    print(f"play stopped {stopped_in:.2f} s after the click")


def test_a_control_moved_during_play_ends_it_and_applies(visit):
    progress = _start_play(visit, "training", "steps=3000")
    started = time.monotonic()
    _press_on_slider(visit.page, "x0", ["ArrowRight"])  # x0 = -0.95
    expect(progress).to_have_count(0, timeout=10_000)
    visit.finished()
    print(f"play ended {time.monotonic() - started:.2f} s after the slider moved")
    expected = gradlib.train(gradlib.TrainingConfig(x0=-0.95, steps=3000))
    assert visit.metric("final x") == f"{expected.x[-1]:.6g}"
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
            expect(visit.page.locator(".st-key-optimizer [role='combobox']")).to_have_value(
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


# page, link, slider key, chart whose drawing must change, text element whose content must change
SLIDER_MOVES = [
    ("multivar", "", "x", "field_chart", "[data-testid='stMetricValue']"),
    ("surrogates", "", "x", "surrogates_chart", "[data-testid='stDataFrame']"),
    ("training", "", "x0", "training_chart", "[data-testid='stMetricValue']"),
    ("network", "", "hidden", "boundary_chart", "[data-testid='stMetricValue'] >> nth=2"),
    ("fixes", "example=clip", "clip", "descent_chart", "[data-testid='stMetricValue']"),
]


@pytest.mark.parametrize("page_name, query, key, chart, numbers", SLIDER_MOVES)
def test_keyboard_slider_move_changes_numbers_and_chart(visit, page_name, query, key, chart, numbers):
    page = visit.open(page_name, query)
    visit.charts_drawn()
    drawing = page.locator(f".st-key-{chart} .main-svg").first
    before_chart, before_numbers = drawing.inner_html(), page.locator(numbers).first.inner_text()
    _press_on_slider(page, key, ["ArrowLeft"])
    expect(page.locator(numbers).first).not_to_have_text(before_numbers, timeout=30_000)
    visit.finished()
    visit.charts_drawn()
    assert drawing.inner_html() != before_chart
    assert f"{key}=" in page.url
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
    assert visit.metric("custom dy/dx") == "1" and visit.metric("autodiff dy/dx") == "nan"
    expect(page.locator("[data-testid='stAlertContentWarning']")).to_contain_text("inf / inf = NaN")
    visit.charts_drawn()
    visit.screenshot("fixes_log1pexp")
    visit.assert_clean()
