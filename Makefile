# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-saas test faults lint typecheck check up clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/orchestrator demo

demo-saas: $(STAMP)
	$(BIN)/python -m tests.local_saas

up: $(STAMP)
	$(BIN)/orchestrator up

test: $(STAMP)
	$(BIN)/pytest -q

faults: $(STAMP)
	$(BIN)/python -m tests.faults --out .faults.md

lint: $(STAMP)
	$(BIN)/ruff check orchestrator workers tests bench
	$(BIN)/ruff format --check orchestrator workers

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .orchestrator .pytest_cache .mypy_cache .ruff_cache .faults.md
