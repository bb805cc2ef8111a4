# cdn-contract: every target bootstraps .venv first, so a fresh machine needs only Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

BROWSER := $(VENV)/.browser-stamp
POSTGRES := $(VENV)/.postgres-stamp
IMAGE_TOOLS := $(VENV)/.image-tools-stamp
ECOSYSTEM := $(VENV)/ecosystem/.stamp
SPECTRAL_CLI := 6.16.3
REDOCLY_CLI := 2.77.0
OPENAPI_PYTHON_CLIENT := 0.29.1

.PHONY: setup run spec generated docs check-generated lint test bench clean

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

# The image test builds the Dockerfile with buildah (no daemon) on a base debootstrap makes
# from the Debian archive apt already uses: both from the distribution's packages.
$(IMAGE_TOOLS): $(STAMP)
	@command -v buildah >/dev/null && command -v debootstrap >/dev/null || { \
	  echo "installing buildah and debootstrap (Debian packages) for the image test"; \
	  apt-get update -qq && apt-get install -y -qq buildah debootstrap >/dev/null; }
	@touch $(IMAGE_TOOLS)

# The ecosystem test feeds the spec to the tools users feed it to: Spectral and Redocly CLI
# (npm registry, run by the machine's Node.js; Debian's nodejs and npm if it has none) and
# openapi-python-client (PyPI, in an environment of its own: it brings its own ruff).
$(ECOSYSTEM): $(STAMP)
	@command -v npm >/dev/null || { \
	  echo "installing nodejs and npm (Debian packages) for the ecosystem test"; \
	  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	@echo "installing Spectral $(SPECTRAL_CLI), Redocly CLI $(REDOCLY_CLI) (npm) and" \
	  "openapi-python-client $(OPENAPI_PYTHON_CLIENT) (PyPI) into $(VENV)/ecosystem"
	npm install --silent --no-audit --no-fund --prefix $(VENV)/ecosystem \
	  @stoplight/spectral-cli@$(SPECTRAL_CLI) @redocly/cli@$(REDOCLY_CLI)
	$(PYTHON) -m venv $(VENV)/ecosystem/python
	$(VENV)/ecosystem/python/bin/python -m pip install --quiet \
	  openapi-python-client==$(OPENAPI_PYTHON_CLIENT) mypy
	@touch $(ECOSYSTEM)

run: spec generated  ## the main job: derive spec/ (both variants), generate the server and client

spec: $(STAMP)  ## regenerate spec/ (both variants) from the WADLs and overlays
	$(BIN)/cdn-contract derive

generated: $(STAMP)  ## regenerate generated/ (stub server, Python client) from spec/
	$(BIN)/cdn-contract generate server
	$(BIN)/cdn-contract generate client

docs: $(STAMP)  ## regenerate docs/traceability.md and docs/variants.md
	$(BIN)/cdn-contract trace

check-generated: $(STAMP)  ## exit 1 if spec/, generated/ or docs/ differ from what the tools write
	$(BIN)/cdn-contract derive --check
	$(BIN)/cdn-contract generate server --check
	$(BIN)/cdn-contract generate client --check
	$(BIN)/cdn-contract trace --check

lint: $(STAMP)
	$(BIN)/ruff check .

# The suite holds spec/, generated/ and docs/ to what the commands write (test_derive_e2e,
# test_codegen, test_client, test_trace): `make check-generated` is the quick look, not run
# twice here.
test: $(STAMP) $(BROWSER) $(POSTGRES) $(IMAGE_TOOLS) $(ECOSYSTEM)  ## lint, run the test suite (it checks spec/, generated/ and docs/ are current)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

bench: $(STAMP)  ## print throughput and wall-time figures (no assertions)
	$(BIN)/python benchmarks/validation_throughput.py
	$(BIN)/python benchmarks/mock_vs_prism.py
	$(BIN)/python benchmarks/proxy_vs_prism.py
	$(BIN)/python benchmarks/soak.py
	$(BIN)/python benchmarks/edge_vs_nginx.py
	$(BIN)/python benchmarks/replicas.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/conform_wall_time.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
