# opsconsole: `make run` serves the console, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# SECRET_KEY from the environment, else the one kept in var/secret_key.
WITH_SECRET = SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}"

.PHONY: run test lint format vendor-echarts clean

$(BIN)/.runtime-installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.test-installed: $(BIN)/.runtime-installed requirements-test.txt requirements-lint.txt
	$(BIN)/python -m pip install --quiet -r requirements-lint.txt
	touch $@

var/secret_key:
	mkdir -p var
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

run: $(BIN)/.runtime-installed var/secret_key
	export $(WITH_SECRET) && \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0 && \
	$(BIN)/python manage.py ensure_admin && \
	exec $(BIN)/python manage.py serve --host "$(HOST)" --port "$(PORT)"

test: $(BIN)/.test-installed var/secret_key
	export $(WITH_SECRET) && \
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0 && \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lint, format check, types and layers; each fails the run on its own.
lint: $(BIN)/.test-installed var/secret_key
	export $(WITH_SECRET) && \
	$(BIN)/ruff check . && \
	$(BIN)/ruff format --check . && \
	$(BIN)/mypy && \
	$(BIN)/lint-imports

# Rewrite the tree as the linters want it (what can be fixed automatically).
format: $(BIN)/.test-installed
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# Re-vendor ECharts from npm (needs Node.js); the result is committed.
vendor-echarts:
	bash scripts/vendor_echarts.sh

clean:
	rm -rf $(VENV) var/static
