"""Every lab executes top to bottom in the quick setting, in its own folder, without errors."""

import nbclient
import nbformat
import pytest

from tests.conftest import ROOT, quick_env

LABS = sorted((ROOT / "book").rglob("*-lab.ipynb"))


def test_there_are_labs():
    assert LABS, "no lab notebooks (book/**/*-lab.ipynb) were found"


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_lab_runs_in_quick_setting(lab, monkeypatch):
    for name, value in quick_env().items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(lab, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(lab.parent)}}
    ).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_lab_opens_with_a_parameters_cell_using_the_quick_switch(lab):
    notebook = nbformat.read(lab, as_version=4)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    first = code_cells[0]
    assert "parameters" in first.metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    assert "quick_setting()" in first.source, "the parameters cell must read coursekit.quick_setting()"


@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_lab_is_committed_without_outputs(lab):
    notebook = nbformat.read(lab, as_version=4)
    dirty = [i for i, c in enumerate(notebook.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"cells {dirty} carry outputs; clear them before committing"
