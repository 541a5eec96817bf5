"""Server-side CPU cost of one interaction on each page, once warm.

    python benchmarks/page_cost.py [--repeats 15] [--server]

Each page runs in Streamlit's AppTest (the real script runner), is warmed up, then a control is
moved to new values; the figure is the median process CPU time per rerun, AppTest's own
bookkeeping included. ``--server`` also measures a real server (server.py, started here) driven
by one session over Streamlit's websocket (ui.client): its process CPU per interaction, which
adds what AppTest leaves out (sending the messages, the session's bookkeeping), averaged over
the moves (the kernel counts CPU in 10 ms ticks)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit import config  # noqa: E402
from streamlit.runtime.scriptrunner.script_cache import ScriptCache  # noqa: E402
from streamlit.testing.v1 import AppTest, app_test, local_script_runner  # noqa: E402

from ui import server  # noqa: E402

server.act_as_server()  # measure the pages as server.py runs them (ui/server.py's tuning)

# A server compiles each page once and keeps the bytecode (one ScriptCache for the runtime);
# AppTest makes a new cache, so compiles every script again, on every run (~1 ms of a chain-rule
# rerun). Share one, as a server does. With "magic" on, compiling also rewrites the syntax tree;
# the app uses no magic (.streamlit/config.toml turns it off), so turn it off here too.
config.set_option("runner.magicEnabled", False)
_SCRIPT_CACHE = ScriptCache()
app_test.ScriptCache = local_script_runner.ScriptCache = lambda: _SCRIPT_CACHE

# page, the control moved, and the values it takes: every value is new, so nothing comes from a
# cache and each figure is the cost of real work (the pages cache by value, so a class that
# repeats settings costs less than this).
XS = [round(v, 2) for v in np.linspace(-2.9, 2.9, 19)]
INTERACTIONS = [
    ("dashboard.py", None, None, None),
    ("pages/1_Chain_rule.py", "slider", "chain_x", XS),
    ("pages/1_Chain_rule.py", "slider", "chain_depth", list(range(1, 13))),
    ("pages/2_Multiple_variables.py", "slider", "multivar_x", XS),
    ("pages/3_Surrogate_gradients.py", "slider", "surrogates_x", XS),
    ("pages/3_Surrogate_gradients.py", "slider", "surrogates_scale", [round(v, 1) for v in np.linspace(0.2, 9.8, 19)]),
    ("pages/4_Training.py", "slider", "training_x0", XS),
    ("pages/4_Training.py", "slider", "training_adam_beta_1", [round(v, 3) for v in np.linspace(0.5, 0.95, 19)]),
    ("pages/5_Binarized_network.py", "number_input", "network_seed", list(range(1, 20))),
    ("pages/6_Gradient_fixes.py", "slider", "fixes_log1pexp_x", [round(v, 1) for v in np.linspace(-15, 115, 19)]),
]


def cost(page: str, kind: str | None, key: str | None, values: list | None, repeats: int) -> float:
    """Median CPU seconds of a rerun after moving ``key`` to each value after the first two."""
    # Through the entry script, as a server runs a page (page links resolve against dashboard.py).
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    app.run()
    if page != "dashboard.py":
        app.switch_page(page).run()
    samples = []
    for index in range(repeats + 2):
        if values:
            getattr(app, kind)(key=key).set_value(values[index % len(values)])
        start = time.process_time()
        app.run()
        if index >= 2:  # the first two warm up: first trace, first kernels
            samples.append(time.process_time() - start)
        assert not app.exception, app.exception
    return statistics.median(samples)


def server_costs(repeats: int) -> dict[str | None, float]:
    """CPU seconds of a real server process per interaction, for each control of INTERACTIONS:
    one session opens the page, moves the control twice (warm-up), then to ``repeats`` new
    values: the AppTest runs' values, new to the server (its caches are its own)."""
    import asyncio

    sys.path.insert(0, str(ROOT / "deploy"))
    from classroom_load import cpu_seconds, open_every_page
    from local_cluster import Cluster, free_port_block

    from ui.client import Client, number_input, slider
    from ui.navigation import HOME, PAGES

    url_paths = {info.path: info.url_path for info in (HOME, *PAGES)}

    async def measure(url: str, pid: int, page: str, kind: str, key: str | None, values: list) -> float:
        client = Client(url)
        await client.connect()
        await client.rerun(url_paths[page])

        async def move(index: int) -> None:
            widget = slider if kind == "slider" else number_input
            widgets = [widget(client.widget(key), values[index % len(values)])] if key else []
            run = await client.rerun(url_paths[page], widgets=widgets)
            assert not run.exceptions, run.exceptions

        for index in range(2):  # warm-up, as in ``cost``
            await move(index)
        before = cpu_seconds(pid)
        for index in range(2, repeats + 2):
            await move(index)
        await client.close()
        return (cpu_seconds(pid) - before) / repeats

    cluster = Cluster(1, free_port_block(2), ("--server.fileWatcherType", "none")).start()
    try:
        url, pid = f"http://127.0.0.1:{cluster.replica_ports[0]}", cluster.replicas[0].pid
        asyncio.run(open_every_page(url))
        return {key: asyncio.run(measure(url, pid, page, kind, key, values))
                for page, kind, key, values in INTERACTIONS}
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--server", action="store_true", help="also measure a real server (about a minute more)")
    args = parser.parse_args()
    served = server_costs(args.repeats) if args.server else {}
    print(f"{'page':34} {'control':22} CPU ms per interaction: AppTest (median of {args.repeats} new values)"
          + ("; a real server (mean)" if served else ""))
    for page, kind, key, values in INTERACTIONS:
        median = cost(page, kind, key, values, args.repeats)
        print(f"{page:34} {key or 'rerun':22} {median * 1e3:8.1f}"
              + (f" {served[key] * 1e3:8.1f}" if served else ""))


if __name__ == "__main__":
    main()
