# Quick start: `make run` (a local check cycle), `make test` (the whole suite); `make` alone lists the targets.
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

.PHONY: help run report export test serve install check-config lint typecheck pytest bench bench-scale mutate clean
.DEFAULT_GOAL := help

## help: this list (what plain `make` prints)
help:
	@sed -n 's/^## \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "healthcheck needs Python 3.11+ (set PYTHON=...)")'
	@echo "Creating the virtualenv $(VENV) and updating its pip." >&2
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(LOCAL_STAMP): requirements-local.txt image/requirements.txt | $(BIN)/python
	@echo "Installing the function's requirements and the local stand-ins (moto, awslambdaric) into $(VENV): about 320 MB, once." >&2
	@$(BIN)/python -m pip install --quiet -r requirements-local.txt
	@touch $@

$(STAMP): requirements-dev.txt requirements-local.txt requirements.txt image/requirements.txt | $(BIN)/python
	@echo "Installing the checks (pytest, ruff, mypy) and the Pulumi SDKs (pulumi-aws) into $(VENV): about 810 MB in all, once." >&2
	@$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(LOCAL_STAMP) $@

## run: one check cycle on the embedded DynamoDB (URL=https://... checks one URL instead;
##      VERBOSE=1 also prints the JSON lines the function logs, with a line for every check; RUNS=3 runs 3 cycles a minute apart,
##      then shows each target's state and the alerts it would have sent; the stack's secret references
##      read local-secrets.yaml, or SECRETS=<file>; REGIONS=us-east-1,eu-west-1,ap-southeast-1 runs each region's
##      checker as deployed on the one embedded DynamoDB, CUT=eu-west-1 makes that region's network fail)
run: $(LOCAL_STAMP)
	$(BIN)/python -m localdev.run --stack '$(STACK)' $(if $(URL),--url '$(URL)') $(if $(filter-out 0,$(VERBOSE)),--verbose) $(if $(RUNS),--runs '$(RUNS)') $(if $(SECRETS),--secrets '$(SECRETS)') $(if $(REGIONS),--regions '$(REGIONS)') $(if $(CUT),--cut '$(CUT)')

## report: the uptime report on the embedded DynamoDB: RUNS real check cycles first (default 20, a minute
##         apart), then `python -m healthcheck.report` over them (SINCE=1h, FORMAT=table|json|csv; URL= as for run)
# @: make's echo of the command would land in `make report FORMAT=json > report.json`.
report: $(LOCAL_STAMP)
	@$(BIN)/python -m localdev.report --stack '$(STACK)' $(if $(URL),--url '$(URL)') $(if $(RUNS),--runs '$(RUNS)') $(if $(SINCE),--since '$(SINCE)') $(if $(FORMAT),--format '$(FORMAT)')

## export: every check as `python -m healthcheck.export` prints it, on the embedded DynamoDB: RUNS real check cycles
##         first (default 3, a minute apart); SINCE=24h, FORMAT=jsonl|csv, TARGET=<name>; URL= as for run
export: $(LOCAL_STAMP)
	@$(BIN)/python -m localdev.export --stack '$(STACK)' $(if $(URL),--url '$(URL)') $(if $(RUNS),--runs '$(RUNS)') $(if $(TARGET),--target '$(TARGET)') $(if $(SINCE),--since '$(SINCE)') $(if $(FORMAT),--format '$(FORMAT)')

## serve: the Runtime Interface Emulator's invoke URL on 127.0.0.1:9000 (PORT= another port; URL=https://... serves
##        one URL)
serve: $(LOCAL_STAMP)
	$(BIN)/python -m localdev.serve --port $(PORT) --stack '$(STACK)' $(if $(URL),--url '$(URL)')

## install: .venv with everything (the Pulumi SDKs that Pulumi.yaml's virtualenv needs, and the checks)
install: $(STAMP)

## check-config: Pulumi.yaml and Pulumi.<STACK>.yaml checked as `pulumi preview` would, offline, every error at once
check-config: $(STAMP)
	$(BIN)/python -m localdev.check_config --stack '$(STACK)'

