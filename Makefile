# The front door: `make demo` and `make test` do all the set-up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLAIMS := $(BIN)/claims
DEMO_DB := demo/claims.db
SEED := seeds/g20-new-delhi-2023-03-02.yaml

.PHONY: demo test lint bench clean docs ensure-chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# An editable install leaves the package uncompiled; compiling it once spares every start-up the
# work (which otherwise repeats on each run where PYTHONDONTWRITEBYTECODE is set).
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q claims >/dev/null
	touch $@

demo: $(VENV)/.installed
	rm -rf demo && mkdir -p demo
	$(CLAIMS) --db $(DEMO_DB) init
	$(CLAIMS) --db $(DEMO_DB) import $(SEED)
	@echo; echo "### Russia's narrative"; $(CLAIMS) --db $(DEMO_DB) narrative russia --format table
	@echo; echo "### The United States' narrative"; $(CLAIMS) --db $(DEMO_DB) narrative united-states --format table
	@echo; echo "### Compared, contradictions marked"; $(CLAIMS) --db $(DEMO_DB) compare russia united-states --format table
	@echo; $(CLAIMS) --db $(DEMO_DB) verify
	@echo; $(CLAIMS) --db $(DEMO_DB) report --out demo/report.html
	@echo "### The narrative report: $(CURDIR)/demo/report.html"

test: $(VENV)/.installed lint ensure-chromium
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -f .alembic-check.db
	CLAIMS_DATABASE_URL=.alembic-check.db $(BIN)/claims init 2>/dev/null
	CLAIMS_DATABASE_URL=.alembic-check.db $(BIN)/alembic check
	rm -f .alembic-check.db*

# The browser test of `claims report` runs Debian's chromium headless; install it only when absent.
# Under CI a failed install fails the run (the test must run there); elsewhere the test skips.
ensure-chromium:
	@[ -x /usr/bin/chromium ] || { \
	  echo "installing Debian's chromium for the report's browser test"; \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
	  || { [ -z "$$CI" ] && echo "could not install chromium: the browser test will skip"; }; }

# Regenerate the command reference (docs/commands.md) from the commands' --help.
docs: $(VENV)/.installed
	$(BIN)/python docs/command_reference.py

# The benchmark suite (docs/performance.md): BENCH_EVENTS=1000000 make bench for the full run.
$(VENV)/.installed-bench: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.run

# The reliability suite at full size (docs/guarantees.md): 4 SQLite and 8 PostgreSQL writers of
# 2,000 claims each, 10 kill -9 trials per backend on 4,000-claim imports, 1,000 examples a fuzzer.
# PostgreSQL must be reachable (CI=true makes its tests fail rather than skip). `make test` runs
# the same tests at CLAIMS_STRESS_SCALE=1.
.PHONY: stress
stress: $(VENV)/.installed
	CI=true CLAIMS_STRESS_SCALE=50 $(BIN)/python -m pytest -q tests/reliability

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache .hypothesis
