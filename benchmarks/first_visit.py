"""The first visitor after a server starts: cold (CGL_WARM_UP=0) against warm (the default).

    python benchmarks/first_visit.py [--repeats 3]

Starts ``streamlit run server.py`` and times /_stcore/health. Cold: a visitor arrives at once.
Warm: it arrives after the warm-up has logged that it opened every page. The visitor (ui.client,
no rendering) opens the Chain rule, Training and Binarized network pages in turn; each figure is
page asked -> its run finished, the medians of ``--repeats`` fresh servers."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.client import Client  # noqa: E402

VISITED = ["Chain_rule", "Training", "Binarized_network"]
WARM_LOG = "warm-up: every page opened"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


async def visit(url: str) -> list[float]:
    client = Client(url)
    await client.connect()
    try:
        return [(await client.rerun(page)).seconds for page in VISITED]
    finally:
        await client.close()


def one_server(warm: bool) -> tuple[float, float, list[float]]:
    """(seconds to health, seconds to the warm-up's end or 0, each page's first run in seconds)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "server.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=ROOT, env={**os.environ, "CGL_WARM_UP": "1" if warm else "0"}, stdout=log,
            stderr=subprocess.STDOUT)
        try:
            while not healthy(url):
                if server.poll() is not None or time.perf_counter() - started > 120:
                    raise RuntimeError("the server did not start")
                time.sleep(0.05)
            health = time.perf_counter() - started
            warmed = 0.0
            while warm and WARM_LOG not in Path(log.name).read_text():
                if time.perf_counter() - started > 300:
                    raise RuntimeError("the warm-up did not finish")
                time.sleep(0.1)
                warmed = time.perf_counter() - started
            return health, warmed, asyncio.run(visit(url))
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'':8} {'health (s)':>11} {'warm-up done (s)':>17} " + " ".join(f"{page:>18}" for page in VISITED))
    for warm in (False, True):
        runs = [one_server(warm) for _ in range(args.repeats)]
        health = statistics.median(r[0] for r in runs)
        warmed = statistics.median(r[1] for r in runs)
        pages = [statistics.median(r[2][i] for r in runs) for i in range(len(VISITED))]
        print(f"{'warm' if warm else 'cold':8} {health:11.2f} {warmed if warm else float('nan'):17.2f} "
              + " ".join(f"{seconds:18.2f}" for seconds in pages))


if __name__ == "__main__":
    main()
