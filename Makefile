# Two commands on a fresh machine: `make run` and `make test`. Each creates the virtualenv from the
# pinned requirements when it is missing or out of date: `make run` installs only what the agent
# needs (requirements.txt); the test and rehearsal tools come with `make test` (requirements-dev.txt).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
STAMP := $(VENV)/.installed
PORT ?= 9100
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# Test workers for `make test` (pytest-xdist). Most of the suite's time is waiting on agent processes,
# browsers and timers, not CPU: on 2 cores 4 workers measured fastest (docs/contributing.md).
TEST_WORKERS ?= 4
PYTEST := $(PY) -m pytest

.PHONY: help setup run check test test-fast test-serial test-stress test-durations lint format chat provider drill bench bench-suite bench-injection bench-precision bench-languages \
	bench-mailbox bench-postgres dashboard-demo clean

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 24

$(RUNTIME): requirements.txt constraints.txt
	@echo "Setting up $(VENV) with what the agent needs (first time or after a requirements change)..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt -c constraints.txt
	@touch $(RUNTIME)

$(STAMP): $(RUNTIME) requirements-dev.txt pyproject.toml
	@echo "Adding the test and rehearsal tools to $(VENV), and the package itself (editable)..."
	$(PIP) -r requirements-dev.txt -c constraints.txt
	$(PIP) --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)  ## the virtualenv with everything (the agent, tests, rehearsal tools)

run: $(RUNTIME)  ## set up (the agent's requirements only) and start the agent; works with no keys
	$(PY) agent.py

check: $(RUNTIME)  ## would the agent start, and how well? (configuration, keys, ports, plan, pools, roster)
	@$(PY) agent.py check || { rc=$$?; echo "agent.py check exited $$rc (1: would start degraded, 2: would not start)"; exit $$rc; }

test: $(STAMP)  ## set up and run the whole suite on TEST_WORKERS workers (installs chromium and PostgreSQL if missing)
	@scripts/ensure-chromium
	@scripts/ensure-postgresql
	$(PYTEST) -n $(TEST_WORKERS) -m "not serial"
	$(PYTEST) -m serial

test-fast: $(STAMP)  ## the in-process tests, while editing: no agent process, Chromium or PostgreSQL (under a minute)
	$(PYTEST) -n $(TEST_WORKERS) -m "not slow and not serial"

test-serial: $(STAMP)  ## the whole suite in one process, in order (for debugging)
	@scripts/ensure-chromium
	@scripts/ensure-postgresql
	$(PYTEST) -p no:xdist

test-stress: $(STAMP)  ## make test while every core is kept busy by a background load
	@scripts/ensure-chromium
	@scripts/ensure-postgresql
	scripts/with-busy-cores sh -c '$(PYTEST) -n $(TEST_WORKERS) -m "not serial" && $(PYTEST) -m serial'

test-durations: $(STAMP)  ## the suite in one process with its 20 slowest tests (conftest.py LONGEST_FIRST)
	@scripts/ensure-chromium
	@scripts/ensure-postgresql
	$(PYTEST) -p no:xdist --durations=20

lint: $(STAMP)  ## ruff format --check and ruff check
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: $(STAMP)  ## ruff format and ruff check --fix
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

chat: $(RUNTIME)  ## talk to the running agent from this terminal
	$(PY) chat.py

drill: $(STAMP)  ## the outage drill (DRILL_ARGS="--participants 200 ...")
	$(PY) agent.py drill $(DRILL_ARGS)

bench: $(STAMP)  ## the benchmarks behind BENCHMARKS.md
	$(PY) bench/run_all.py

bench-suite: $(STAMP)  ## the suite's own time, as make test runs it (STRESS=1: every core busy); into BENCHMARKS.md
	@scripts/ensure-chromium
	@scripts/ensure-postgresql
	$(PY) bench/suite.py $(if $(STRESS),--stress,)

bench-injection: $(STAMP)  ## injections against the worst-case judge
	$(PY) bench/injection.py

bench-precision: $(STAMP)  ## what the filters wrongly stop, on honest text
	$(PY) bench/precision.py

bench-languages: $(STAMP)  ## every participant in their own language: keyless scores, replies, requests, detection cost
	$(PY) bench/languages.py

bench-mailbox: $(STAMP)  ## the Agentverse mailbox path
	$(PY) bench/mailbox.py

bench-postgres: $(STAMP)  ## the PostgreSQL ledger
	@scripts/ensure-postgresql
	$(PY) bench/postgres.py

dashboard-demo: $(STAMP)  ## the dashboard with a simulated event
	$(PY) -m pizza_agent.rehearsal.dashboard_demo

provider: $(STAMP)  ## the fault provider on PORT (default 9100)
	$(PY) -m pizza_agent.rehearsal.fault_provider --port $(PORT)

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache
