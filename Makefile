# Weilinli: `make run` starts the local stack; `make test` runs lint, types and every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAGE ?= dev
ACCOUNT_CONCURRENCY ?=
ROLE ?= resident
SCOPE ?=
USER_ID ?=

.PHONY: install run test lint typecheck unit integration e2e token format bench package clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	PYTHONPATH=. $(BIN)/python -m chalicelib.local run

test: install lint typecheck package
	PYTHONPATH=. $(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

unit: install
	PYTHONPATH=. $(BIN)/python -m pytest -q tests/unit

integration: install
	PYTHONPATH=. $(BIN)/python -m pytest -q tests/integration

e2e: install
	PYTHONPATH=. $(BIN)/python -m pytest -q tests/e2e

# The CloudFormation template (per-endpoint functions, tables, queues, workflow, alarms) and the
# deployment package, in build/$(STAGE)/, checked by cfn-lint.
package: install
	PYTHONPATH=. $(BIN)/python -m infra.build --stage $(STAGE) --out build/$(STAGE) $(if $(ACCOUNT_CONCURRENCY),--account-concurrency $(ACCOUNT_CONCURRENCY))
	$(BIN)/cfn-lint -- build/$(STAGE)/template.json

# Figures and ratios to a baseline measured in the same run (not part of make test).
bench: install
	PYTHONPATH=. $(BIN)/python -m benchmarks.bench_api

token: install
	PYTHONPATH=. $(BIN)/python -m chalicelib.local token --role "$(ROLE)" --scope "$(SCOPE)" $(if $(USER_ID),--user "$(USER_ID)")

clean:
	rm -rf build .mypy_cache .ruff_cache
