"""Write or refresh the setup cell that makes every lab and exercise notebook launch anywhere.

A student who opens a lab on Colab, on Binder or on a bare JupyterHub has no coursekit, and the
lab's first import fails. So each lab (``book/**/*-lab.ipynb``) and each exercise's source
notebook (``solutions/*/*.ipynb``, released into ``exercises/`` by ``make exercises``) starts
with a short cell, right after its title, that installs coursekit where it is missing and does
nothing where it is installed (``make``'s venv, Binder's image, the grader).

The install source is set in one place, ``repository.url`` and ``repository.branch`` of
``_config.yml`` (the same URL the book's launch buttons use); the cell installs
``coursekit @ git+<url>@<branch>``, with the extra the notebook needs (labs glue numbers into the
book with myst-nb and read gensim's word-similarity data: the ``book`` extra). The environment
variable ``COURSEKIT_SOURCE`` (any location pip accepts after ``coursekit @``: a ``git+`` URL,
``file:///…/coursekit-0.1.0-py3-none-any.whl``) overrides it, for forks and tests. torch comes
as PyPI's exact pin from PyTorch's CPU index (a bare pip would fetch the multi-GB CUDA build).

In the solutions the cell is a locked, read-only nbgrader cell: the grader restores it from the
source, and grading/integrity.py trusts it (it uses importlib, subprocess and sys, which a
student cell may not). While grading (``NBGRADER_EXECUTION`` is set) it never installs.

    python tools/setup_cells.py                 # refresh every lab and solutions notebook
    python tools/setup_cells.py PATH...         # only these notebooks
    python tools/setup_cells.py --check [PATH...]   # exit 1 and list the stale ones

Running it twice changes nothing. After it touched solutions/, run ``make exercises``.
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "install-coursekit"  # the cell's id and, in the solutions, its nbgrader grade_id
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
LAB_EXTRA = "book"  # what a lab imports beyond coursekit's own dependencies (myst_nb, gensim)
NBGRADER = {"grade": False, "grade_id": CELL_ID, "locked": True, "schema_version": 3,
            "solution": False}

TEMPLATE = '''\
# Setup: installs coursekit, the course's package, where it is missing (Colab, Binder, a bare
# JupyterHub); does nothing where it is installed. Written by tools/setup_cells.py.
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("coursekit") is None and "NBGRADER_EXECUTION" not in os.environ:
    source = os.environ.get("COURSEKIT_SOURCE",  # where coursekit comes from
                            "{location}")
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    cpu_torch = ["--extra-index-url", "{torch_index}"]  # not the CUDA build
    subprocess.run(pip + cpu_torch + ["{requirement_name} @ " + source], check=True)
    importlib.invalidate_caches()  # so that the next cell finds it
'''


def install_location(root=ROOT):
    """``git+<repository.url>@<branch>`` from ``_config.yml``: where the cell installs from."""
    config = yaml.safe_load((Path(root) / "_config.yml").read_text())
    repository = (config or {}).get("repository") or {}
    url, branch = repository.get("url"), repository.get("branch", "main")
    if not isinstance(url, str) or not re.fullmatch(r"https://[^\s@\"'\\]+", url):
        raise ValueError(f"repository.url in _config.yml must be an https URL, got {url!r}")
    if not isinstance(branch, str) or not re.fullmatch(r"[\w./-]+", branch):
        raise ValueError(f"repository.branch in _config.yml must be a branch name, got {branch!r}")
    return f"git+{url.removesuffix('/')}@{branch}"


def requirement_name(kind):
    """``coursekit`` with the extra a notebook of ``kind`` ("lab" or "solution") needs."""
    if kind == "lab":
        return f"coursekit[{LAB_EXTRA}]"
    if kind == "solution":
        return "coursekit"
    raise ValueError(f"kind must be 'lab' or 'solution', got {kind!r}")


def cell_source(kind, root=ROOT):
    """The text of the setup cell for a notebook of ``kind`` ("lab" or "solution")."""
    return TEMPLATE.format(location=install_location(root), requirement_name=requirement_name(kind),
                           torch_index=TORCH_CPU_INDEX).rstrip("\n")


def kind_of(path):
    """"lab" for ``*-lab.ipynb``, "solution" for a notebook under ``solutions/``."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"path must be a notebook (.ipynb), got {path}")
    if path.name.endswith("-lab.ipynb"):
        return "lab"
    if "solutions" in path.parts:
        return "solution"
    raise ValueError(f"path must be a lab (*-lab.ipynb) or a solutions notebook, got {path}")


def setup_cell(kind, root=ROOT):
    """A new code cell holding the setup: collapsed in the book; locked for nbgrader."""
    cell = nbformat.v4.new_code_cell(cell_source(kind, root))
    cell.id = CELL_ID
    cell.metadata["tags"] = ["hide-input"]
    if kind == "solution":
        cell.metadata["nbgrader"] = dict(NBGRADER)
    return cell


def with_setup_cell(notebook, kind, root=ROOT):
    """``notebook`` with its setup cell current: replaced where it is, else inserted after the
    title (the first cell when that is markdown), so it is the first code cell."""
    new = setup_cell(kind, root)
    for index, cell in enumerate(notebook.cells):
        if cell.get("id") == CELL_ID:
            new.metadata = {**cell.metadata, **new.metadata}
            notebook.cells[index] = new
            break
    else:
        first_is_title = notebook.cells and notebook.cells[0].cell_type == "markdown"
        notebook.cells.insert(1 if first_is_title else 0, new)
    return notebook


def notebooks(root=ROOT):
    """Every lab and every solutions notebook of the course, sorted."""
    root = Path(root)
    labs = [p for p in (root / "book").rglob("*-lab.ipynb")
            if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts]
    return sorted(labs) + sorted((root / "solutions").glob("*/*.ipynb"))


def refresh(path, root=ROOT, check=False):
    """Bring the setup cell of the notebook at ``path`` up to date; True if it was (or, with
    ``check``, would be) changed. Writes only when something changes."""
    path = Path(path)
    text = path.read_text()
    notebook = nbformat.reads(text, as_version=4)
    updated = nbformat.writes(with_setup_cell(notebook, kind_of(path), root)) + "\n"
    if updated == text:
        return False
    if not check:
        nbformat.validate(nbformat.reads(updated, as_version=4))
        path.write_text(updated)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        help="notebooks (default: every lab and solutions notebook)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook's setup cell is not current")
    args = parser.parse_args(argv)
    paths = args.paths or notebooks()
    changed = [path for path in paths if refresh(path, check=args.check)]
    for path in changed:
        print(("stale: " if args.check else "refreshed: ") + str(path))
    if args.check and changed:
        print("run: python tools/setup_cells.py", file=sys.stderr)
        return 1
    if any(kind_of(path) == "solution" for path in changed) and not args.check:
        print("solutions changed: run `make exercises` to regenerate exercises/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
