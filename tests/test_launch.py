"""Every lab and exercise launches anywhere: Colab, Binder, a bare JupyterHub.

Each lab and solutions notebook opens with the setup cell tools/setup_cells.py writes; it installs
coursekit from the source set in _config.yml where coursekit is missing and does nothing where
it is installed. The Binder configuration (binder/) installs the checkout with the pinned
versions and the extra the labs need. The slow test runs a lab's setup cell in a fresh virtual
environment that lacks coursekit, with the source pointed at a wheel built from the checkout.
"""

import ast
import functools
import importlib.metadata
import inspect
import os
import re
import shutil
import subprocess
import sys
import tomllib

import nbformat
import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from grading.grade import locked_cells
from grading.integrity import check_cell, check_notebook
from tests.conftest import ROOT
from tools import setup_cells

NOTEBOOKS = setup_cells.notebooks(ROOT)
LABS = [p for p in NOTEBOOKS if p.name.endswith("-lab.ipynb")]
SOLUTIONS = [p for p in NOTEBOOKS if "solutions" in p.relative_to(ROOT).parts]
BINDER = ROOT / "binder"


def ident(path):
    return path.stem


def setup_cell_of(notebook):
    [cell] = [c for c in notebook.cells if c.get("id") == setup_cells.CELL_ID]
    return cell


def config():
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# --- the setup cell in every notebook --------------------------------------------------------

def test_there_are_labs_and_solutions_notebooks():
    assert len(LABS) >= 15 and len(SOLUTIONS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ident)
def test_notebook_carries_the_current_setup_cell(path):
    assert not setup_cells.refresh(path, check=True), (
        f"{path.relative_to(ROOT)} lacks the current setup cell: run python tools/setup_cells.py"
        + (" and make exercises" if path in SOLUTIONS else ""))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ident)
def test_setup_cell_is_the_first_code_cell(path):
    notebook = nbformat.read(path, as_version=4)
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert first.get("id") == setup_cells.CELL_ID


def test_setup_cell_installs_from_the_repository_url_and_branch_of_the_config():
    repository = config()["repository"]
    expected = f"git+{repository['url']}@{repository['branch']}"
    assert f'"{expected}"' in setup_cells.cell_source("lab")
    assert f'"{expected}"' in setup_cells.cell_source("solution")


def test_labs_install_the_extra_the_book_pages_need_and_exercises_the_package_alone():
    assert '"coursekit[book] @ "' in setup_cells.cell_source("lab")
    assert '"coursekit @ "' in setup_cells.cell_source("solution")


def test_a_fork_changes_the_source_in_config_alone(tmp_path):
    fork = config()
    fork["repository"]["url"] = "https://gitlab.example.org/someone/course"
    fork["repository"]["branch"] = "spring-2027"
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(fork))
    source = setup_cells.cell_source("lab", root=tmp_path)
    assert '"git+https://gitlab.example.org/someone/course@spring-2027"' in source
    assert "github.com" not in source


@pytest.mark.parametrize("url", [None, "http://insecure.example.org/c", "https://x.org/a b",
                                 'https://x.org/"; import os'])
def test_a_bad_repository_url_is_a_value_error_naming_it(tmp_path, url):
    bad = config()
    bad["repository"]["url"] = url
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match=r"repository\.url"):
        setup_cells.cell_source("lab", root=tmp_path)


def test_a_notebook_that_is_neither_lab_nor_solution_is_refused(tmp_path):
    with pytest.raises(ValueError, match="path"):
        setup_cells.kind_of(tmp_path / "notes.ipynb")


