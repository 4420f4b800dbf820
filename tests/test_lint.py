"""The Python code follows the project's ruff rules (pyproject.toml [tool.ruff])."""

import subprocess

from tests.conftest import BIN, ROOT


def test_ruff_finds_nothing_to_fix():
    result = subprocess.run([str(BIN / "ruff"), "check", str(ROOT)], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
