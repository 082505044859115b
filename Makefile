# One place for the commands people and CI run. `make test` is the README's test command and
# what .ci/run calls; it installs into .venv first when needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install lint test pytest test-slow test-demo run explain bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,sweep]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check quantum_trader tests bench examples
	$(BIN)/ruff format --check quantum_trader tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

pytest: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

test: lint pytest

# The long end-to-end runs (marked slow): CI runs them after `make test`.
test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

# Opt-in: the real Binance demo (network + QT_DEMO_API_KEY / QT_DEMO_API_SECRET).
test-demo: $(STAMP)
	$(BIN)/pytest -q -m demo tests/demo

# The README's main job on embedded defaults: the paper daemon on a synthetic market for 90 s.
run: $(STAMP)
	$(BIN)/qtrader run --paper --duration 90

# Benchmarks print figures (with a baseline measured in the same run); they assert nothing.
bench: $(STAMP)
	$(BIN)/python bench/rl_bench.py
	$(BIN)/python bench/backtest_bench.py
	$(BIN)/python bench/risk_bench.py
	$(BIN)/python bench/loop_bench.py
	$(BIN)/python bench/load_bench.py

explain: $(STAMP)
	$(BIN)/qtrader explain --confidence 0.85 --volatility 1.2 --pnl-trend 0.4 --symbol-risk 1.0 \
		--margin-util 0.3 --divergence 0.02 --funding -0.001

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