def test_setup_cell_does_not_import_coursekit():
    tree = ast.parse(setup_cells.cell_source("lab"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "coursekit" for name in imported)


def test_setup_cell_is_short():
    assert len(setup_cells.cell_source("lab").splitlines()) <= 15


@pytest.mark.parametrize("path", LABS, ids=ident)
def test_lab_setup_cell_is_collapsed_in_the_book(path):
    lab = setup_cells.with_setup_cell(nbformat.read(path, as_version=4), "lab")
    assert "hide-input" in setup_cell_of(lab).metadata["tags"]


def test_tool_inserts_the_cell_after_the_title_and_a_second_run_changes_nothing(tmp_path):
    lab = tmp_path / LABS[0].name
    shutil.copy(LABS[0], lab)
    before = nbformat.read(LABS[0], as_version=4)
    before.cells = [c for c in before.cells if c.get("id") != setup_cells.CELL_ID]
    nbformat.write(before, lab)

    assert setup_cells.refresh(lab) is True
    written = lab.read_bytes()
    assert setup_cells.refresh(lab) is False
    assert lab.read_bytes() == written
    after = nbformat.read(lab, as_version=4)
    assert after.cells[0].source == before.cells[0].source  # the title stays first
    assert after.cells[1].get("id") == setup_cells.CELL_ID
    assert [c.source for c in after.cells[2:]] == [c.source for c in before.cells[1:]]


def test_tool_replaces_a_stale_cell_in_place(tmp_path):
    solution = tmp_path / "solutions" / SOLUTIONS[0].parent.name / SOLUTIONS[0].name
    solution.parent.mkdir(parents=True)
    shutil.copy(SOLUTIONS[0], solution)
    notebook = setup_cells.with_setup_cell(nbformat.read(solution, as_version=4), "solution")
    setup_cell_of(notebook).source = "# an old setup cell\n!pip install coursekit"
    nbformat.write(notebook, solution)
    cells = len(notebook.cells)

    assert setup_cells.main(["--check", str(solution)]) == 1
    assert setup_cells.main([str(solution)]) == 0
    refreshed = nbformat.read(solution, as_version=4)
    assert len(refreshed.cells) == cells
    assert setup_cell_of(refreshed).source == setup_cells.cell_source("solution")
    assert setup_cells.main(["--check", str(solution)]) == 0


# --- nbgrader: locked in the source, read-only in the release, trusted by the grader ----------

@pytest.mark.parametrize("path", SOLUTIONS, ids=ident)
def test_solutions_setup_cell_is_a_locked_nbgrader_cell(path):
    cell = setup_cell_of(nbformat.read(path, as_version=4))
    assert cell.metadata["nbgrader"] == {"grade": False, "grade_id": setup_cells.CELL_ID,
                                         "locked": True, "schema_version": 3, "solution": False}


@pytest.mark.parametrize("path", SOLUTIONS, ids=ident)
def test_release_keeps_the_setup_cell_read_only(path):
    released = ROOT / "exercises" / path.parent.name / path.name
    cell = setup_cell_of(nbformat.read(released, as_version=4))
    assert cell.source == setup_cell_of(nbformat.read(path, as_version=4)).source
    assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False


@pytest.mark.parametrize("path", SOLUTIONS, ids=ident)
def test_grader_trusts_the_locked_setup_cell(path):
    released = nbformat.read(ROOT / "exercises" / path.parent.name / path.name, as_version=4)
    findings = check_notebook(released, trusted=locked_cells(path))
    assert not [f for f in findings if f.cell == setup_cells.CELL_ID]


def test_the_same_code_in_a_student_cell_is_flagged():
    # what makes the trust above matter: the cell uses importlib, which students may not
    assert check_cell(setup_cells.cell_source("solution"), "student", {})


# --- running the cell ------------------------------------------------------------------------

def run_cell(python, source, cwd, **env):
    """Run a setup cell's code in ``python`` (a fresh process, like a fresh kernel)."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in {"PYTHONPATH", "NBGRADER_EXECUTION", "COURSEKIT_SOURCE"}}
    environment.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **env)
    return subprocess.run([str(python), "-c", source], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=600, check=False)


def test_setup_cell_is_a_no_op_where_coursekit_is_installed(tmp_path):
    # were it to install, pip would fail on this source; nothing runs, nothing is printed
    result = run_cell(sys.executable, setup_cells.cell_source("lab"), tmp_path,
                      COURSEKIT_SOURCE=(tmp_path / "missing.whl").as_uri())
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


PROBE = """
import importlib.metadata, importlib.util
spec = importlib.util.find_spec("coursekit")
try:
    version = importlib.metadata.version("coursekit")
except importlib.metadata.PackageNotFoundError:
    version = None
print(spec.origin if spec else None, version)
"""


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A wheel built from the checkout, and a fresh venv without coursekit that sees the project
    venv's third-party packages (so that pip needs no network) through a folder of links that
    leaves out coursekit's editable install and its metadata."""
    tmp = tmp_path_factory.mktemp("launch")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "coursekit", source / "coursekit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--wheel-dir", str(tmp / "wheels"), str(source)],
                   check=True, timeout=300, capture_output=True)
    [wheel] = (tmp / "wheels").glob("coursekit-*.whl")

    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    project_site = next(p for p in map(str, sys.path) if p.endswith("site-packages")
                        and os.path.isdir(os.path.join(p, "torch")))
    links = tmp / "project-packages"
    links.mkdir()
    for entry in os.listdir(project_site):
        if "coursekit" in entry.lower() or entry.endswith(".pth"):
            continue
        (links / entry).symlink_to(os.path.join(project_site, entry))
    with open(os.path.join(site, "project-packages.pth"), "w") as pth:
        pth.write(str(links) + "\n")
    return python, wheel, site, tmp


def listing(folder):
    return sorted(os.listdir(folder))


@pytest.mark.slow
def test_fresh_venv_has_no_coursekit_but_the_third_party_packages(fresh):
    python, _, _, tmp = fresh
    result = run_cell(python, PROBE + "import torch, numpy, myst_nb", tmp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "None"]


@pytest.mark.slow
def test_setup_cell_never_installs_while_grading(fresh):
    python, wheel, site, tmp = fresh
    before = listing(site)
    result = run_cell(python, setup_cells.cell_source("solution"), tmp,
                      COURSEKIT_SOURCE=wheel.as_uri(), NBGRADER_EXECUTION="autograde")
    assert (result.returncode, result.stderr) == (0, "")
    assert listing(site) == before


