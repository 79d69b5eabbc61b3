# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The real MLflow tracking server the MLflow tests and `make demo-saas` start (not a dependency of
# the package: it is large). Its own virtual environment, pinned.
MLFLOW_VERSION := 3.17.2
MLFLOW_VENV    ?= .venv-mlflow
MLFLOW_STAMP   := $(MLFLOW_VENV)/.installed-$(MLFLOW_VERSION)

.PHONY: demo demo-saas test faults lint typecheck check up clean mlflow-server

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

$(MLFLOW_STAMP):
	rm -rf $(MLFLOW_VENV)
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --quiet 'mlflow[auth]==$(MLFLOW_VERSION)'
	touch $(MLFLOW_STAMP)

mlflow-server: $(MLFLOW_STAMP)

demo: $(STAMP)
	$(BIN)/orchestrator demo

demo-saas: $(STAMP) $(MLFLOW_STAMP)
	$(BIN)/python -m tests.local_saas

up: $(STAMP)
	$(BIN)/orchestrator up

test: $(STAMP) $(MLFLOW_STAMP)
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
	rm -rf $(VENV) $(MLFLOW_VENV) .orchestrator .pytest_cache .mypy_cache .ruff_cache .faults.md
