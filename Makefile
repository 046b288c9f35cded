# Touchpoints — the two commands of the README, and a few for developers.
# Needs only Python 3.11+, make and git; everything else comes from PyPI into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck clean help

help:
	@echo "make demo   - set up .venv and run the live demo (embedded broker, SQLite, simulator)"
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make lint   - ruff check and ruff format --check";  echo "make typecheck - mypy --strict (pyproject.toml says where it is relaxed, and why)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/touchpoints demo $(ARGS)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check server edge mobile_api tests
	$(BIN)/ruff format --check server edge mobile_api tests

typecheck: $(STAMP)
	$(BIN)/mypy server edge mobile_api

clean:
	rm -rf $(VENV) var .pytest_cache
