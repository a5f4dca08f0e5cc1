# studybot: `make chat` to study, `make test` to run the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export HF_HUB_OFFLINE := 1

.PHONY: install ingest chat test lint typecheck pytest stress-test bench clean

# torch first, from its CPU build: any other torch pulls gigabytes of CUDA packages.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

ingest: install
	$(BIN)/studybot ingest

chat: ingest
	$(BIN)/studybot chat

lint: install
	$(BIN)/ruff check bot ingest tests bench tools
	$(BIN)/ruff format --check bot ingest tests bench tools

typecheck: install
	$(BIN)/mypy bot/study bot/settings.py bot/app.py bot/metrics.py bot/http.py bot/healthcheck.py

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

# The tests RUNS times while every core is kept busy, as on CI's shared machines.
RUNS ?= 3
TESTS ?=
stress-test: install
	PYTHON=$(BIN)/python tools/stress-test.sh $(RUNS) $(TESTS)

bench: install
	$(BIN)/python bench/ingest_throughput.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/retrieval_eval.py
	$(BIN)/python bench/grading_eval.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
