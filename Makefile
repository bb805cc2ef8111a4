# cdn-contract: every target bootstraps .venv first, so a fresh machine needs only Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

BROWSER := $(VENV)/.browser-stamp
POSTGRES := $(VENV)/.postgres-stamp
VARNISH := $(VENV)/.varnish-stamp
IMAGE_TOOLS := $(VENV)/.image-tools-stamp
SPECTRAL_CLI := 6.16.3
REDOCLY_CLI := 2.77.0
OPENAPI_PYTHON_CLIENT := 0.29.1
DATAMODEL_CODE_GENERATOR := 0.89.0
OPENAPI_TYPESCRIPT := 7.13.0
TYPESCRIPT := 5.9.3
DREDD := 14.1.0
# the stamp names the pins: a changed pin installs again
ECOSYSTEM := $(VENV)/ecosystem/.stamp-$(SPECTRAL_CLI)-$(REDOCLY_CLI)-$(OPENAPI_PYTHON_CLIENT)-$(DATAMODEL_CODE_GENERATOR)-$(OPENAPI_TYPESCRIPT)-$(TYPESCRIPT)-$(DREDD)

.PHONY: setup run proof spec generated docs check-generated lint test bench clean

$(STAMP): pyproject.toml
	@echo "setting up $(VENV) with $(PYTHON) (once; about 30 s): a virtual environment, then"
	@echo "cdn-contract and its dependencies (pip output below only on errors)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing cdn-contract[test] from PyPI ..."
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)
	@echo "$(VENV) is ready"

setup: $(STAMP)  ## create .venv and install cdn-contract with its test tools

# The browser tests drive Debian's chromium with its own chromedriver (same version; nothing
# downloads a browser build). Installed once, as root, from the distribution's packages.
$(BROWSER): $(STAMP)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "installing chromium and chromium-driver (Debian packages) for the browser tests"; \
	  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }
	@touch $(BROWSER)

# The replica tests start a throwaway PostgreSQL server on loopback from Debian's package
# (the distribution's server, the one a team already runs; nothing downloads a build).
$(POSTGRES): $(STAMP)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  echo "installing postgresql (Debian package) for the replica tests"; \
	  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }
	@touch $(POSTGRES)

# The Varnish CDN tests put the vendor's API in front of Debian's varnish (varnishd,
# varnishadm, varnishncsa and vmod_purge), started on loopback in a folder of their own.
$(VARNISH): $(STAMP)
	@test -x /usr/sbin/varnishd || command -v varnishd >/dev/null || { \
	  echo "installing varnish (Debian package) for the Varnish CDN tests"; \
	  apt-get update -qq && apt-get install -y -qq varnish >/dev/null; }
	@touch $(VARNISH)

# The image test builds the Dockerfile with buildah (no daemon) on a base debootstrap makes
# from the Debian archive apt already uses: both from the distribution's packages.
$(IMAGE_TOOLS): $(STAMP)
	@command -v buildah >/dev/null && command -v debootstrap >/dev/null || { \
	  echo "installing buildah and debootstrap (Debian packages) for the image test"; \
	  apt-get update -qq && apt-get install -y -qq buildah debootstrap >/dev/null; }
	@touch $(IMAGE_TOOLS)

