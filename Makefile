# The two commands of the README: `make report` and `make test`.
# Each creates .venv when absent and installs the project with what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_WORKERS ?= 2
# loadgroup: the tests of one xdist_group (the coverage study, which computes its
# replications once per worker that runs them) stay on one worker.
PYTEST_DIST ?= loadgroup

.PHONY: setup test test-all report data docs lint benchmark clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[report,docs,dev]"
	@touch $(STAMP)

setup: $(STAMP)

## Build the committed synthetic world (and its open-data DNB and IPS files) if missing (never overwrites it).
data: setup
	@test -f data/synthetic/MANIFEST.json || $(BIN)/tne-eval simulate --scale default --out data/synthetic
	@test -f data/synthetic/fr-en-dnb-par-etablissement.csv || $(BIN)/python -c "from tne_eval.datasets import write_synthetic_open_data; write_synthetic_open_data('data/synthetic')"

## Run the evaluation end to end and write reports/ (one HTML report, PDF, results manifest).
report: setup data
	$(BIN)/tne-eval report --out reports

lint: setup
	$(BIN)/ruff check tne_eval tests benchmarks studies docs
	$(BIN)/ruff format --check tne_eval tests benchmarks studies docs

## The whole default suite: lint, unit and reference tests, doctests, docs build, notebooks.
test: setup lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist $(PYTEST_DIST) -m "not slow"

## Everything, including the slow Monte Carlo studies.
test-all: setup lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist $(PYTEST_DIST)

docs: setup
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

benchmark: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) docs/_build reports .pytest_cache .ruff_cache
