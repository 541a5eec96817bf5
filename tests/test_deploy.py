"""Replicas behind nginx (deploy/): one config for Docker and for the loopback cluster, cookie
affinity that keeps each visitor on one replica, downloads that answer through the proxy, and what
a visitor sees when its replica dies. Needs Debian's nginx (.ci/run installs it) and Chromium."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import gradlib
from apptest_helpers import ROOT
from ui.client import Client, Run

sys.path.insert(0, str(ROOT / "deploy"))
from local_cluster import TEMPLATE, Cluster, free_port_block, nginx_config, wait_for  # noqa: E402
from test_browser import browser  # noqa: E402,F401  (the Chromium fixture)

pytestmark = pytest.mark.slow


def test_docker_and_the_local_cluster_share_one_nginx_config():
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    assert "./nginx.conf.template:/etc/nginx/nginx.conf.template" in compose
    placeholders = set(re.findall(r"\$\{([A-Z_]+)\}", TEMPLATE.read_text()))
    assert placeholders == {"STREAMLIT_UPSTREAMS", "PROXY_PORT"}
    # envsubst fills exactly those two, so nginx's own $variables survive.
    assert "envsubst '$$STREAMLIT_UPSTREAMS $$PROXY_PORT'" in compose
    rendered = nginx_config(8080, [8081, 8082])
    assert "${" not in rendered and rendered.count("server 127.0.0.1:808") == 2 and "listen 8080;" in rendered
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.12-slim" in dockerfile and "/_stcore/health" in dockerfile
    assert 'ENTRYPOINT ["streamlit", "run", "server.py"' in dockerfile


@pytest.fixture(scope="module")
def cluster():
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is missing: apt-get update && apt-get install -y nginx-light")
    running = Cluster(2, free_port_block(3), ("--server.fileWatcherType", "none")).start()
    yield running
    running.stop()


def _replica(url: str, cookie: str | None = None) -> tuple[str, str | None]:
    """(the replica that answered, the affinity cookie nginx set, if any)."""
    request = urllib.request.Request(url, headers={"Cookie": f"st_route={cookie}"} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        minted = next((v.split(";")[0].split("=", 1)[1] for k, v in response.headers.items()
                       if k.lower() == "set-cookie" and v.startswith("st_route=")), None)
        return response.headers["X-Replica"], minted


def test_each_visitor_stays_on_one_replica_and_visitors_spread(cluster):
    base = f"http://127.0.0.1:{cluster.port}"
    seen = set()
    for _ in range(20):  # twenty visitors, each with the cookie its first request got
        first, cookie = _replica(f"{base}/")
        assert cookie, "nginx sets the affinity cookie on a visitor's first request"
        for path in ("/_stcore/health", "/Training", "/_stcore/host-config"):
            assert _replica(base + path, cookie) == (first, None)  # same replica; no new cookie
        seen.add(first)
    assert seen == {f"127.0.0.1:{port}" for port in cluster.replica_ports}


def test_downloads_answer_through_the_proxy_and_a_dead_replica_costs_nothing_the_link_holds(cluster, browser):  # noqa: F811
    """A class on two replicas: the CSV download (an in-memory file of one replica) answers 200
    through nginx; then that replica dies mid-class, and the visitor's page reconnects to the other
    and rebuilds the same view from its link."""
    from test_browser import Visit

    context = browser.new_context(accept_downloads=True)
    try:
        visit = Visit(context.new_page(), f"http://127.0.0.1:{cluster.port}")
        page = visit.open("training", "x0=-1.55&steps=400")
        expected = gradlib.train(gradlib.TrainingConfig(x0=-1.55, steps=400))
        assert visit.metric("final x") == f"{expected.x[-1]:.6g}"
        with page.expect_download() as download:
            page.locator(".st-key-download").get_by_role("button").click()
        rows = Path(download.value.path()).read_text().splitlines()
        column = rows[0].split(",").index("x")
        assert [float(row.split(",")[column]) for row in rows[1:]] == expected.x.tolist()

        cookie = next(c["value"] for c in context.cookies() if c["name"] == "st_route")
        serving, _ = _replica(f"{visit.base}/_stcore/health", cookie)
        cluster.stop_replica(cluster.replica_ports.index(int(serving.rsplit(":", 1)[1])))
        page.reload()  # what the visitor does when the page says it lost the connection
        visit.settled()
        assert visit.metric("final x") == f"{expected.x[-1]:.6g}"  # the same view, from the link
        assert "x0=-1.55" in page.url and "steps=400" in page.url
        visit.assert_clean()
    finally:
        context.close()


def _start(entry: str, port: int, log: Path, **env: str) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", entry, "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_for(f"http://127.0.0.1:{port}/_stcore/health", 90, server)
    return server


def _rss_mb(pid: int) -> float:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _open_chain_rule(port: int) -> Run:
    async def visit() -> Run:
        client = Client(f"http://127.0.0.1:{port}")
        await client.connect()
        try:
            return await client.rerun("Chain_rule")
        finally:
            await client.close()
    # In a thread of its own: Playwright's sync API (the browser fixture) keeps an event loop running
    # in this one, where asyncio.run() refuses to start another.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, visit()).result()


def test_the_server_warms_every_page_up_before_the_first_visitor(tmp_path):
    port, log = free_port_block(0), tmp_path / "server.log"
    server = _start("server.py", port, log)
    try:
        deadline = time.monotonic() + 180
        while "warm-up: every page opened" not in log.read_text() and time.monotonic() < deadline:
            assert server.poll() is None and "warm-up failed" not in log.read_text(), log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        assert "warm-up: every page opened" in text and " raised " not in text, text
        run = _open_chain_rule(port)
        assert not run.exceptions and not any("TensorFlow" in note for note in run.notes)  # loaded already
        assert run.metrics["dy/dx (custom gradients)"] == "1024"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_without_the_warm_up_the_server_starts_small_and_says_it_is_loading(tmp_path):
    port = free_port_block(0)
    server = _start("server.py", port, tmp_path / "server.log", CGL_WARM_UP="0")
    try:
        time.sleep(3)  # time a warm-up would have used to start importing TensorFlow
        assert _rss_mb(server.pid) < 250  # TensorFlow alone is ~540 MB
        run = _open_chain_rule(port)
        assert not run.exceptions and run.metrics["dy/dx (custom gradients)"] == "1024"
        assert any(note.startswith("Loading TensorFlow") for note in run.notes)
        assert _rss_mb(server.pid) > 400
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_hook_tunes_tensorflow_only_in_a_server_it_started():
    """gc.freeze and the clear_session stand-in are applied by load_tensorflow once the server-start
    hook ran, and never otherwise (the tests and `streamlit run dashboard.py` keep the defaults)."""
    code = ("import gc, sys, asyncio, keras; import ui.server as server; hooked = sys.argv[1] == 'hook'\n"
            "async def start():\n"
            "    async with server.lifespan(None): pass\n"
            "if hooked: asyncio.run(start())\n"
            "server.load_tensorflow()\n"
            "print(gc.get_freeze_count() > 100_000, keras.backend.clear_session is server._skip_keras_clear_session)")
    for mode, expected in (("hook", "True True"), ("plain", "False False")):
        result = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, cwd=ROOT,
                                env={**os.environ, "CGL_WARM_UP": "0"}, check=True)
        assert result.stdout.strip() == expected, (mode, result.stderr[-2000:])
