# The two commands of the README, and a few helpers. Everything installs into ./.venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := .tocsin-demo

.PHONY: demo test lint typecheck unit bench services clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Debian packages the tests start for real (PostgreSQL, an SMTP server, a CrowdSec bouncer…):
# one list per component in .ci/packages.d/. Installed when missing and we may (root, apt).
services:
	@.ci/install-packages

## demo: install, then scan the bundled sample data (real exports + a synthetic attack) with the
## example configuration: alerts, campaigns, simulated decisions, queued notifications
demo: $(VENV)/.installed
	$(BIN)/tocsin scan samples/logs --config tocsin.example.toml --data-dir $(DEMO)/data --out $(DEMO)/out
	$(BIN)/tocsin decisions list --data-dir $(DEMO)/data
	$(BIN)/tocsin notify preview --person chloe@harper2020.example --kind compromised \
		--alert al-65a1490fc89b56166889 \
		--config tocsin.example.toml --data-dir $(DEMO)/data --html $(DEMO)/out/notice-chloe.html
	@echo "Results: $(DEMO)/out/ (alerts.jsonl, campaigns.jsonl, scan.json, notice-chloe.html)"
	@echo "Outbox (nothing is sent without a configured channel): $(BIN)/tocsin notify status --data-dir $(DEMO)/data"

## test: lint, format check, strict typing, then the whole test suite
test: $(VENV)/.installed-dev services lint typecheck unit

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy src

unit: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

## bench: ingest throughput and memory against a raw DuckDB pass (see bench/README.md)
bench: $(VENV)/.installed
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(DEMO) bench/out .pytest_cache .mypy_cache .ruff_cache
