# Two commands matter: `make demo` and `make test`. Both build .venv on first use,
# so a fresh clone needs nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test browser lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/nsfix demo

test: $(BIN)/.installed browser
	$(BIN)/python -m pytest -q

# The reports people read (HTML, its A4 print) are checked in a real browser: Debian's chromium,
# installed here when this run may (root, apt-get). Elsewhere one line says so and pytest skips
# the browser tests, naming each. A bound on apt-get keeps a dead mirror from hanging CI.
APT_TIMEOUT ?= 180
browser:
	@if command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	skip="the browser tests (pytest -m browser) will be skipped"; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make test: chromium is not installed and cannot be installed here (needs root and apt-get): $$skip"; \
	  exit 0; \
	fi; \
	echo "make test: installing Debian's chromium with apt-get (at most $(APT_TIMEOUT) s)"; \
	apt="apt-get -qq -o DPkg::Lock::Timeout=60"; start=$$(date +%s); \
	log=$$(DEBIAN_FRONTEND=noninteractive timeout $(APT_TIMEOUT) sh -c \
	    "$$apt update && $$apt install -y --no-install-recommends chromium" 2>&1); status=$$?; \
	if [ $$status = 0 ] && command -v chromium >/dev/null 2>&1; then \
	  echo "make test: chromium installed in $$(( $$(date +%s) - start )) s"; \
	else \
	  why=$$(printf '%s\n' "$$log" | grep -E '^(E|Err):' | tail -n 1); \
	  [ $$status = 0 ] && why="apt-get finished but no chromium is on PATH"; \
	  [ $$status = 124 ] && why="apt-get took longer than $(APT_TIMEOUT) s"; \
	  echo "make test: chromium could not be installed ($${why:-apt-get exit code $$status}): $$skip"; \
	fi

lint: $(BIN)/.installed
	$(BIN)/ruff check nsfix mocks tests bench
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/python bench/core.py
	$(BIN)/python bench/apply_scale.py
	$(BIN)/python bench/sizes.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
