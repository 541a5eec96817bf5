"""A classroom on one Streamlit server: N visitors at once, with and without the project's fix.

    python benchmarks/classroom_load.py [--visitors 30] [--mode both]

Starts ``streamlit run dashboard.py`` on a free local port and drives it the way a browser does,
without rendering: Streamlit's own protobuf messages (BackMsg out, ForwardMsg in) over its
websocket, ``/_stcore/stream``. Thirty real browsers would starve a 2-core machine; thirty of
these clients cost little (their CPU is printed too).

First one client alone warms the server up (TensorFlow import, first traces), times a few moves
and plays once. Then each visitor, all at once and without pauses: opens the Chain rule page,
moves the ``x`` slider to five new values, opens the Training page and moves ``x0`` once (one
training run): 8 interactions, each one rerun of a page. Every reply is checked against gradlib
computed here. Meanwhile one more client opens the Training page and presses Play; the figure
is the plotly_chart deltas that reach it per second (the server merges frames it has not sent
yet, so a busy server delivers fewer). The server CPU per interaction leaves out what that Play
cost when it ran alone.

Mode ``default`` starts the server through a wrapper that turns ``ui.widgets``'s per-process
tuning (``gc.freeze`` and the skipped ``keras.backend.clear_session``) into a no-op and puts back
``runner.postScriptGC``, so Streamlit's per-run work stays as it is; mode ``fix`` is the plain
``streamlit run`` with the project's config. Targets: p95 <= 1 s,
server CPU <= 50 ms per interaction, RSS <= 1 GB.

What the client does not do that a browser does: fetch the page's static files, send every
widget's value (it sends the one it changed; the server keeps the others) and rewrite the query
string after each move. None of that runs the script."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Sequence

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Common_pb2 import DoubleArray
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import ClientConnection, connect  # installed with uvicorn, Streamlit's server

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHAIN, TRAINING = "Chain_rule", "Training"  # the pages' URL paths
DYDX, FINAL_X = "dy/dx (custom gradients)", "final x"  # the metrics checked
SERVER_FLAGS = ["--server.address", "127.0.0.1", "--server.headless", "true",
                "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
# Mode "default": the same server with the project's tuning made a no-op. The pages import the
# same `ui.widgets` module object (one sys.modules, no file watcher to reload it), so
# `page_header` calls the stub; the CPU per interaction shows whether it took effect.
UNTUNED = ("import ui.widgets as w; w._tune_server_for_tensorflow = lambda: None; "
           "from streamlit.web.cli import main; main()")

# Bounds on every wait: a stuck server ends the benchmark with an error, never a hang.
START_TIMEOUT = 60.0  # seconds until /_stcore/health answers
RERUN_TIMEOUT = 180.0  # one rerun, queueing included (30 visitors, untuned: up to ~20 s)
PLAY_TIMEOUT = 300.0
PHASE_TIMEOUT = 900.0  # all visitors together
MAX_MESSAGES = 5_000  # ForwardMsgs in one rerun (play sends ~110)
CACHE_AGE = 2  # reruns a message stays in a client's cache (Streamlit's global.maxCachedMessageAge)
SOLO_PAUSE = 1.0  # seconds between solo moves, so the previous run's post-run GC is over


@dataclass
class Run:
    """What one rerun sent back."""
    seconds: float = math.nan  # from sending the BackMsg to receiving script_finished
    status: int = -1
    metrics: dict[str, str] = field(default_factory=dict)  # label -> shown value
    exceptions: list[str] = field(default_factory=list)
    chart_times: list[float] = field(default_factory=list)  # arrival of each plotly_chart delta


class Client:
    """One browser tab without the rendering: BackMsgs out, ForwardMsgs in, on one websocket.

    Like the browser it keeps large elements in a cache and tells the server which ones it
    holds, so the server may send a reference instead. It sends only the widget it changes:
    the server keeps every other widget's value from the previous run."""

    def __init__(self, port: int) -> None:
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.ws: ClientConnection | None = None
        self.pages: dict[str, str] = {}  # URL path -> page_script_hash
        self.widget_ids: dict[str, str] = {}  # widget key -> element id, from the deltas
        self.cache: dict[str, tuple[ForwardMsg, int]] = {}  # hash -> (message, rerun last seen)
        self.reruns = 0

    async def open(self) -> None:
        # No client pings: a busy server may not answer in time, and the browser sends none.
        self.ws = await connect(self.url, subprotocols=["streamlit"], max_size=2**26, ping_interval=None,
                                open_timeout=30)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    def widget(self, key: str) -> str:
        if key not in self.widget_ids:
            raise LookupError(f"no widget with key {key!r} in the page's deltas")
        return self.widget_ids[key]

    async def rerun(self, page: str, query: str = "", widgets: Sequence[WidgetState] = (),
                    timeout: float = RERUN_TIMEOUT) -> Run:
        """Ask for a run of ``page`` (a page not yet seen by its URL path, as a first visit does)
        and collect the deltas until script_finished."""
        self.reruns += 1
        self.cache = {h: entry for h, entry in self.cache.items() if self.reruns - entry[1] <= CACHE_AGE}
        state = ClientState(query_string=query, widget_states=WidgetStates(widgets=widgets),
                            cached_message_hashes=list(self.cache))
        if page in self.pages:
            state.page_script_hash = self.pages[page]
        else:
            state.page_name = page
        message = BackMsg()
        message.rerun_script.CopyFrom(state)
        run = Run()
        started = time.perf_counter()
        await self.ws.send(message.SerializeToString())
        async with asyncio.timeout(timeout):
            for _ in range(MAX_MESSAGES):
                msg = ForwardMsg.FromString(await self.ws.recv())
                kind = msg.WhichOneof("type")
                if kind == "ref_hash":  # the server trusts us to have it: we announced it
                    msg = self.cache[msg.ref_hash][0]
                    kind = msg.WhichOneof("type")
                if msg.metadata.cacheable:
                    self.cache[msg.hash] = (msg, self.reruns)
                if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    self._element(msg.delta.new_element, run)
                elif kind in ("new_session", "navigation"):
                    for app_page in getattr(msg, kind).app_pages:
                        self.pages[app_page.url_pathname] = app_page.page_script_hash
                elif kind == "script_finished":
                    run.seconds, run.status = time.perf_counter() - started, msg.script_finished
                    return run
        raise RuntimeError(f"more than {MAX_MESSAGES} messages in one rerun")

    def _element(self, element: Element, run: Run) -> None:
        kind = element.WhichOneof("type")
        body = getattr(element, kind)
        element_id = getattr(body, "id", "")
        if element_id.startswith("$$ID-"):  # "$$ID-<hash>-<key>" for an element given a key
            self.widget_ids[element_id.split("-", 2)[2]] = element_id
        if kind == "metric":
            run.metrics[body.label] = body.body
        elif kind == "exception":
            run.exceptions.append(f"{body.type}: {body.message}")
        elif kind == "plotly_chart":
            run.chart_times.append(time.perf_counter())