@pytest.mark.slow
def test_a_labs_setup_cell_installs_coursekit_in_a_fresh_venv_then_does_nothing(fresh, tmp_path):
    python, wheel, site, tmp = fresh
    lab = tmp_path / LABS[0].name
    shutil.copy(LABS[0], lab)
    setup_cells.refresh(lab)
    cell = setup_cell_of(nbformat.read(lab, as_version=4)).source

    # the cell and then the lab's own import, in one process as in one kernel
    first = run_cell(python, cell + "\nimport coursekit\n" + PROBE, tmp,
                     COURSEKIT_SOURCE=wheel.as_uri())
    assert first.returncode == 0, first.stdout + first.stderr
    origin, version = first.stdout.split()
    assert origin.startswith(site) and version == "0.1.0"  # installed into the fresh venv
    installed = listing(site)
    assert any(name.startswith("coursekit-0.1.0.dist-info") for name in installed)

    # again: coursekit is there, so the cell does nothing (a missing wheel would fail pip)
    second = run_cell(python, cell, tmp, COURSEKIT_SOURCE=(tmp / "missing.whl").as_uri())
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    assert listing(site) == installed


# --- Binder (repo2docker) --------------------------------------------------------------------

def requirement_lines():
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_binder_python_is_the_python_the_project_requires():
    required = re.fullmatch(r">=(\d+\.\d+),<\d+\.\d+", pyproject()["project"]["requires-python"])
    assert (BINDER / "runtime.txt").read_text().strip() == f"python-{required.group(1)}"


def test_binder_installs_the_checkout_with_the_extra_the_labs_need():
    assert f".[{setup_cells.LAB_EXTRA}]" in requirement_lines()
    assert setup_cells.LAB_EXTRA in pyproject()["project"]["optional-dependencies"]


def test_binder_pins_every_version_by_the_projects_constraints():
    [constraint] = [line for line in requirement_lines() if line.startswith("-c ")]
    # pip reads a nested -c relative to the requirements file
    assert (BINDER / constraint.split(maxsplit=1)[1]).resolve() == ROOT / "constraints.txt"


def test_binder_and_setup_cell_take_torch_from_pytorchs_cpu_index():
    assert f"--extra-index-url {setup_cells.TORCH_CPU_INDEX}" in requirement_lines()
    assert setup_cells.TORCH_CPU_INDEX.endswith("/whl/cpu")


def test_constraints_pin_the_torch_that_pyproject_pins():
    [pinned] = [d for d in pyproject()["project"]["dependencies"] if d.startswith("torch")]
    constraints = (ROOT / "constraints.txt").read_text().splitlines()
    assert pinned.startswith("torch==") and pinned in constraints


def third_party_imports(path):
    """Top-level modules a notebook imports that are not in the standard library or coursekit."""
    modules = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines()
                         if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"coursekit"}


@functools.cache
def installed_closure(name, extras=()):
    """Distributions `pip install name[extras]` brings in, read from the installed metadata."""
    environment = default_environment()
    seen, todo = set(), [(name, tuple(extras))]
    while todo:
        dist, wanted = todo.pop()
        key = re.sub(r"[-_.]+", "-", dist).lower()
        if (key, wanted) in seen:
            continue
        seen.add((key, wanted))
        try:
            requires = importlib.metadata.requires(dist) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here, so nothing here can come from it
        for line in requires:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({**environment, "extra": extra})
                                     for extra in ("", *wanted)):
                todo.append((requirement.name, tuple(requirement.extras)))
    return {key for key, _ in seen}


@functools.cache
def module_providers():
    return importlib.metadata.packages_distributions()


def providers(module):
    names = module_providers().get(module, [module])
    return {re.sub(r"[-_.]+", "-", name).lower() for name in names}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ident)
def test_what_a_notebook_imports_comes_with_the_coursekit_its_setup_cell_installs(path):
    extras = (setup_cells.LAB_EXTRA,) if path in LABS else ()
    available = installed_closure("coursekit", extras)
    missing = {m for m in third_party_imports(path) if not providers(m) & available}
    assert not missing, f"{path.name} imports {missing}, which coursekit{list(extras)} lacks"


def test_postbuild_is_an_executable_bash_script():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK)
    assert post_build.read_text().startswith("#!/bin/bash\n")
    subprocess.run(["bash", "-n", str(post_build)], check=True)


def test_postbuild_fetches_every_data_set_the_notebooks_download():
    from coursekit import data

    downloading = {name for name, function in inspect.getmembers(data, inspect.isfunction)
                   if name.startswith("load_") and "download" in inspect.signature(function).parameters}
    used = {name for path in NOTEBOOKS for name in downloading
            if re.search(rf"\b{name}\(", path.read_text())}
    post_build = (BINDER / "postBuild").read_text()
    assert "load_fashion_mnist" in used
    assert {name for name in used if f"{name}(" not in post_build} == set()
    assert "load_fashion_mnist('train')" in post_build and "load_fashion_mnist('test')" in post_build
