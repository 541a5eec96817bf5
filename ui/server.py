"""What a server process does once, at start: the hook that server.py hands to ``st.App``.

Nothing here runs under ``streamlit run dashboard.py`` or in the tests (AppTest never starts a
server), so the tests see Python's and Keras's defaults. With the hook:

1. TensorFlow is loaded once per process by ``load_tensorflow`` (from the entry script, behind a
   "Loading TensorFlow" note, or by the warm-up below), and then two per-run costs are removed:
   - ``gc.freeze()`` moves TensorFlow's ~350k import-time objects out of the collector's view:
     walking them cost ~400 ms of CPU whenever a full collection ran. They live as long as the
     process anyway.
   - After every run Streamlit calls ``keras.backend.clear_session()``, meant for apps that build
     a Keras model per run. It clears TensorFlow's kernel cache, so every compiled trainer would
     re-instantiate its kernels on the next run (100 training steps: 6 ms -> 78 ms). This app
     builds no model per run (trainers live in gradlib's bounded pools), so in the server process
     that one entry point becomes a no-op; ``keras.utils.clear_session`` is untouched.
2. The warm-up: once ``/_stcore/health`` answers (starting earlier delays it), a daemon thread
   opens every page with its defaults through a real session (ui.client), as a first visitor
   would: TensorFlow imported, the trainers traced, the pages' caches filled. It costs
   TensorFlow's ~540 MB from the start even if nobody opens a page that computes: turn it off
   with ``CGL_WARM_UP=0``."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import urllib.request
from contextlib import asynccontextmanager
from typing import AsyncIterator

from streamlit import config
from streamlit.logger import get_logger

from ui.navigation import PAGES

WARM_UP_VARIABLE = "CGL_WARM_UP"
INTRA_OP_VARIABLE = "CGL_TF_INTRA_OP_THREADS"  # threads one TensorFlow op may split into (README, "Measured")
INTRA_OP_THREADS = 1  # the app's ops are tiny: splitting them cost twice the CPU for a few % of wall time
HEALTH_TIMEOUT = 120.0  # seconds the warm-up waits for the server to answer
_LOGGER = get_logger(__name__)

_started = False  # set by the hook: only then is TensorFlow tuned
_loaded = threading.Event()
_load_lock = threading.Lock()


def act_as_server() -> None:
    """Tune TensorFlow when it loads (or now, if it has): what the hook does, for the benchmarks too."""
    global _started
    _started = True
    with _load_lock:
        if _loaded.is_set():
            _tune_for_tensorflow()


def tensorflow_loaded() -> bool:
    return _loaded.is_set()


def load_tensorflow() -> None:
    """Import gradlib (and so TensorFlow) once; in a server started through the hook, tune it."""
    with _load_lock:  # a second caller waits here for the first, then finds it done
        if _loaded.is_set():
            return
        import gradlib  # noqa: F401  (loaded for its side effect)

        if _started:
            _tune_for_tensorflow()
        _loaded.set()


def _skip_keras_clear_session(free_memory: bool = True) -> None:
    """Stands in for ``keras.backend.clear_session`` in the server process (see the module's docs)."""


def _tune_for_tensorflow() -> None:
    import keras
    import tensorflow as tf

    gc.freeze()
    keras.backend.clear_session = _skip_keras_clear_session
    # Before TensorFlow's first op: afterwards its pools are fixed. 0: TensorFlow's choice (one per
    # core). Sessions still run in parallel: each script thread runs its own ops (the inter-op pool
    # keeps TensorFlow's default; one thread there made a class wait longer).
    tf.config.threading.set_intra_op_parallelism_threads(int(os.environ.get(INTRA_OP_VARIABLE, INTRA_OP_THREADS)))


def warm_up_enabled() -> bool:
    return os.environ.get(WARM_UP_VARIABLE, "1").strip().lower() not in {"0", "false", "off", "no"}


def _local_url() -> str:
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"http://127.0.0.1:{config.get_option('server.port')}/{base + '/' if base else ''}"


def _wait_for_health(url: str) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer /_stcore/health within {HEALTH_TIMEOUT:.0f} s")


async def _open_every_page(url: str) -> None:
    from ui.client import Client

    client = Client(url)
    await client.connect()
    try:
        for page in PAGES:
            run = await client.rerun(page.url_path)
            if run.exceptions:
                _LOGGER.warning("warm-up: %s raised %s", page.title, run.exceptions)
    finally:
        await client.close()


def warm_up() -> None:
    """Load TensorFlow, then open every page as a first visitor would (see the module's docs)."""
    started = time.perf_counter()
    try:
        url = _local_url()
        _wait_for_health(url)
        load_tensorflow()
        asyncio.run(_open_every_page(url))
        _LOGGER.info("warm-up: every page opened in %.1f s", time.perf_counter() - started)
    except Exception:  # the warm-up only saves the first visitor time; the app works without it
        _LOGGER.exception("warm-up failed; the first visitor of each page pays for its first run")


@asynccontextmanager
async def lifespan(app: object) -> AsyncIterator[None]:
    """The server-start hook (``st.App(..., lifespan=lifespan)``)."""
    act_as_server()
    if warm_up_enabled():
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    yield
