# Two entry points: `make lab` and `make test`. Both build .venv on first use, from
# requirements.lock: the versions the tests passed with (`make lock` refreshes it).
# `make test-browser` runs every notebook in JupyterLab in headless Chromium.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock

.PHONY: lab test test-unit test-notebooks test-browser book notebooks lint checkpoints benchmarks \
	links lock matrix clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r $(LOCK)
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

# requirements.lock anew from pyproject.toml (every extra), the newest releases that fit, for
# every platform and Python >= 3.10; then run `make test` (and `make matrix`) before committing it
lock: $(STAMP)
	$(BIN)/python -m pip install -q uv
	$(BIN)/python -m uv pip compile pyproject.toml --all-extras --universal --python-version 3.10 \
		--upgrade -o $(LOCK)

# The unit tests and nbval in fresh environments: the declared floor (Python 3.10, torch 2.5.1),
# Colab as it ships (Python 3.13, torch 2.11, ipywidgets 7.7.1) and the newest releases
matrix: $(STAMP)
	$(BIN)/python scripts/matrix.py

# JupyterLab refuses to run as root (containers, CI) without --allow-root
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# JupyterLab saves the playgrounds' widget state with the notebook (jupyterlab-overrides.json), so a
# saved notebook reopens with its last picture rather than "model not found"
lab: $(STAMP)
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	$(BIN)/jupyter lab $(ALLOW_ROOT) notebooks/

test: test-unit test-notebooks

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/

NOTEBOOKS := $(wildcard notebooks/*.ipynb)

# nbval on copies of the notebooks in a temporary folder, the kernel importing rvit_mini from a
# wheel built from this checkout, as a student's kernel in Colab or on Binder imports it
test-notebooks: $(STAMP)
	RVIT_MINI_STATIC=1 $(BIN)/python scripts/nbval_installed.py --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/sanitize.cfg $(NOTEBOOKS)

# Each notebook opened, run, its sliders moved, saved and reopened in JupyterLab, and the book
# opened, driven in headless Chromium by Playwright (needs Chromium: apt-get install chromium).
# Screenshots go to build/browser/. See tests/browser/.
test-browser: book
	$(BIN)/python -m pytest -m browser tests/browser

# The manual (docs/*.md) and the notebooks as committed, outputs included and nothing executed,
# as a static site: build/book/index.html. Warnings are errors: a broken link or image fails it.
book: $(STAMP)
	$(BIN)/sphinx-build -q -W --keep-going -b html docs build/book

# Re-execute the notebooks in place as they are committed: a fresh kernel each, static figures
# (RVIT_MINI_STATIC=1, as test-notebooks sees them), execution counts 1..n. Commit the result.
notebooks: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py

lint: $(STAMP)
	$(BIN)/ruff check rvit_mini tests benchmarks scripts

checkpoints: $(STAMP)
	$(BIN)/python -m rvit_mini checkpoints

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/render.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/speed.py

# Colab/Binder badges and the notebooks' Colab cell, from pyproject.toml's Repository URL
links: $(STAMP)
	$(BIN)/python scripts/links.py

clean:
	rm -rf $(VENV) .pytest_cache
