# The two commands of the README: `make run` and `make test`.
# Everything else here is a step those two take, or a documented extra.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# pip says only what fails: no per-package lines, no index or version chatter
PIP    := $(BIN)/pip --quiet --quiet --disable-pip-version-check

.PHONY: run test lint model bench clean help notebooks docs-notebooks

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml scripts/install-test-servers.sh | $(BIN)/python
	$(PIP) install -e '.[test]'
	bash scripts/install-test-servers.sh
	touch $@

run: $(VENV)/.installed  ## run the service on embedded defaults (http://127.0.0.1:8080)
	$(BIN)/friction serve

test: $(VENV)/.installed-test  ## install test needs (servers too) and run lint, types and the whole suite
	$(BIN)/ruff check friction tests loadtest
	$(BIN)/ruff format --check friction tests loadtest
	$(BIN)/mypy friction
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q

model: $(VENV)/.installed  ## rebuild the bundled default model from a seeded simulation
	$(BIN)/friction simulate --out data/default-stream.jsonl --days 45 --customers 3000 --seed 7
	$(BIN)/friction train --data data/default-stream.jsonl --models models --promote always

$(VENV)/.installed-notebooks: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[notebooks]'
	touch $@

notebooks: $(VENV)/.installed-notebooks  ## open the analysts' notebooks in JupyterLab (makes var/demo first if missing)
	test -d var/demo/events || $(BIN)/friction demo-data --out var/demo
	$(BIN)/jupyter lab --notebook-dir=notebooks

docs-notebooks: $(VENV)/.installed-notebooks  ## execute the notebooks on fresh demo data into docs/notebooks/ (figures kept)
	$(BIN)/friction demo-data --out var/docs-demo --force
	$(BIN)/python -m friction.analytics.notebooks --data var/docs-demo --out docs/notebooks

clean:  ## remove local state (var/) and caches, keep the venv
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
