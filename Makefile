# Two commands do all set-up on a fresh machine:
#   make serve   create .venv, install, build the index if missing or stale, start on 127.0.0.1:8000
#   make test    same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install index serve test eval clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build (a bare "torch" would pull several GB of CUDA packages)
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/rag index

serve: index
	$(BIN)/rag serve

test: install
	$(BIN)/python -m pytest

eval: index
	$(BIN)/rag eval eval/questions.jsonl

clean:
	rm -rf $(VENV) index