## test: lint, type-check and the whole pytest suite
test: lint typecheck pytest

## lint, typecheck, pytest: the three parts of test (PYTEST_ARGS='tests/test_x.py -q' picks tests)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the benchmarks in bench/, printed as ratios (about 5 minutes; a quiet machine gives steadier figures)
bench: $(STAMP)
	$(BIN)/python -m bench

## bench-scale: the scale benchmark (10,000 loopback targets, 5 % of them hanging, run as the deployed shards; then
##              10, 100 and 1,000 that all answer), then the README's cost table and scale figures from what it
##              measured (bench/results/), written into README.md.
##              Not part of CI: about 5 minutes on 2 cores. SCALE_TARGETS=1000 runs fewer; SCALE_ARGS= passes
##              more options to python -m bench.scale
SCALE_TARGETS ?= 10000
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale --mix issue --targets $(SCALE_TARGETS) $(SCALE_ARGS)
	$(BIN)/python -m bench.scale --mix healthy --targets 10,100,1000 $(SCALE_ARGS)
	$(BIN)/python -m bench.costs bench/results/scale-healthy.json --issue bench/results/scale-issue.json --readme README.md

## mutate: mutation testing of image/healthcheck and infra with mutmut (slow: hours; not part of `make test` or CI);
##         MUTANTS='healthcheck.alerting.policy.*' runs one module's mutants, MUTANTS='<name> <name>' reruns those
# mutmut names a mutant by its file's path, and the tests import `healthcheck`, not
# `image.healthcheck`; so it runs in $(MUTATE_DIR), a copy of the tree with the package
# at healthcheck/ (and image/ holding only requirements.txt). The tests read the
# Makefile and the requirements files too, so they are copied; [tool.mutmut]'s also_copy
# in pyproject.toml names the same files (tests/localdev/test_makefile.py holds the two lists
# together). Its mutants/ (mutmut's work and results cache) is kept between runs, so a
# second run only retests what changed.
MUTATE_DIR := .mutate
MUTATE_COPY := infra tests localdev bench events Dockerfile .dockerignore Pulumi.yaml Pulumi.dev.yaml __main__.py \
	pyproject.toml Makefile requirements.txt requirements-local.txt requirements-dev.txt
MUTATE_SUMMARY := awk -F': ' '$$2 != "not checked" { sub(/^ +/, "", $$1); split($$1, part, "."); \
	module = part[1] "." part[2]; run[module]++; if ($$2 == "killed" || $$2 == "timeout") killed[module]++ } \
	END { for (m in run) printf "    %s: %d/%d killed = %.1f%%\n", m, killed[m], run[m], 100 * killed[m] / run[m] }'
mutate: $(STAMP)
	mkdir -p $(MUTATE_DIR)
	find $(MUTATE_DIR) -mindepth 1 -maxdepth 1 ! -name mutants -exec rm -rf {} +
	cp -a $(MUTATE_COPY) $(MUTATE_DIR)/
	cp -a image/healthcheck $(MUTATE_DIR)/healthcheck
	mkdir -p $(MUTATE_DIR)/image && cp -a image/requirements.txt $(MUTATE_DIR)/image/
	cd $(MUTATE_DIR) && env -u PYTHONPATH $(abspath $(BIN))/mutmut run $(foreach name,$(MUTANTS),'$(name)')
	cd $(MUTATE_DIR) && env -u PYTHONPATH $(abspath $(BIN))/mutmut results --all true >results.txt
	@echo "Not killed (mutmut show <name> shows the change):"
	@grep -v -e ': killed$$' -e ': timeout$$' -e ': not checked$$' $(MUTATE_DIR)/results.txt || echo "    none"
	@echo "Per module, of its mutants that have run (mutmut's timeouts count as killed):"
	@$(MUTATE_SUMMARY) $(MUTATE_DIR)/results.txt | sort

## clean: remove .venv, the tools' caches and .mutate
clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(MUTATE_DIR)
