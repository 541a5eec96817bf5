"""Dashboard support: figure builders and code snippets (no Streamlit), and the Streamlit helpers
every page shares (``ui.widgets``)."""
