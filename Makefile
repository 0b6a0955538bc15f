# Two commands on a new machine with only Python 3.11+: `make demo` and `make test`.
# Each installs what it needs from the project's own files (uv.lock) first.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: demo demo-partnership test test-all lint format install browser

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(UV) uv.lock pyproject.toml
	@# Every `hearth` process (a run, a server, a multiprocess step) imports Dagster, MLflow and
	@# scikit-learn. Where PYTHONDONTWRITEBYTECODE keeps Python from caching what it compiles, each
	@# process would compile them again (about 10 CPU-s): compile them once here (about 45 CPU-s
	@# at install), whatever the machine's environment, so the suite's time does not depend on it.
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@# dg reads its telemetry switch only from the user's dg.toml (hearth/settings.py)
	$(VENV)/bin/python -c "from hearth import settings; settings.dg_telemetry_off()"
	touch $(STAMP)

install: $(STAMP)

# The system Chromium that Playwright drives in the report's browser test (Debian package).
browser:
	@bash .ci/ensure-chromium

demo: install
	$(VENV)/bin/hearth demo

# The same world as a partnership of its three authorities, each its own home and list
# (.hearth/authorities/<code>/outputs/latest/; README, "A partnership of authorities").
demo-partnership: install
	$(VENV)/bin/hearth demo --partnership

# --dist loadfile: each test file on one worker, so a file's session fixtures (a run, a live
# world) are made once and its tests keep their order. (xdist 3.8's loadgroup does not group
# under pytest 9.2, which no longer lets a plugin rename a test's node id.)
# --no-loadscope-reorder: files are handed out in the order tests/conftest.py gives them
# (longest first); xdist would otherwise hand out the files with most tests first, which leaves
# the long whole-run files, with few tests each, to the end.
PYTEST_XDIST := -n 2 --dist loadfile --no-loadscope-reorder
test: install browser
	$(VENV)/bin/pytest $(PYTEST_XDIST) -m "not heavy"

# Everything, the heavy runs too (a partnership of three authorities, three executors with
# Redis): about 15 minutes more on 2 cores.
test-all: install browser
	$(VENV)/bin/pytest $(PYTEST_XDIST)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
