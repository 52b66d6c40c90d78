# The two commands a fresh machine needs: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint bench evals clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/copilot demo

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not postgres and not chroma_server"

lint: install
	$(BIN)/ruff check copilot tests benchmarks
	$(BIN)/mypy copilot

bench: install
	$(BIN)/python benchmarks/guard.py
	$(BIN)/python benchmarks/retrieval.py
	$(BIN)/python benchmarks/ask.py

evals: install
	$(BIN)/copilot eval run evals/ --planner runbook

clean:
	rm -rf $(VENV) .copilot
