# Two entry points: `make run` (install, embedded database, demo companies, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench bench-scale eval-dev clean fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

# torch first, pinned: an unpinned resolution would pull the CUDA build and its several GB of packages
.stamps/install: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	@mkdir -p .stamps && touch $@

# llama-cpp-python (the real LLM of the provider tests) compiles from source. Built for the machine's own
# CPU it uses AMX where the CPU has it, and its AMX matrix product crashes (SIGSEGV) on these machines:
# it is built portable (AVX2 and below), never from a wheel cached by a native build.
.stamps/dev: .stamps/install
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet --no-cache-dir "llama-cpp-python[server]>=0.3"
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

run: .stamps/install
	$(BIN)/comptoir serve --demo

lint: .stamps/dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Chromium for the browser tests (tests/integration/browser): Debian's package, as Playwright's own
# download comes from a CDN that CI cannot reach. With its recommended packages (fonts-liberation draws
# the text in screenshots). sudo only when not root; quiet unless it fails.
.stamps/browser:
	@command -v chromium >/dev/null || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@mkdir -p .stamps && touch $@

test: lint .stamps/browser
	$(BIN)/pytest

bench: .stamps/install
	$(BIN)/python benchmarks/bench_chat.py
	$(BIN)/python benchmarks/bench_cache.py
	$(BIN)/python benchmarks/bench_facts.py
	$(BIN)/python benchmarks/bench_search.py

# retrieval at scale: 1M chunks over 100 companies against Chroma on the same vectors (20 to 30 minutes)
bench-scale: .stamps/dev
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) .stamps

# answer quality on the shared business development set: a fresh server, no LLM, the set's own runner
eval-dev: .stamps/install
	$(BIN)/python benchmarks/eval_dev.py

# Schemathesis against the real app, deeper than `make test` (50 examples per operation, the same each run):
# 1,000 random ones per operation and mode, with each operation's answers by status
fuzz: .stamps/dev
	COMPTOIR_FUZZ_EXAMPLES=1000 COMPTOIR_FUZZ_RANDOM=1 $(BIN)/pytest tests/integration/test_fuzz.py -p no:cacheprovider -rA -s
