# The two commands: `make demo` runs the real Airflow DAG on demo data; `make test` runs
# every check. Both create the virtual environment on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
AS_OF ?= 2026-10-31
CUSTOMERS ?= 2000
SEED ?= 42
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export KAM_HOME ?= $(CURDIR)/var
export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install demo test lint browser clean data-docs-assets

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The scripts and styles of the Great Expectations Data Docs (jQuery, Bootstrap,
# bootstrap-table, ...), pinned in web/data_docs/package-lock.json: validation copies them
# next to the pages, so Data Docs work offline (kam_transforms/datadocs.py).
data-docs-assets: web/data_docs/node_modules/.package-lock.json

web/data_docs/node_modules/.package-lock.json: web/data_docs/package.json web/data_docs/package-lock.json
	@command -v npm > /dev/null 2>&1 || { echo "installing npm (Debian's package) for the Data Docs assets"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm > /dev/null; }
	npm ci --prefix web/data_docs --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) data-docs-assets

demo: $(STAMP) data-docs-assets
	$(BIN)/kam demo-data --out $(KAM_HOME)/exports --customers $(CUSTOMERS) --seed $(SEED) --as-of $(AS_OF) > /dev/null
	$(BIN)/airflow db migrate > $(KAM_HOME)/airflow-migrate.log 2>&1
	$(BIN)/airflow pools set kam_warehouse 1 "one writer of the DuckDB build warehouse" > /dev/null
	$(BIN)/airflow dags test kam_pipeline $(AS_OF) > $(KAM_HOME)/airflow-dags-test.log 2>&1 \
		|| { tail -n 60 $(KAM_HOME)/airflow-dags-test.log; exit 1; }
	@echo "Airflow log: $(KAM_HOME)/airflow-dags-test.log"
	$(BIN)/kam summary --as-of $(AS_OF)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	# the staging models read the lake at compile time: lint against a small landed demo
	rm -rf $(KAM_HOME)/sqlfluff && mkdir -p $(KAM_HOME)/sqlfluff
	$(BIN)/kam demo-data --out $(KAM_HOME)/sqlfluff/exports --customers 50 --seed 1 --as-of $(AS_OF) > /dev/null
	KAM_HOME=$(KAM_HOME)/sqlfluff $(BIN)/kam extract --as-of $(AS_OF) > $(KAM_HOME)/sqlfluff/extract.log
	KAM_LAKE_DIR=$(KAM_HOME)/sqlfluff/lake KAM_BUILD_DB=$(KAM_HOME)/sqlfluff/build.duckdb \
		$(BIN)/sqlfluff lint dbt_project/models dbt_project/snapshots

# Headless Chromium and a CJK font (Debian's packages) for the tests that look at Data Docs
# and at the en and zh-CN emails as a person would.
browser:
	@{ command -v chromium && fc-list : family | grep -qi "Noto Sans CJK"; } > /dev/null 2>&1 || { \
		echo "installing chromium and fonts-noto-cjk (Debian packages) for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
			chromium fonts-noto-cjk > /dev/null; }

test: lint browser data-docs-assets
	$(BIN)/pytest

clean:
	rm -rf var airflow_home dbt_project/target dbt_project/logs
