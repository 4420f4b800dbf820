# The course's commands. Quick start: `make book` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader runs alembic and the Jupyter tools from PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup book book-quick test lab exercises grade feedback lock clean

help:
	@echo "make book       build the book (full setting) into _build/html"
	@echo "make test       run the whole test suite (labs in the quick setting)"
	@echo "make lab        open JupyterLab on the exercises"
	@echo "make exercises  regenerate exercises/ from solutions/ (instructors)"
	@echo "make grade      autograde everything in submitted/ and write grades.csv (JOBS=4: in parallel)"
	@echo "make feedback   write feedback HTML for graded submissions into feedback/"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[book,grading,dev]"
	@touch $(STAMP)

setup: $(STAMP)

book: $(STAMP)
	tools/prerequisites.sh data
	$(BIN)/jupyter-book build . -W --keep-going
	@echo "Open $(CURDIR)/_build/html/index.html"

book-quick: $(STAMP)
	tools/prerequisites.sh data
	COURSEKIT_QUICK=1 $(BIN)/jupyter-book build . -W --keep-going --path-output _build/quick
	@echo "Open $(CURDIR)/_build/quick/_build/html/index.html"

test: $(STAMP)
	tools/prerequisites.sh data browser sandbox postgres
	COURSEKIT_QUICK=1 $(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=exercises

exercises: $(STAMP)
	$(BIN)/python -m grading release

JOBS ?= 1
# Each submission's kernel runs in a bubblewrap sandbox: installed here when we are root with apt,
# otherwise prerequisites.sh stops with the command to run.
grade: $(STAMP)
	tools/prerequisites.sh sandbox
	$(BIN)/python -m grading grade --jobs $(JOBS)

feedback: $(STAMP)
	$(BIN)/python -m grading feedback

# Re-resolve the pinned versions after changing dependencies in pyproject.toml.
lock:
	rm -rf /tmp/coursekit-lock && $(PYTHON) -m venv /tmp/coursekit-lock
	/tmp/coursekit-lock/bin/python -m pip install -q --upgrade pip
	/tmp/coursekit-lock/bin/python -m pip install -q -e ".[book,grading,dev]"
	{ echo "# Exact versions every machine resolves: pip install -c constraints.txt -e '.[book,grading,dev]'"; \
	  echo "# Regenerate with 'make lock' after changing dependencies in pyproject.toml."; \
	  /tmp/coursekit-lock/bin/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.txt

clean:
	rm -rf _build .pytest_cache
