# The dashboard in one container, as Streamlit's deployment docs build it. One process keeps a move under
# 1 s for about 20 visitors moving at once (README, "Measured"): for a class, run deploy/compose.yaml.
FROM python:3.12-slim

WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY .streamlit .streamlit
COPY dashboard.py server.py ./
COPY gradlib gradlib
COPY pages pages
COPY ui ui

# Hugging Face Spaces run containers as uid 1000: nothing here needs root at run time.
RUN useradd --uid 1000 --create-home app
USER app

EXPOSE 8501
HEALTHCHECK CMD curl --fail http://localhost:8501/_stcore/health || exit 1
# server.py: the pages plus the server-start hook (TensorFlow tuned, every page warmed up; CGL_WARM_UP=0 turns
# the warm-up off). The health check answers at once; a visitor during the warm-up sees "Loading TensorFlow".
ENTRYPOINT ["streamlit", "run", "server.py", "--server.port=8501", "--server.address=0.0.0.0"]
