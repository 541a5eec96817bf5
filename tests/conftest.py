import os

# TensorFlow's C++ start-up chatter hides test output; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import functools  # noqa: E402

from streamlit.components.v2 import manifest_scanner  # noqa: E402

# Every AppTest scans the metadata of every installed package for Streamlit components (~0.35 s,
# a third of a short page test). Installed packages do not change during a test run: scan once.
manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)
