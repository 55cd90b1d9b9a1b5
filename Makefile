# Two commands on a fresh machine: `make run` and `make test`. Both create the
# virtualenv from the pinned requirements when it is missing or out of date.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 9100

.PHONY: setup run test lint format chat provider drill bench bench-injection bench-precision bench-mailbox bench-postgres dashboard-demo clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@echo "Setting up $(VENV) from the pinned requirements (first time or after a requirements change, ~30 s)..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $(STAMP)
	@echo "Set up."

setup: $(STAMP)

run: $(STAMP)
	$(PY) agent.py

test: $(STAMP)
	@scripts/ensure-chromium
	@scripts/ensure-postgresql
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

chat: $(STAMP)
	$(PY) chat.py

drill: $(STAMP)
	$(PY) agent.py drill $(DRILL_ARGS)

bench: $(STAMP)
	$(PY) bench/run_all.py

bench-injection: $(STAMP)
	$(PY) bench/injection.py

bench-precision: $(STAMP)
	$(PY) bench/precision.py

bench-mailbox: $(STAMP)
	$(PY) bench/mailbox.py

bench-postgres: $(STAMP)
	@scripts/ensure-postgresql
	$(PY) bench/postgres.py

dashboard-demo: $(STAMP)
	$(PY) -m pizza_agent.rehearsal.dashboard_demo

provider: $(STAMP)
	$(PY) -m pizza_agent.rehearsal.fault_provider --port $(PORT)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