# The ecosystem test feeds the spec to the tools users feed it to: Spectral, Redocly CLI,
# openapi-typescript with TypeScript's tsc, and Dredd (npm registry, run by the machine's
# Node.js; Debian's nodejs and npm if it has none), openapi-python-client and
# datamodel-code-generator (PyPI, in an environment of their own: they bring their own ruff).
# It needs nothing from .venv, so `make test` installs both at once (31 s and 37 s, 68 s in turn).
$(ECOSYSTEM):
	@command -v npm >/dev/null || { \
	  echo "installing nodejs and npm (Debian packages) for the ecosystem test"; \
	  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	@echo "installing Spectral $(SPECTRAL_CLI), Redocly CLI $(REDOCLY_CLI)," \
	  "openapi-typescript $(OPENAPI_TYPESCRIPT), TypeScript $(TYPESCRIPT), Dredd $(DREDD) (npm)" \
	  "and openapi-python-client $(OPENAPI_PYTHON_CLIENT), datamodel-code-generator" \
	  "$(DATAMODEL_CODE_GENERATOR) (PyPI) into $(VENV)/ecosystem"
	npm install --silent --no-audit --no-fund --prefix $(VENV)/ecosystem \
	  @stoplight/spectral-cli@$(SPECTRAL_CLI) @redocly/cli@$(REDOCLY_CLI) \
	  openapi-typescript@$(OPENAPI_TYPESCRIPT) typescript@$(TYPESCRIPT) dredd@$(DREDD)
	$(PYTHON) -m venv $(VENV)/ecosystem/python
	$(VENV)/ecosystem/python/bin/python -m pip install --quiet \
	  openapi-python-client==$(OPENAPI_PYTHON_CLIENT) \
	  datamodel-code-generator==$(DATAMODEL_CODE_GENERATOR) mypy
	@touch $(ECOSYSTEM)

run: spec generated proof  ## the main job: derive spec/ (both variants), generate the server and client, prove it

# The main job in one screen: for each variant, its mock on a free port (the one the
# generated server runs), `conform --checks api` against it, the verdict; the mock stopped.
PROOF_VARIANTS ?= 2015-08 2016-08
PROOF_EXAMPLES ?= 10
proof: $(STAMP)  ## each variant's mock judged by `cdn-contract conform --checks api`
	@status=0; for variant in $(PROOF_VARIANTS); do log=$$(mktemp); \
	  $(BIN)/cdn-contract mock --variant $$variant --port 0 --no-edge --time-scale 0.01 \
	    --tokens t --quiet 2>$$log & mock=$$!; url=; \
	  for i in $$(seq 100); do \
	    url=$$(grep -o 'http://127\.0\.0\.1:[0-9]*' $$log | head -n 1); \
	    [ -n "$$url" ] && break; sleep 0.1; done; \
	  echo "mock $$variant on $$url; cdn-contract conform --base-url $$url --variant $$variant --checks api"; \
	  $(BIN)/cdn-contract conform --base-url $$url --variant $$variant --token t --checks api \
	    --rate-limit-check --max-examples $(PROOF_EXAMPLES) >$$log.out 2>&1 || status=1; \
	  grep -E "^$$variant: |^services: " $$log.out || tail -n 5 $$log.out; \
	  kill $$mock; wait $$mock 2>/dev/null; rm -f $$log $$log.out; done; \
	exit $$status

spec: $(STAMP)  ## regenerate spec/ (both variants) from the WADLs and overlays
	$(BIN)/cdn-contract derive

generated: $(STAMP)  ## regenerate generated/ (stub server, Python client) from spec/
	$(BIN)/cdn-contract generate server
	$(BIN)/cdn-contract generate client

docs: $(STAMP)  ## regenerate docs/ (traceability, variants, cli), then build the site into site/
	$(BIN)/cdn-contract trace
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

check-generated: $(STAMP)  ## exit 1 if spec/, generated/ or docs/ differ from what the tools write
	$(BIN)/cdn-contract derive --check
	$(BIN)/cdn-contract generate server --check
	$(BIN)/cdn-contract generate client --check
	$(BIN)/cdn-contract trace --check

lint: $(STAMP)
	$(BIN)/ruff check .

# The suite holds spec/, generated/ and docs/ to what the commands write (test_derive_e2e,
# test_codegen, test_client, test_trace): `make check-generated` is the quick look, not run
# twice here. Four workers on two cores: much of the suite's time waits (on servers, scaled
# durations, subprocesses), and the extra workers fill it (a fresh clone's pytest: 7 min 54 s
# on -n 4, 8 min 42 s on -n 3; 11 min against 13 for -n 3 and -n 2 earlier).
# The two installs run side by side; the distribution's packages after them, in turn (apt
# takes one lock at a time: -j1, or `make -j4 test` would hand them its jobserver).
test:  ## lint, run the test suite (it checks spec/, generated/ and docs/ are current)
	@$(MAKE) --no-print-directory -j2 $(STAMP) $(ECOSYSTEM)
	@$(MAKE) --no-print-directory -j1 $(BROWSER) $(POSTGRES) $(VARNISH) $(IMAGE_TOOLS)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 4 --dist loadgroup --durations=15

bench: $(STAMP)  ## print throughput and wall-time figures (no assertions)
	$(BIN)/python benchmarks/validation_throughput.py
	$(BIN)/python benchmarks/request_path.py
	$(BIN)/python benchmarks/mock_vs_prism.py
	$(BIN)/python benchmarks/proxy_vs_prism.py
	$(BIN)/python benchmarks/soak.py
	$(BIN)/python benchmarks/edge_vs_nginx.py
	$(BIN)/python benchmarks/replicas.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/conform_wall_time.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
