# DistillLab: `make run` serves the dashboard, `make test` runs the whole test suite, `make lint` checks the code.
# Each creates .venv when missing and (re)installs the requirements only when they changed.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
DEV    := $(VENV)/.dev-requirements-installed
PORT   ?= 8501

.PHONY: install install-dev system-deps run test test-fast lint format bench screenshots clean

install: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

install-dev: $(DEV)

$(DEV): $(STAMP) requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $(DEV)

# Debian's Fashion-MNIST and Chromium for the integration and browser tests (as root or with sudo -n; else the fix)
system-deps:
	@scripts/system-deps

run: install
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: install-dev system-deps
	$(PY) -m pytest -q

test-fast: install-dev
	$(PY) -m pytest -q -m "not integration and not browser and not ray"

lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: install-dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# docs/screenshots/*.png: the browser test drives the running app in headless Chromium and saves every page
screenshots: install-dev system-deps
	DD_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q -s -m browser tests/test_browser.py

bench: install
	$(PY) -m dd_core bench --json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
