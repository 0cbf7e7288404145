# Front door: `make demo` and `make test` install what they need into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-unit test-postgres sample lint format clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "kofu needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# constraints.txt pins the versions the tests ran with; pyproject keeps lower bounds.
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	# MediaPipe without its declared dependencies (pyproject.toml says why).
	$(BIN)/pip install --quiet --no-deps -c constraints.txt mediapipe
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kofu demo

# Everything: tests/unit, tests/integration and tests/e2e (docs/testing.md).
test: $(STAMP)
	$(BIN)/python -m pytest

# The pure functions only, for the edit-test loop: no database, Prefect or subprocess.
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

# The same suite against a throwaway PostgreSQL server (scripts/with-postgres).
test-postgres: $(STAMP)
	scripts/with-postgres $(BIN)/python -m pytest

# The sample notice in the README: an invented resident, the sample settings, the real renderer.
sample: $(STAMP)
	$(BIN)/python -m kofu.cli.sample_notice docs/sample-notice.png

# Style, formatting, and the layer contracts (pyproject.toml, [tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	scripts/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate the constraints from the current environment after changing dependencies.
constraints:
	$(BIN)/pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf var .pytest_cache .ruff_cache

# A local Prefect server with its UI (http://127.0.0.1:4200), the work pool, the deployments
# of prefect.yaml and a worker, in the background: scripts/serve says what it reads.
.PHONY: serve stop
serve: $(STAMP)
	scripts/serve

# Stops what `make serve` started: the worker, then the server.
stop:
	scripts/stop
