"""Every lab executes top to bottom in the quick setting without errors or stderr output.

The book build (tests/conftest.py's `book` fixture, quick setting) executes every lab once; these
tests read the notebooks as the build executed them instead of running each lab a second time.
"""

import nbformat
import pytest

from tests.conftest import ROOT, toc_pages

LABS = sorted(p for p in (ROOT / "book").rglob("*-lab.ipynb") if "_build" not in p.parts)


def page_of(lab):
    return lab.relative_to(ROOT).with_suffix("").as_posix()


def test_there_are_labs():
    assert LABS, "no lab notebooks (book/**/*-lab.ipynb) were found"


@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_lab_is_in_the_table_of_contents(lab):
    assert page_of(lab) in toc_pages(), f"add {page_of(lab)} to _toc.yml, or the book never runs it"


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_lab_runs_in_quick_setting(lab, book):
    executed = book.executed / lab.relative_to(ROOT)
    report = book.execution_report(page_of(lab))
    assert executed.exists(), f"the book build did not execute {page_of(lab)}\n{report[-5000:]}"
    notebook = nbformat.read(executed, as_version=4)
    outputs = [(i, o) for i, c in enumerate(notebook.cells) for o in c.get("outputs", [])]
    errors = [f"cell {i}: {o.ename}: {o.evalue}" for i, o in outputs if o.output_type == "error"]
    assert not errors, f"{errors}\n{report[-5000:]}"
    stderr = [f"cell {i}: {o.text[:300]}" for i, o in outputs
              if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, "the lab writes to stderr (a warning or a progress bar?):\n" + "\n".join(stderr)


@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_lab_opens_with_a_parameters_cell_using_the_quick_switch(lab):
    notebook = nbformat.read(lab, as_version=4)
    code_cells = [c for c in notebook.cells if c.cell_type == "code" and c.get("id") != "install-coursekit"]
    first = code_cells[0]
    assert "parameters" in first.metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    assert "quick_setting()" in first.source, "the parameters cell must read coursekit.quick_setting()"


@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_lab_is_committed_without_outputs(lab):
    notebook = nbformat.read(lab, as_version=4)
    dirty = [i for i, c in enumerate(notebook.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"cells {dirty} carry outputs; clear them before committing"
