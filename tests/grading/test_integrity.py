"""grading.integrity reads student code outside the kernel and names every way it reaches into
what the tests rely on; honest solutions raise nothing."""

import nbformat
import pytest

from grading.integrity import check_cell, check_notebook
from tests.grading.harness import REPO

LOCKED = {"np": "import numpy", "cdist": "from scipy.spatial.distance import cdist",
          "library_calls": "def library_calls"}

TAMPERING = {
    "patched comparison function": "np.allclose = lambda *args, **kwargs: True",
    "patched assert helper": "np.testing.assert_allclose = print",
    "assert helper patched through an alias": "t = np.testing\nt.assert_allclose = print",
    "assert helper patched through getattr": "getattr(np, 'testing').assert_allclose = print",
    "module patched in a loop": "for m in [np]:\n    m.allclose = print",
    "always-equal result": "class Anything:\n    def __eq__(self, other):\n        return True",
    "truthy result": "class Yes:\n    __bool__ = lambda self: True",
    "patched builtins": "import builtins\nbuiltins.abs = lambda x: 0",
    "setattr with a built name": "setattr(np, 'all' + 'close', print)",
    "exec of hidden code": "exec('np.allclose = print')",
    "rebound numpy": "np = None",
    "numpy replaced by another module": "import torch as np",
    "redefined locked helper": "def library_calls(function):\n    return []",
    "locked import shadowed": "def cdist(a, b, metric='euclidean'):\n    return 0",
    "global rebinding inside a function": "def f():\n    global np\n    np = 3\nf()",
    "module dict": "np.__dict__['allclose'] = print",
    "function globals": "g = (lambda: 0).__globals__",
    "frame inspection": "import inspect\nf = inspect.currentframe().f_back",
    "sys.modules": "import sys\nsys.modules['numpy'] = None",
    "mock": "from unittest import mock",
    "IPython magic": "%run cheat.py",
    "shell escape": "!cp answers.py .",
    "type patched": "type(x).__eq__ = lambda a, b: True",
    "sys.modules through an alias": "import sys as s\ns.modules['numpy'] = None",
    "sys hook imported by name": "from sys import modules",
    "sys read through getattr": "import sys\ngetattr(sys, 'modu' + 'les')['numpy'] = None",
    "sys handed on under another name": "import sys\ns = sys\ns.modules['numpy'] = None",
    "frame through sys": "import sys\nf = sys._getframe(1)",
    "patching inside a timed line": "%time np.allclose = print",
    "patching inside a timed cell": "%%time\nx = 1\nnp.allclose = print",
    "another cell magic": "%%bash\ncp answers.py .",
    "a cell magic below the first line": "x = 1\n%%time\ny = 2",
}

HONEST = {
    "a vectorised solution": (
        "def manhattan(X, W):\n    X = np.asarray(X, dtype=float)\n"
        "    return np.abs(X[:, None, :] - np.asarray(W)[None]).sum(axis=2)"),
    "the same import again": "import numpy as np\nfrom scipy.spatial.distance import cdist",
    "a torch module": (
        "import torch\nclass Encoder(torch.nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.layer = torch.nn.Linear(4, 2)\n"
        "    def forward(self, x):\n        return self.layer(x)"),
    "a dataset class": (
        "class Pairs:\n    def __len__(self):\n        return 3\n"
        "    def __getitem__(self, i):\n        return i"),
    "local names that shadow nothing global": "def f(np_values):\n    cdist_ = np_values\n    return cdist_",
    "attributes of own objects": "model = make_model()\nmodel.weight = 3\nresults = {}\nresults['a'] = 1",
    "main guard": "if __name__ == '__main__':\n    print('hi')",
}

# What honest students write around their answers (issue: these were flagged as tampering).
HONEST_IDIOMS = {
    "%time": "%time distances = manhattan(X, W)",
    "%%time": "%%time\ndistances = manhattan(X, W)\nprint(distances.shape)",
    "%timeit": "%timeit manhattan(X, W)",
    "%timeit with options": "%timeit -n 3 -r 2 manhattan(X, W)",
    "%%timeit with options": "%%timeit -n 10\nmanhattan(X, W)",
    "%matplotlib inline": "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])",
    "import sys to print a version": "import sys\nprint(sys.version)",
    "sys.exit to give up": "import sys\nsys.exit('not finished')",
    "a dataclass": (
        "from dataclasses import dataclass\n\n@dataclass\nclass Point:\n    x: float\n"
        "    y: float"),
    "a frozen dataclass with a default factory": (
        "from dataclasses import dataclass, field\n\n@dataclass(frozen=True)\nclass Run:\n"
        "    seed: int\n    losses: list = field(default_factory=list)"),
}


@pytest.mark.parametrize("source", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_is_found(source):
    assert check_cell(source, "answer", LOCKED)


@pytest.mark.parametrize("source", HONEST.values(), ids=HONEST.keys())
def test_honest_code_is_not_flagged(source):
    assert check_cell(source, "answer", LOCKED) == []


@pytest.mark.parametrize("source", HONEST_IDIOMS.values(), ids=HONEST_IDIOMS.keys())
def test_honest_idioms_are_not_flagged(source):
    assert check_cell(source, "answer", LOCKED) == []


def test_a_timed_line_keeps_its_line_number_in_a_finding():
    [finding] = check_cell("%%time\nx = 1\nnp.allclose = print", "answer", LOCKED)
    assert finding.line == 3


def test_finding_names_the_cell_and_the_line():
    [finding] = check_cell("x = 1\nnp.allclose = print", "minkowski", LOCKED)
    assert (finding.cell, finding.line) == ("minkowski", 2)
    assert "np.allclose" in str(finding)


SOURCES = sorted((REPO / "solutions").glob("*/*.ipynb"))


def locked_sources(notebook):
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("locked")}


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_reference_solutions_are_not_flagged(path):
    notebook = nbformat.read(path, as_version=4)
    assert check_notebook(notebook, trusted=locked_sources(notebook)) == []


def test_forged_locked_metadata_does_not_hide_a_cell():
    notebook = nbformat.read(SOURCES[0], as_version=4)
    trusted = locked_sources(notebook)
    forged = nbformat.v4.new_code_cell("np.allclose = print")
    forged.metadata["nbgrader"] = {"grade_id": "my_own_locked_cell", "locked": True}
    notebook.cells.append(forged)
    assert [f.cell for f in check_notebook(notebook, trusted)] == ["my_own_locked_cell"]


def test_a_copy_of_a_locked_cell_is_checked():
    notebook = nbformat.read(SOURCES[0], as_version=4)
    trusted = locked_sources(notebook)
    grade_id = next(iter(trusted))
    copy = nbformat.v4.new_code_cell("np.allclose = print")
    copy.metadata["nbgrader"] = {"grade_id": grade_id, "locked": True}
    notebook.cells.append(copy)
    assert [f.cell for f in check_notebook(notebook, trusted)] == [grade_id]