def slider(widget_id: str, value: float) -> WidgetState:
    return WidgetState(id=widget_id, double_array_value=DoubleArray(data=[value]))  # a slider holds a list


def click(widget_id: str) -> WidgetState:
    return WidgetState(id=widget_id, trigger_value=True)


# Each visitor's values differ from the others' where the grid allows (121 slider positions),
# so most reruns compute instead of coming from the pages' caches.
def chain_xs(visitor: int) -> list[float]:
    return [round(-3.0 + 0.05 * ((visitor * 5 + move) * 7 % 121), 2) for move in range(5)]


def training_x0(visitor: int) -> float:
    return round(-3.0 + 0.05 * ((visitor * 13 + 5) % 121), 2)


SOLO_XS, SOLO_X0S = [1.25, -0.8, 0.55, 2.35], [-2.2, 1.1, 0.35]  # on the sliders' 0.05 grid


@dataclass
class Expected:
    dydx: dict[float, str]
    final_x: dict[float, str]


def expected_values(visitors: int) -> Expected:
    """The metrics as the pages format them, computed by gradlib in this process."""
    import gradlib
    from gradlib import OPTIMIZERS, SURROGATES, TrainingConfig

    xs = {2.0, *(x for v in range(visitors) for x in chain_xs(v))}  # 2.0: the page's default
    dydx = {x: f"{gradlib.trace_chain('square', x, 3).dydx:.9g}" for x in sorted(xs)}
    settings = {s.name: s.default for s in OPTIMIZERS["adam"].settings} | {"learning_rate": 0.1}
    final_x = {}
    for x0 in {training_x0(v) for v in range(visitors)}:
        history = gradlib.train(TrainingConfig(surrogate="sigmoid", scale=SURROGATES["sigmoid"].scaled(1.0),
                                               optimizer="adam", settings=settings, x0=x0, target=1.0, steps=100))
        final_x[x0] = f"{history.x[-1]:.6g}"
    return Expected(dydx, final_x)


