"""A classroom: V visitors at once on any address, or on N local replicas behind nginx.

    python benchmarks/classroom_load.py --url http://host:8080 --visitors 30   # any running app
    python benchmarks/classroom_load.py --replicas 1 2 --visitors 30 60        # starts each cluster here

Each visitor is a session without rendering (ui.client: Streamlit's own messages over its
websocket, the proxy's affinity cookie included, as a browser sends them). All at once and without
pauses, each one: opens the Chain rule page, moves ``x`` to five new values, opens the Training
page, moves ``x0`` once (one training run) and downloads the history CSV: 8 interactions, each one
rerun of a page, and one download. Every shown value is checked against gradlib computed here,
every download must answer 200.

With ``--replicas`` the clusters are started here (deploy/local_cluster.py: server.py replicas and
nginx) and warmed up before the class arrives, so the report adds the server CPU per interaction
and each replica's RSS. ``--kill`` then ends the replica serving one visitor mid-class and reports
what that visitor gets back on reconnecting: the same view, rebuilt from its link.

What the client does not do that a browser does: fetch static files and rewrite the query string
after each move. Neither runs the script."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "deploy")]

from local_cluster import Cluster, free_port_block  # noqa: E402
from ui.client import Client, Run, slider  # noqa: E402
from ui.navigation import PAGES  # noqa: E402

CHAIN, TRAINING = "Chain_rule", "Training"  # the pages' URL paths
DYDX, FINAL_X = "dy/dx (custom gradients)", "final x"  # the metrics checked
CSV = "Download the history (CSV)"
PHASE_TIMEOUT = 900.0  # all visitors together
P95_TARGET = 1.0


# Each visitor's values differ from the others' where the grid allows (121 slider positions),
# so most reruns compute instead of coming from the pages' caches.
def chain_xs(visitor: int) -> list[float]:
    return [round(-3.0 + 0.05 * ((visitor * 5 + move) * 7 % 121), 2) for move in range(5)]


def training_x0(visitor: int) -> float:
    return round(-3.0 + 0.05 * ((visitor * 13 + 5) % 121), 2)


@dataclass
class Expected:
    dydx: dict[float, str]
    final_x: dict[float, str]


def expected_values(visitors: int) -> Expected:
    """The metrics as the pages format them, computed by gradlib in this process."""
    import gradlib

    xs = {2.0, *(x for v in range(visitors) for x in chain_xs(v))}  # 2.0: the page's default
    dydx = {x: f"{gradlib.trace_chain('square', x, 3).dydx:.9g}" for x in sorted(xs)}
    final_x = {x0: f"{gradlib.train(gradlib.TrainingConfig(x0=x0)).x[-1]:.6g}"
               for x0 in {training_x0(v) for v in range(visitors)}}
    return Expected(dydx, final_x)


@dataclass
class Tally:
    """One visitor's (or all visitors') measurements."""
    changes: list[float] = field(default_factory=list)  # seconds, control moved -> run finished
    opens: list[float] = field(default_factory=list)  # seconds, page opened -> run finished
    downloads: list[int] = field(default_factory=list)  # HTTP statuses
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    reruns: int = 0

    def add(self, run: Run, into: list[float], label: str, metric: str | None = None,
            expected: str | None = None) -> None:
        self.reruns += 1
        into.append(run.seconds)
        self.errors += [f"{label}: {e}" for e in run.exceptions]
        if metric and run.metrics.get(metric) != expected:
            self.wrong.append(f"{label}: {metric} = {run.metrics.get(metric)!r}, expected {expected!r}")

    def merge(self, other: Tally) -> None:
        for name in ("changes", "opens", "downloads", "errors", "wrong"):
            getattr(self, name).extend(getattr(other, name))
        self.reruns += other.reruns


async def visitor(url: str, index: int, expected: Expected) -> Tally:
    """One student: the Chain rule page, five moves of x, the Training page, one move of x0, the CSV."""
    tally, client = Tally(), Client(url)
    try:
        await client.connect()
        tally.add(await client.rerun(CHAIN), tally.opens, f"visitor {index} chain", DYDX, expected.dydx[2.0])
        for x in chain_xs(index):
            run = await client.rerun(CHAIN, widgets=[slider(client.widget("chain_x"), x)])
            tally.add(run, tally.changes, f"visitor {index} x={x}", DYDX, expected.dydx[x])
        tally.add(await client.rerun(TRAINING), tally.opens, f"visitor {index} training")
        x0 = training_x0(index)
        run = await client.rerun(TRAINING, widgets=[slider(client.widget("training_x0"), x0)])
        tally.add(run, tally.changes, f"visitor {index} x0={x0}", FINAL_X, expected.final_x[x0])
        tally.downloads.append(await client.download(run.downloads[CSV]))
    except Exception as error:  # a timeout or a protocol surprise counts as an error, not a crash
        tally.errors.append(f"visitor {index}: {type(error).__name__}: {error}")
    finally:
        await client.close()
    return tally


async def classroom(url: str, visitors: int, expected: Expected) -> Tally:
    async with asyncio.timeout(PHASE_TIMEOUT):
        tallies = await asyncio.gather(*(visitor(url, i, expected) for i in range(visitors)))
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


async def open_every_page(url: str) -> None:
    """Each page once with its defaults, straight at one replica: waits for its warm-up to end."""
    client = Client(url)
    await client.connect()
    try:
        for page in PAGES:
            await client.rerun(page.url_path)
    finally:
        await client.close()


@dataclass
class Kill:
    """One visitor's view before its replica died and after it reconnected."""
    before: dict[str, str]
    after: dict[str, str]
    seconds: float  # replica killed -> the view rebuilt on another one


