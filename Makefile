# Two commands do all set-up on a fresh machine:
#   make serve   create .venv, install, build the index if missing or stale, start on 127.0.0.1:8000
#   make test    same set-up, then the whole test suite (the browser test also needs Debian's chromium;
#                without it, or without npm for axe-core, that test is skipped; .ci/run installs both)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# axe-core (accessibility checks in tests/test_browser.py), from npm into a git-ignored folder; pinned so
# that a new release's rules do not change the result of an old commit
AXE_VERSION := 4.14.1
AXE    := .cache/npm/axe-core-$(AXE_VERSION).installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install index serve test test-fast eval clean axe

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build (a bare "torch" would pull several GB of CUDA packages)
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

$(AXE):
	npm install --prefix .cache/npm --no-audit --no-fund --silent --save-exact axe-core@$(AXE_VERSION)
	touch $(AXE)

axe: $(AXE)

index: install
	$(BIN)/rag index

serve: index
	$(BIN)/rag serve

test: install
	@$(MAKE) --no-print-directory axe || echo "warning: could not install axe-core with npm; the browser test will be skipped"
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

eval: index
	$(BIN)/rag eval eval/questions.jsonl

clean:
	rm -rf $(VENV) index .cache artifacts