@dataclass
class Tally:
    """One visitor's (or all visitors') measurements."""
    changes: list[float] = field(default_factory=list)  # seconds, control moved -> run finished
    opens: list[float] = field(default_factory=list)  # seconds, page opened -> run finished
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    reruns: int = 0

    def add(self, run: Run, into: list[float], label: str, metric: str | None = None,
            expected: str | None = None) -> None:
        self.reruns += 1
        into.append(run.seconds)
        self.errors += [f"{label}: {e}" for e in run.exceptions]
        if run.status != ForwardMsg.FINISHED_SUCCESSFULLY:
            self.errors.append(f"{label}: script_finished status {run.status}")
        if metric and run.metrics.get(metric) != expected:
            self.wrong.append(f"{label}: {metric} = {run.metrics.get(metric)!r}, expected {expected!r}")

    def merge(self, other: Tally) -> None:
        self.changes += other.changes
        self.opens += other.opens
        self.errors += other.errors
        self.wrong += other.wrong
        self.reruns += other.reruns


async def visitor(port: int, index: int, expected: Expected) -> Tally:
    """One student: the Chain rule page, five moves of x, the Training page, one move of x0."""
    tally, client = Tally(), Client(port)
    try:
        await client.open()
        tally.add(await client.rerun(CHAIN), tally.opens, f"visitor {index} chain", DYDX, expected.dydx[2.0])
        for x in chain_xs(index):
            run = await client.rerun(CHAIN, widgets=[slider(client.widget("chain_x"), x)])
            tally.add(run, tally.changes, f"visitor {index} x={x}", DYDX, expected.dydx[x])
        tally.add(await client.rerun(TRAINING), tally.opens, f"visitor {index} training")
        x0 = training_x0(index)
        run = await client.rerun(TRAINING, widgets=[slider(client.widget("training_x0"), x0)])
        tally.add(run, tally.changes, f"visitor {index} x0={x0}", FINAL_X, expected.final_x[x0])
    except Exception as error:  # a timeout or a protocol surprise counts as an error, not a crash
        tally.errors.append(f"visitor {index}: {type(error).__name__}: {error}")
    finally:
        await client.close()
    return tally


@dataclass
class Play:
    frames: int = 0
    seconds: float = math.nan
    error: str = ""

    @property
    def per_second(self) -> float:
        return (self.frames - 1) / self.seconds if self.frames > 1 and self.seconds > 0 else math.nan


async def play(port: int) -> Play:
    """A teacher's tab: the Training page from a link with steps=100, then Play. Counts the
    plotly_chart deltas of that run (each frame, then the final two charts)."""
    result, client = Play(), Client(port)
    try:
        await client.open()
        await client.rerun(TRAINING, query="steps=100")
        run = await client.rerun(TRAINING, query="steps=100", widgets=[click(client.widget("play"))],
                                 timeout=PLAY_TIMEOUT)
        result.frames = len(run.chart_times)
        result.seconds = run.chart_times[-1] - run.chart_times[0] if run.chart_times else math.nan
        if run.exceptions or run.status != ForwardMsg.FINISHED_SUCCESSFULLY:
            result.error = "; ".join(run.exceptions) or f"script_finished status {run.status}"
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"
    finally:
        await client.close()
    return result


