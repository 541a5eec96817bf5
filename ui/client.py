"""A Streamlit session without a browser: Streamlit's own protobuf messages (BackMsg out,
ForwardMsg in) over its websocket, ``/_stcore/stream``. The server's warm-up (ui/server.py) opens
every page with it, and benchmarks/classroom_load.py plays a classroom with it. No rendering, no
static files: what it costs the server is what a browser's session costs it."""

from __future__ import annotations

import asyncio
import math
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Sequence
from urllib.parse import urljoin, urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Common_pb2 import DoubleArray
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import ClientConnection, connect  # a Streamlit dependency

RERUN_TIMEOUT = 180.0  # one rerun, queueing included (a class of 60 on one process: tens of seconds)
MAX_MESSAGES = 5_000  # ForwardMsgs in one rerun
CACHE_AGE = 2  # reruns a message stays in a client's cache (Streamlit's global.maxCachedMessageAge)


@dataclass
class Run:
    """What one rerun sent back."""
    seconds: float = math.nan  # from sending the BackMsg to receiving script_finished
    status: int = -1
    metrics: dict[str, str] = field(default_factory=dict)  # label -> shown value
    exceptions: list[str] = field(default_factory=list)
    chart_times: list[float] = field(default_factory=list)  # arrival of each plotly_chart delta
    notes: list[str] = field(default_factory=list)  # st.info / st.warning / st.error texts shown
    downloads: dict[str, str] = field(default_factory=dict)  # download button label -> its media URL


class Client:
    """One browser tab without the rendering: BackMsgs out, ForwardMsgs in, on one websocket.

    Like the browser it keeps large elements in a cache and tells the server which ones it
    holds, so the server may send a reference instead. It sends only the widget it changes:
    the server keeps every other widget's value from the previous run."""

    def __init__(self, base_url: str) -> None:
        """``base_url``: the app's address, e.g. http://127.0.0.1:8501 or a proxy's, with any base path."""
        self.base_url = base_url.rstrip("/") + "/"
        parts = urlsplit(self.base_url)
        self.url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}{parts.path}_stcore/stream"
        self.cookie = ""  # a proxy's affinity cookie: sent with the websocket and every download
        self.ws: ClientConnection | None = None
        self.pages: dict[str, str] = {}  # URL path -> page_script_hash
        self.widget_ids: dict[str, str] = {}  # widget key -> element id, from the deltas
        self.cache: dict[str, tuple[ForwardMsg, int]] = {}  # hash -> (message, rerun last seen)
        self.reruns = 0

    async def connect(self) -> None:
        # As a browser does: load the page first (a sticky proxy sets its cookie there), then
        # open the websocket with that cookie, so both reach the same replica.
        if not self.cookie:  # a reconnecting tab keeps the cookie it has
            self.cookie = await asyncio.to_thread(self._page_cookie)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        # No client pings: a busy server may not answer in time, and the browser sends none.
        self.ws = await connect(self.url, subprotocols=["streamlit"], max_size=2**26, ping_interval=None,
                                open_timeout=30, additional_headers=headers)

    def _page_cookie(self) -> str:
        with urllib.request.urlopen(self.base_url, timeout=30) as reply:
            return "; ".join(c.split(";", 1)[0] for c in reply.headers.get_all("Set-Cookie") or [])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def download(self, url: str) -> int:
        """Fetch what a download button offers (its media URL), as the browser does, with the
        proxy's cookie, and return the HTTP status."""
        return await asyncio.to_thread(self._status, urljoin(self.base_url, url.lstrip("/")))

    def _status(self, url: str) -> int:
        request = urllib.request.Request(url, headers={"Cookie": self.cookie} if self.cookie else {})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                reply.read()
                return reply.status
        except urllib.error.HTTPError as error:
            return error.code

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
        elif kind == "alert":
            run.notes.append(body.body)
        elif kind == "download_button":
            run.downloads[body.label] = body.url


def slider(widget_id: str, value: float) -> WidgetState:
    return WidgetState(id=widget_id, double_array_value=DoubleArray(data=[value]))  # a slider holds a list


def number_input(widget_id: str, value: int) -> WidgetState:
    return WidgetState(id=widget_id, int_value=value)  # a whole-number input holds an int
