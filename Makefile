# The front door: `make demo` and `make test` do all the set-up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLAIMS := $(BIN)/claims
DEMO_DB := demo/claims.db
SEED := seeds/g20-new-delhi-2023-03-02.yaml

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	rm -rf demo && mkdir -p demo
	$(CLAIMS) --db $(DEMO_DB) init
	$(CLAIMS) --db $(DEMO_DB) import $(SEED)
	@echo; echo "### Russia's narrative"; $(CLAIMS) --db $(DEMO_DB) narrative russia --format table
	@echo; echo "### The United States' narrative"; $(CLAIMS) --db $(DEMO_DB) narrative united-states --format table
	@echo; echo "### Compared, contradictions marked"; $(CLAIMS) --db $(DEMO_DB) compare russia united-states --format table
	@echo; $(CLAIMS) --db $(DEMO_DB) verify

test: $(VENV)/.installed lint
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -f .alembic-check.db
	CLAIMS_DATABASE_URL=.alembic-check.db $(BIN)/claims init 2>/dev/null
	CLAIMS_DATABASE_URL=.alembic-check.db $(BIN)/alembic check
	rm -f .alembic-check.db*

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache .hypothesis
