"""The workflow that publishes the book builds it with the README's command and deploys the
folder that command writes, on every push to main."""

import re

import yaml

from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def steps(job):
    return workflow()["jobs"][job]["steps"]


def readme_commands():
    """The commands of the README's quick start block (`make book`, `make test`)."""
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(),
                      re.DOTALL).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_workflow_runs_on_every_push_to_main():
    triggers = workflow()[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"]


def test_workflow_builds_the_book_with_the_readmes_command():
    assert "make book" in readme_commands()
    assert [s["run"] for s in steps("build") if "run" in s] == ["make book"]


def test_workflow_deploys_the_folder_make_book_writes():
    makefile = (ROOT / "Makefile").read_text()
    assert "_build/html/index.html" in makefile  # where `make book` says the book is
    [upload] = [s for s in steps("build") if s.get("uses", "").startswith(
        "actions/upload-pages-artifact")]
    assert upload["with"]["path"] == "_build/html"
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in steps("deploy"))


def test_workflow_caches_the_executed_notebooks_where_jupyter_book_keeps_them():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache"  # jupyter-cache in _build/
    [cache] = [s for s in steps("build") if s.get("uses", "").startswith("actions/cache")]
    assert cache["with"]["path"] == "_build/.jupyter_cache"


def test_workflow_uses_the_python_the_project_requires():
    [setup] = [s for s in steps("build") if s.get("uses", "").startswith("actions/setup-python")]
    assert "3.11" in (ROOT / "pyproject.toml").read_text().split("requires-python")[1][:20]
    assert setup["with"]["python-version"] == "3.11"
