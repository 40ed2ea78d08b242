# PlexRecs developer commands. `make demo` and `make test` work on a fresh clone, offline
# apart from PyPI for the first install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-data
# pytest-xdist workers for make test: one per core (CI has 2).
TEST_WORKERS ?= auto
# The same install step as the Dockerfile: pinned versions from constraints.txt.
INSTALL := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: install demo test test-fast bench bench-quality dev loop clean

$(BIN)/plexrecs: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(INSTALL) -e ".[dev]"
	@touch $@

install: $(BIN)/plexrecs

## Run the product on the bundled demo world: emulators, demo config, one run (twice shows the 60-day dedupe).
demo: install
	$(BIN)/plexrecs demo --data-dir $(DEMO_DIR)

## The test command (CI runs this). Slow tests start real dagster-webserver/daemon processes.
test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --durations=25

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

## Benchmarks (timings live here, never in tests).
bench: install
	$(BIN)/python -m benchmarks.run

## Top-N quality of the per-person "For you" list against reference rankers (benchmarks/quality.py).
bench-quality: install
	$(BIN)/python -m benchmarks.quality

## Local development: dagster-webserver + dagster-daemon + the API, on the demo config.
dev: install
	$(BIN)/plexrecs loop --config-dir $(DEMO_DIR)/config

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
