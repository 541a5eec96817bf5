"""The dashboard as a server: ``streamlit run server.py`` (or any ASGI server: ``uvicorn server:app``).

The same pages as ``streamlit run dashboard.py``, plus what a server does once at start
(ui/server.py): TensorFlow's per-run costs removed and every page warmed up before the first
visitor arrives."""

import streamlit as st

from ui.server import lifespan

app = st.App("dashboard.py", lifespan=lifespan)