async def solo(port: int, pid: int) -> tuple[Tally, float, Play, float]:
    """Warm-up, alone on the server: imports TensorFlow, traces the training loop, times moves
    with nobody else around (after the first of each page, which pays for tracing), and plays
    once. Returns the tally, the median move, the play and the server CPU seconds it took."""
    tally, client = Tally(), Client(port)
    measured: list[float] = []
    try:
        await client.open()
        for page, key, values in ((CHAIN, "chain_x", SOLO_XS), (TRAINING, "training_x0", SOLO_X0S)):
            tally.add(await client.rerun(page), tally.opens, f"warm-up {page}")
            for index, value in enumerate(values):
                await asyncio.sleep(SOLO_PAUSE)
                run = await client.rerun(page, widgets=[slider(client.widget(key), value)])
                tally.add(run, tally.changes, f"warm-up {key}={value}")
                if index:
                    measured.append(run.seconds)
    finally:
        await client.close()
    await asyncio.sleep(SOLO_PAUSE)
    cpu_before = cpu_seconds(pid)
    teacher = await play(port)
    await asyncio.sleep(SOLO_PAUSE)  # its post-run GC belongs to it
    return tally, statistics.median(measured), teacher, cpu_seconds(pid) - cpu_before


async def load(port: int, visitors: int, expected: Expected) -> tuple[Tally, Play]:
    async with asyncio.timeout(PHASE_TIMEOUT):
        *tallies, teacher = await asyncio.gather(*(visitor(port, i, expected) for i in range(visitors)),
                                                  play(port))
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total, teacher


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process, from /proc/PID/stat (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores), from the first line of /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def start_server(mode: str, port: int, log: IO[str]) -> subprocess.Popen:
    # "default" also puts back Streamlit's full collection after every run, which the project's
    # .streamlit/config.toml turns off.
    entry = ["-m", "streamlit"] if mode == "fix" else ["-c", UNTUNED]
    defaults = [] if mode == "fix" else ["--runner.postScriptGC", "true"]
    server = subprocess.Popen([sys.executable, *entry, "run", "dashboard.py", "--server.port", str(port),
                               *SERVER_FLAGS, *defaults], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # Ctrl-C reaches only us; we stop it below
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
                if reply.read().decode().strip() == "ok":
                    return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"the {mode} server did not answer /_stcore/health within {START_TIMEOUT:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else math.nan


@dataclass
class Result:
    mode: str
    tally: Tally
    teacher: Play  # during the load
    teacher_alone: Play
    solo_seconds: float
    cpu_per_interaction: float
    cores_used: float  # by the server during the load
    other_cores: float  # by every other process on the machine during the load, this script aside
    rss: tuple[float, float, float]  # before any visitor, after the warm-up, after the load
    client_cpu: float
    wall: float


def scenario(mode: str, visitors: int, expected: Expected) -> Result:
    """One server, warmed up by one client alone, then the classroom and the teacher's Play."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w+", prefix=f"classroom_{mode}_", suffix=".log", dir="/tmp",
                                     delete=False) as log:
        server = start_server(mode, port, log)
        try:
            rss_idle = rss_mb(server.pid)
            warm_tally, solo_seconds, teacher_alone, play_cpu = asyncio.run(solo(port, server.pid))
            rss_warm = rss_mb(server.pid)
            cpu_before, client_before, busy_before = cpu_seconds(server.pid), time.process_time(), busy_seconds()
            started = time.perf_counter()
            tally, teacher = asyncio.run(load(port, visitors, expected))
            wall = time.perf_counter() - started
            cpu = cpu_seconds(server.pid) - cpu_before
            client_cpu = time.process_time() - client_before
            other = busy_seconds() - busy_before - cpu - client_cpu
            rss_after = rss_mb(server.pid)
        except BaseException:
            log.flush()
            log.seek(0)
            print(f"--- {mode} server log ({log.name}), last lines:\n" + "".join(log.readlines()[-30:]))
            raise
        finally:
            stop_server(server)
    Path(log.name).unlink()  # kept only when something went wrong
    tally.errors = warm_tally.errors + tally.errors
    tally.wrong = warm_tally.wrong + tally.wrong
    # The teacher's Play (one long run of ~100 frames) is no visitor's interaction: take off
    # what it cost when it ran alone.
    return Result(mode, tally, teacher, teacher_alone, solo_seconds, (cpu - play_cpu) / max(1, tally.reruns),
                  cpu / wall, max(0.0, other) / wall, (rss_idle, rss_warm, rss_after), client_cpu, wall)


def report(results: list[Result], visitors: int) -> None:
    def row(label: str, target: str, cell) -> None:
        print(f"{label:46}" + "".join(f"{cell(r):>12}" for r in results) + f"  {target}")

    print(f"\n{visitors} visitors at once, each: Chain rule, 5 moves of x, Training, 1 move of x0 "
          f"(8 interactions); 1 more client plays 100 steps")
    row("", "target", lambda r: r.mode)
    row("move -> run finished, median (s)", "", lambda r: f"{percentile(r.tally.changes, 0.5):.3f}")
    row("move -> run finished, p95 (s)", "<= 1", lambda r: f"{percentile(r.tally.changes, 0.95):.3f}")
    row("move -> run finished, max (s)", "", lambda r: f"{percentile(r.tally.changes, 1.0):.3f}")
    row("page open -> run finished, p95 (s)", "", lambda r: f"{percentile(r.tally.opens, 0.95):.3f}")
    row("a move alone on the server, median (s)", "", lambda r: f"{r.solo_seconds:.3f}")
    row("server CPU per interaction (ms)", "<= 50", lambda r: f"{r.cpu_per_interaction * 1e3:.1f}")
    row("server CPU in use during the load (cores)", "of 2", lambda r: f"{r.cores_used:.2f}")
    row("server RSS before any visitor (MB)", "", lambda r: f"{r.rss[0]:.0f}")
    row("server RSS after one warm-up visitor (MB)", "", lambda r: f"{r.rss[1]:.0f}")
    row("server RSS after the load (MB)", "<= 1024", lambda r: f"{r.rss[2]:.0f}")
    row("play alone: redraws per second (frames)", "15", lambda r: f"{r.teacher_alone.per_second:.1f} "
        f"({r.teacher_alone.frames})")
    row("play during the load: redraws per second", "15", lambda r: f"{r.teacher.per_second:.1f} ({r.teacher.frames})")
    row("errors / wrong values", "0 / 0", lambda r: f"{len(r.tally.errors)} / {len(r.tally.wrong)}")
    row("load phase, wall time (s)", "", lambda r: f"{r.wall:.1f}")
    row("load phase, this script's CPU (s)", "", lambda r: f"{r.client_cpu:.1f}")
    row("load phase, other processes' CPU (cores)", "~0", lambda r: f"{r.other_cores:.2f}")
    for r in results:
        median = percentile(r.tally.changes, 0.5)
        print(f"{r.mode}: a visitor waits {median:.2f} s (median). Its own run takes {r.solo_seconds:.2f} s alone "
              f"(post-run GC included: script_finished leaves after it); the other "
              f"{max(0.0, median - r.solo_seconds):.2f} s is queueing: {visitors - 1} other visitors' runs at "
              f"{r.cpu_per_interaction * 1e3:.0f} ms of server CPU each take turns on one GIL "
              f"({(visitors - 1) * r.cpu_per_interaction:.2f} s).")
        problems = r.tally.errors + r.tally.wrong
        problems += [f"play: {p.error}" for p in (r.teacher_alone, r.teacher) if p.error]
        for problem in problems[:5]:
            print(f"  {r.mode}: {problem}")
    by_mode = {r.mode: r for r in results}
    if {"fix", "default"} <= set(by_mode) and \
            by_mode["default"].cpu_per_interaction < 3 * by_mode["fix"].cpu_per_interaction:
        print("WARNING: default costs less than 3x the fix per interaction: did the no-op patch take effect?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=30)
    parser.add_argument("--mode", choices=["fix", "default", "both"], default="both")
    args = parser.parse_args()
    print("computing the expected values with gradlib ...", flush=True)
    expected = expected_values(args.visitors)
    results = []
    for mode in (["default", "fix"] if args.mode == "both" else [args.mode]):
        print(f"{mode}: starting the server, warming up, then {args.visitors} visitors ...", flush=True)
        results.append(scenario(mode, args.visitors, expected))
    report(results, args.visitors)


if __name__ == "__main__":
    main()
