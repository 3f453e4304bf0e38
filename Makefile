# Two commands for a new user: `make run` (set up, start the embedded PostGIS, load the demo,
# serve at http://127.0.0.1:8000) and `make test`. Both install what is missing and are safe
# to run again.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# pango (and a font) for WeasyPrint, which prints a plot's exposé.
SYSTEM_PACKAGES := postgresql-15 postgresql-15-postgis-3 postgresql-client-15 gdal-bin \
                   libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
TEST_PACKAGES := chromium chromium-driver docker-compose pgbouncer

.PHONY: run test setup system-packages test-packages venv assets db demo serve bench clean-db

run: setup db demo serve

test: setup test-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: system-packages venv assets

# Debian packages, only when one is missing (apt-get update needs the network, so skip it otherwise).
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

test-packages:
	@missing=""; for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The virtualenv is rebuilt only when pyproject.toml changed since the last install.
venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Leaflet and the other map assets come from the npm registry, never from a CDN at run time.
assets:
	@if [ -f maps/package.json ]; then \
	  if [ ! -d maps/node_modules ] || [ maps/package.json -nt maps/node_modules ] || \
	     [ maps/package-lock.json -nt maps/node_modules ]; then \
	    cd maps && npm install --no-audit --no-fund --loglevel=error && touch node_modules; \
	  fi; \
	fi

db:
	$(BIN)/locations db up
	$(BIN)/locations db migrate

demo:
	$(BIN)/locations demo load

serve:
	$(BIN)/locations serve

clean-db:
	-$(BIN)/locations db down
	rm -rf .data/pg
