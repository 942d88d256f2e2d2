# opsconsole: `make run` serves the console, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Most tests wait on servers, browsers and clocks rather than the CPU, so
# test files run in parallel processes (pytest-xdist; tests/workers.py).
TEST_WORKERS ?= 2
# SECRET_KEY from the environment, else the one kept in var/secret_key.
WITH_SECRET = SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}"

.PHONY: run test lint audit lock format vendor-echarts clean

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
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Lint, format check, types, layers and known vulnerabilities; each fails the run on its own.
lint: $(BIN)/.test-installed var/secret_key
	export $(WITH_SECRET) && \
	$(BIN)/ruff check . && \
	$(BIN)/ruff format --check . && \
	$(BIN)/mypy && \
	$(BIN)/lint-imports && \
	$(BIN)/python scripts/audit_dependencies.py

# A known vulnerability in any pinned Python or npm package fails the run;
# unreachable advisory services are reported, and fail with AUDIT_REQUIRED=1.
audit: $(BIN)/.test-installed
	$(BIN)/python scripts/audit_dependencies.py

# Re-pin requirements*.txt, with hashes, from their .in files; pins that still
# fit are kept: LOCK_ARGS=--upgrade (or --upgrade-package NAME) moves them.
# Resolved for the Python of the Dockerfile and CI on Linux, from PyPI alone
# (uv reads no pip configuration, so a machine's local wheel folders and
# indexes leave no hash behind that other machines could not match).
LOCK = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 --python-platform linux \
	--annotation-style line --custom-compile-command "make lock" $(LOCK_ARGS)
lock: $(BIN)/.test-installed
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-test.in -c requirements.txt -o requirements-test.txt
	$(LOCK) requirements-lint.in -c requirements-test.txt -o requirements-lint.txt

# Rewrite the tree as the linters want it (what can be fixed automatically).
format: $(BIN)/.test-installed
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# Rebuild the vendored ECharts from npm with only the parts the pages use (needs Node.js); committed.
vendor-echarts:
	bash scripts/vendor_echarts.sh

clean:
	rm -rf $(VENV) var/static
