# Quick start: `make run` (a local check cycle), `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 9000
STACK ?= dev
# Two installs into one venv: `make run` and `make serve` need only the function's
# requirements and the local stand-ins; `make test` adds the checks and the Pulumi SDKs.
LOCAL_STAMP := $(VENV)/.installed-local
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/image:$(CURDIR)

.PHONY: run report test serve install check-config lint typecheck pytest bench mutate clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "healthcheck needs Python 3.11+ (set PYTHON=...)")'
	@echo "Creating the virtualenv $(VENV) and updating its pip."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(LOCAL_STAMP): requirements-local.txt image/requirements.txt | $(BIN)/python
	@echo "Installing the function's requirements and the local stand-ins (moto, awslambdaric) into $(VENV): about 320 MB, once."
	@$(BIN)/python -m pip install --quiet -r requirements-local.txt
	@touch $@

$(STAMP): requirements-dev.txt requirements-local.txt requirements.txt image/requirements.txt | $(BIN)/python
	@echo "Installing the checks (pytest, ruff, mypy) and the Pulumi SDKs (pulumi-aws) into $(VENV): about 810 MB in all, once."
	@$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(LOCAL_STAMP) $@

## run: one check cycle on the embedded DynamoDB (URL=https://... checks one URL instead;
##      VERBOSE=1 also prints the JSON line logged for each check; RUNS=3 runs 3 cycles a minute apart,
##      then shows each target's state and the alerts it would have sent)
run: $(LOCAL_STAMP)
	$(BIN)/python -m localdev.run --stack '$(STACK)' $(if $(URL),--url '$(URL)') $(if $(filter-out 0,$(VERBOSE)),--verbose) $(if $(RUNS),--runs '$(RUNS)')

## report: the uptime report on the embedded DynamoDB: RUNS real check cycles first (default 20, a minute
##         apart), then `python -m healthcheck.report` over them (SINCE=1h, FORMAT=table|json|csv; URL= as for run)
report: $(LOCAL_STAMP)
	$(BIN)/python -m localdev.report --stack '$(STACK)' $(if $(URL),--url '$(URL)') $(if $(RUNS),--runs '$(RUNS)') $(if $(SINCE),--since '$(SINCE)') $(if $(FORMAT),--format '$(FORMAT)')

## serve: the Runtime Interface Emulator's invoke URL on 127.0.0.1:$(PORT) (URL=https://... serves one URL)
serve: $(LOCAL_STAMP)
	$(BIN)/python -m localdev.serve --port $(PORT) --stack '$(STACK)' $(if $(URL),--url '$(URL)')

## install: .venv with everything (the Pulumi SDKs that Pulumi.yaml's virtualenv needs, and the checks)
install: $(STAMP)

## check-config: Pulumi.yaml and Pulumi.$(STACK).yaml checked as `pulumi preview` would, offline
check-config: $(STAMP)
	$(BIN)/python -m localdev.check_config --stack '$(STACK)'

## test: lint, type-check and the whole pytest suite
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the benchmarks in bench/, printed as ratios
bench: $(LOCAL_STAMP)
	$(BIN)/python -m bench

## mutate: mutation testing of image/healthcheck and infra with mutmut (slow: not part of `make test` or CI)
# mutmut names a mutant by its file's path, and the tests import `healthcheck`, not
# `image.healthcheck`; so it runs in $(MUTATE_DIR), a copy of the tree with the package
# at healthcheck/. Its mutants/ (mutmut's work and results cache) is kept between runs,
# so a second run only retests what changed. Settings: [tool.mutmut] in pyproject.toml.
MUTATE_DIR := .mutate
MUTATE_COPY := infra tests localdev events Dockerfile .dockerignore Pulumi.yaml Pulumi.dev.yaml __main__.py pyproject.toml
mutate: $(STAMP)
	mkdir -p $(MUTATE_DIR)
	find $(MUTATE_DIR) -mindepth 1 -maxdepth 1 ! -name mutants -exec rm -rf {} +
	cp -a $(MUTATE_COPY) $(MUTATE_DIR)/
	cp -a image/healthcheck $(MUTATE_DIR)/healthcheck
	cd $(MUTATE_DIR) && env -u PYTHONPATH $(abspath $(BIN))/mutmut run $(MUTANTS)
	cd $(MUTATE_DIR) && env -u PYTHONPATH $(abspath $(BIN))/mutmut results

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(MUTATE_DIR)
