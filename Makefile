# One entry point. `make book` and `make test` each work on a fresh clone by themselves.
PROFILE ?= cpu
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-$(shell cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: env data book test lint unit nbval clean help
help:
	@echo "make book   [PROFILE=cpu|quick|gpu]  environment, data, notebooks, HTML book"
	@echo "make test                           environment, quick data and book, link and page checks, unit tests, nbval, browser check"
	@echo "make lint                           ruff check and ruff format --check (part of make test)"
	@echo "make env | data | clean"

# Idempotent: re-installs only when the pins change (the stamp is keyed by their hash).
env: $(STAMP)
$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

data: env
	$(PY) -m tmiclnet data build --profile $(PROFILE)

book: data
	$(PY) -m tmiclnet book build --profile $(PROFILE)

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# The quick book is built first: the runner executes every notebook once (papermill), and the browser check
# reads its HTML. nbval then re-executes only the copies that hold checked cells (NBVAL_CHECK_OUTPUT): that
# second run is the check that their outputs reproduce; a notebook without one would only run twice for nothing.
# TMICLNET_REQUIRE_BUILD=1: a needs_build test whose built input is missing fails instead of skipping.
test: env lint
	$(MAKE) data PROFILE=quick
	$(PY) -m tmiclnet book build --profile quick
	$(PY) -m tmiclnet book links _build/quick/_build/html
	$(PY) -m tmiclnet book check _build/quick/_build/html
	TMICLNET_REQUIRE_BUILD=1 $(PY) -m pytest tests -q
	checked=$$(grep -l NBVAL_CHECK_OUTPUT _build/executed/quick/*.ipynb) && test -n "$$checked" && \
	$(PY) -m pytest -q --nbval-lax --sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider $$checked

clean:
	rm -rf _build