async def kill_mid_class(cluster: Cluster) -> Kill:
    """A visitor on a link; its replica is killed; like the browser, it reconnects (same cookie:
    nginx moves it to a live replica) and asks for the same page and query."""
    page, query = TRAINING, "x0=-1.55&steps=400"
    client = Client(f"http://127.0.0.1:{cluster.port}")
    await client.connect()
    before = (await client.rerun(page, query=query)).metrics
    await client.close()
    serving = await asyncio.to_thread(cluster.replica_of, client.cookie)
    killed = time.perf_counter()
    cluster.stop_replica(serving)
    reconnected = Client(client.base_url)
    reconnected.cookie = client.cookie
    await reconnected.connect()
    after = (await reconnected.rerun(page, query=query)).metrics
    seconds = time.perf_counter() - killed
    await reconnected.close()
    return Kill(before, after, seconds)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process, from /proc/PID/stat (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else math.nan


@dataclass
class Result:
    label: str
    visitors: int
    tally: Tally
    wall: float
    cpu_per_interaction: float = math.nan  # server CPU seconds, all replicas
    rss: list[float] = field(default_factory=list)  # MB per replica after the class
    kill: Kill | None = None


def on_cluster(replicas: int, class_sizes: list[int], expected: Expected, kill: bool) -> list[Result]:
    cluster = Cluster(replicas, free_port_block(replicas + 1), ("--server.fileWatcherType", "none")).start()
    results = []
    try:
        for port in cluster.replica_ports:
            asyncio.run(open_every_page(f"http://127.0.0.1:{port}"))
        for visitors in class_sizes:
            pids = [p.pid for p in cluster.replicas]
            cpu_before = sum(map(cpu_seconds, pids))
            started = time.perf_counter()
            tally = asyncio.run(classroom(f"http://127.0.0.1:{cluster.port}", visitors, expected))
            wall = time.perf_counter() - started
            cpu = sum(map(cpu_seconds, pids)) - cpu_before
            results.append(Result(f"{replicas} replica{'s' * (replicas > 1)}", visitors, tally, wall,
                                  cpu / max(1, tally.reruns), [rss_mb(pid) for pid in pids]))
        if kill and replicas > 1:
            results[-1].kill = asyncio.run(kill_mid_class(cluster))
    finally:
        cluster.stop()
    return results


def report(results: list[Result]) -> None:
    def row(label: str, target: str, cell) -> None:
        print(f"{label:44}" + "".join(f"{cell(r):>16}" for r in results) + f"  {target}")

    print("\nEach visitor at once: Chain rule, 5 moves of x, Training, 1 move of x0 (8 interactions), the CSV")
    row("", "target", lambda r: r.label)
    row("visitors", "", lambda r: str(r.visitors))
    row("move -> run finished, median (s)", "", lambda r: f"{percentile(r.tally.changes, 0.5):.3f}")
    row("move -> run finished, p95 (s)", f"<= {P95_TARGET:g}", lambda r: f"{percentile(r.tally.changes, 0.95):.3f}")
    row("move -> run finished, max (s)", "", lambda r: f"{percentile(r.tally.changes, 1.0):.3f}")
    row("page open -> run finished, p95 (s)", "", lambda r: f"{percentile(r.tally.opens, 0.95):.3f}")
    row("server CPU per interaction (ms)", "", lambda r: f"{r.cpu_per_interaction * 1e3:.1f}")
    row("RSS per replica after the class (MB)", "", lambda r: "/".join(f"{m:.0f}" for m in r.rss) or "-")
    row("downloads answering 200", "all", lambda r: f"{r.tally.downloads.count(200)}/{r.visitors}")
    row("errors / wrong values", "0 / 0", lambda r: f"{len(r.tally.errors)} / {len(r.tally.wrong)}")
    row("class, wall time (s)", "", lambda r: f"{r.wall:.1f}")
    for r in results:
        for problem in (r.tally.errors + r.tally.wrong)[:5]:
            print(f"  {r.label}, {r.visitors} visitors: {problem}")
        if r.kill:
            same = "the same view" if r.kill.after == r.kill.before else f"a different view: {r.kill.after}"
            print(f"Replica killed mid-class: the visitor reconnected to another replica and got {same} from its "
                  f"link in {r.kill.seconds:.2f} s ({len(r.kill.after)} metrics compared).")
    measured = [r for r in results if not math.isnan(r.cpu_per_interaction)]
    if measured:
        cpu = statistics.median(r.cpu_per_interaction for r in measured)
        print(f"Capacity: {1 / cpu:.0f} interactions per second per core at {cpu * 1e3:.0f} ms each. One process "
              f"uses one core (one interpreter lock): a move waits for the moves queued before it, so for "
              f"p95 <= {P95_TARGET:g} s run about one replica per core and expect ~{P95_TARGET / cpu:.0f} "
              f"students moving at the same instant per replica.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running app (its base URL)")
    where.add_argument("--replicas", type=int, nargs="+", help="start a local cluster of each size")
    parser.add_argument("--visitors", type=int, nargs="+", default=[30])
    parser.add_argument("--kill", action="store_true", help="with --replicas: end one replica mid-class")
    args = parser.parse_args()
    print("computing the expected values with gradlib ...", flush=True)
    expected = expected_values(max(args.visitors))
    results: list[Result] = []
    if args.url:
        for visitors in args.visitors:
            started = time.perf_counter()
            tally = asyncio.run(classroom(args.url, visitors, expected))
            results.append(Result(args.url, visitors, tally, time.perf_counter() - started))
    else:
        for replicas in args.replicas:
            print(f"{replicas} replica(s): starting, warming up, then {args.visitors} visitors ...", flush=True)
            results += on_cluster(replicas, args.visitors, expected, args.kill)
    report(results)


if __name__ == "__main__":
    main()
