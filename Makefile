# The README's two commands: `make demo` (set up, then run the quickstart recipe end to end)
# and `make test` (set up, then run the test suite). Both create .venv when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test unit smoke bench lint clean

setup: $(STAMP)

# torch first, pinned to the CPU wheel, when the venv has none: an unpinned torch is a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip "setuptools>=77"
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev,gguf,tensorboard,lora]"
	touch $(STAMP)

demo: setup
	$(BIN)/r1repro run recipes/quickstart.yaml --force

test: setup
	$(BIN)/python -m pytest -q tests

unit: setup
	$(BIN)/python -m pytest -q tests/unit

smoke: setup
	$(BIN)/python -m pytest -q tests/smoke

lint: setup
	$(BIN)/ruff check r1repro tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
