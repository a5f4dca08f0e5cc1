# studybot: `make chat` to study, `make test` to run the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export HF_HUB_OFFLINE := 1

.PHONY: install ingest chat test lint typecheck pytest stress-test bench lock clean

# torch first, from its CPU build: any other torch pulls gigabytes of CUDA packages. Then the
# project with every version pinned by requirements.lock (`make lock` updates it).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock torch
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[dev]"
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

# Re-resolve pyproject.toml's ranges in a clean environment and pin the result in requirements.lock.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q --upgrade pip
	.lock-venv/bin/python -m pip install -q torch==$$(sed -n 's/^torch==//p' requirements.lock)
	.lock-venv/bin/python -m pip install -q ".[dev]"
	{ sed -n '/^#/p' requirements.lock; .lock-venv/bin/python -m pip freeze --exclude studybot \
		| sed 's/^torch==\([^+]*\)+cpu$$/torch==\1/'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lock-venv

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
