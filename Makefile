# Two commands on a fresh machine: `make demo` and `make test`. Everything else is set up here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PLUGINS := .meltano/.plugins-installed
OFFICIAL := $(VENV)/official/.installed
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: setup plugins official demo test lint docs dist bench clean

setup: $(INSTALLED)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dagster]'
	touch $@

# Meltano builds one venv per plugin (taps from this checkout, loaders from PyPI).
plugins: $(PLUGINS)

$(PLUGINS): $(INSTALLED) meltano.yml
	$(BIN)/meltano install
	mkdir -p .meltano output
	touch $@

# The vendors' official clients the suite checks the emulator with (tests/official.py): npm
# packages in tests/official/node_modules, Python clients each in its own .venv/official/<name>.
official: $(OFFICIAL)

$(OFFICIAL): $(INSTALLED) tests/official/requirements.txt tests/official/package-lock.json
	cd tests/official && npm ci --silent --no-audit --no-fund
	$(BIN)/python scripts/install_official.py tests/official/requirements.txt $(VENV)/official
	touch $@

# From each tap's --about: the settings tables of docs/, the plugin definitions
# plugins/extractors/*.yml and the extractors of meltano.yml (tests/test_docs.py checks them).
docs: $(INSTALLED)
	$(BIN)/python scripts/settings_docs.py

# The release artefacts: wheel and sdist in dist/ (the version is pyproject.toml's).
dist: $(INSTALLED)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

# Requests vs minimum, throughput vs a bare loop, memory, rate-limit steering -> BENCHMARKS.md.
# `make bench ARGS=--quick` for a smaller run that only prints.
bench: $(INSTALLED)
	$(BIN)/python scripts/bench.py $(ARGS)

demo: $(PLUGINS)
	$(BIN)/python scripts/demo.py

test: $(PLUGINS) $(OFFICIAL)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .meltano output .pytest_cache dist build tests/official/node_modules
