# DistillLab: `make run` serves the dashboard, `make test` runs the whole test suite.
# Both create .venv when missing and (re)install requirements.txt only when it changed.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
PORT   ?= 8501

.PHONY: install run test test-fast bench screenshots clean

install: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

run: install
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not integration and not browser"

# docs/screenshots/*.png: the browser test drives the running app in headless Chromium and saves every page
screenshots: install
	DD_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q -s -m browser tests/test_browser.py

bench: install
	$(PY) -m dd_core bench --json

clean:
	rm -rf $(VENV) .pytest_cache
