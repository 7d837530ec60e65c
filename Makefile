# Two commands set everything up on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make run PORT=18080` (or MODERATION_PORT=18080 make run): where the service listens.
# REDIS_PORT (default 6379) is the port for the redis-server `make run` starts; see scripts/run.sh.
HOST ?= $(or $(MODERATION_HOST),127.0.0.1)
PORT ?= $(or $(MODERATION_PORT),8080)
WORKERS ?= $(or $(MODERATION_WORKERS),1)

.PHONY: typecheck-tree run stop test screenshots venv redis-server-bin chromium-bin wordpress-bin akismet-clients wrk-bin lint models fetch-data spam-base bench fuzz clean

# constraints.txt pins every Python package (the models' manifests name the numpy and
# scikit-learn they were built with); the Dockerfile installs with the same file.
CONSTRAINTS := constraints.txt

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@# Debian's python3 creates virtualenvs only with python3-venv (ensurepip) installed.
	@$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e '.[test,train]'
	@$(MAKE) -s typecheck-tree
	@touch $(STAMP)

# The installed names as links (build/typecheck/moderation -> service/, its models -> models/):
# pyproject's mypy_path points there, so a plain `mypy service` resolves `moderation.*` imports
# to their source (the editable install's import hook is invisible to mypy).
typecheck-tree:
	@rm -rf build/typecheck && mkdir -p build/typecheck/moderation
	@for f in service/*; do ln -s ../../../$$f build/typecheck/moderation/; done
	@ln -s ../../../models build/typecheck/moderation/models

venv: $(STAMP)

# Debian's redis-server, installed when missing (tests and `make run` start their own).
redis-server-bin:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing Debian's redis-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# Debian's chromium, installed when missing: the browser tests drive it through Playwright
# (executable_path); Playwright never downloads a browser of its own.
chromium-bin:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's wordpress, php-cli (+ php-mysql, php-xml) and mariadb-server, installed when missing:
# tests/test_wordpress.py serves the package with `php -S` on a MariaDB it starts itself.
wordpress-bin:
	@{ test -f /usr/share/wordpress/wp-comments-post.php && command -v php >/dev/null 2>&1 \
	   && php -m | grep -qx mysqli && php -m | grep -qx dom \
	   && PATH="$$PATH:/usr/sbin" command -v mariadbd >/dev/null 2>&1; } || { \
	  echo "installing Debian's wordpress, php-cli, php-mysql, php-xml and mariadb-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    wordpress php-cli php-mysql php-xml mariadb-server >/dev/null; }

# The other Akismet clients tests/test_akismet_clients.py runs: npm's akismet-api (with
# Debian's nodejs/npm when node is missing; versions fixed by tests/clients/node's
# package-lock.json, installed there by `npm ci`) and Debian's Net::Akismet.
NODE_CLIENTS := tests/clients/node
$(NODE_CLIENTS)/node_modules/.installed: $(NODE_CLIENTS)/package.json $(NODE_CLIENTS)/package-lock.json
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian's nodejs and npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	cd $(NODE_CLIENTS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

akismet-clients: $(NODE_CLIENTS)/node_modules/.installed
	@test -f /usr/share/perl5/Net/Akismet.pm || { \
	  echo "installing Debian's libnet-akismet-perl"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnet-akismet-perl >/dev/null; }

run: $(STAMP)
	@MODERATION_HOST='$(HOST)' MODERATION_PORT='$(PORT)' MODERATION_WORKERS='$(WORKERS)' bash scripts/run.sh

# Stops what `make run` started (the service, and the redis-server it started), by the PIDs in var/.
stop:
	@bash scripts/stop.sh

# wrk: tests/test_bench.py runs `make bench` in a short mode.
test: $(STAMP) redis-server-bin chromium-bin wordpress-bin akismet-clients wrk-bin
	$(PY) -m pytest -q -p no:cacheprovider

# Refreshes the README's screenshots in docs/screenshots (committed). `make test` writes its
# screenshots to build/screenshots instead and fails if any test changes a tracked file.
screenshots: $(STAMP) redis-server-bin chromium-bin
	MODERATION_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q -p no:cacheprovider -m browser

# Many more generated requests per API operation than `make test` sends (20).
fuzz: $(STAMP) redis-server-bin
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz.py

# Debian's wrk, installed when missing (the load generator of `make bench`).
wrk-bin:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "installing Debian's wrk"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

# Throughput, latency and queue depth beside a bare-aiohttp reference (bench/run.py), on the
# committed comments of bench/data/corpus.csv (sources and licences in bench/data/README.md).
# BENCH_SECONDS=10 BENCH_DEPTH=100000 make bench for a quick run; results in bench/results/.
bench: $(STAMP) redis-server-bin wrk-bin
	@# Scoring cost of the models alone, batched (bench/models_bench.py).
	$(PY) -m bench.models_bench
	$(PY) -m bench.wordlists
	$(PY) -m bench.replica_wait
	$(PY) -m bench.run
	@# Redis memory under a steady stream with a short retention (bench/retention.py).
	$(PY) -m bench.retention
	@# Reputation: memory per 100,000 entries, a decision's fan-out, the pre-check's read.
	$(PY) -m bench.reputation
	@# An erasure with 100,000 labels in the log, and what the label index costs (bench/erasure.py).
	$(PY) -m bench.erasure

# The labelled sets the models are built from (models/datasets.json: every file, its origin,
# licence and SHA-256). They are not in the repository (most are research-use only): DATA_ROOT
# names a copy of the project's shared data, `make fetch-data DATA_MIRROR=URL` fills it from a
# mirror of that copy, checksums verified. `.venv/bin/python -m moderation.models.datasets list` says
# where each set comes from and whether it is there.
DATA_ROOT ?= ../shared/data

fetch-data: $(STAMP)
	$(PY) -m moderation.models.datasets --data-root '$(DATA_ROOT)' fetch $(if $(DATA_MIRROR),--mirror '$(DATA_MIRROR)')

# Rebuild models/spam, models/toxicity, models/toxicity-en and models/metrics.json from
# DATA_ROOT (seeded, reproducible; spam, both toxicity models, TF-IDF baselines,
# ablation, LOVO and the CLI check: about an hour on 2 cores, parts runnable alone with
# --parts, e.g. `.venv/bin/python -m moderation.models.build --parts toxicity-en,baselines`). See models/README.md.
# Stops first, naming each missing or altered file, when DATA_ROOT lacks a set it reads.
models: $(STAMP)
	$(PY) -m moderation.models.datasets --data-root '$(DATA_ROOT)' check
	nice -n 10 $(PY) -m moderation.models.build --data-root '$(DATA_ROOT)'

# data/spam-base.csv: the rows the shipped spam model was trained on, as the base CSV of
# `moderation retrain --base data/spam-base.csv` (README, "Feedback loop").
spam-base: $(STAMP)
	$(PY) -m moderation.models.datasets --data-root '$(DATA_ROOT)' spam-base --out data/spam-base.csv

# mypy checks the wings under their installed names (moderation.*: pyproject.toml maps the
# folders, which mypy cannot follow) through a tree of links to service/ and models/.
lint: $(STAMP) typecheck-tree
	$(PY) -m pip install -q -c $(CONSTRAINTS) ruff mypy
	$(PY) -m ruff check service tests bench models scripts
	$(PY) -m mypy service

clean:
	rm -rf $(VENV) var .pytest_cache
