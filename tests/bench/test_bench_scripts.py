"""Every benchmark script runs in its --quick setting and writes a well-formed Markdown table.

The scripts are smoke-tested only: their numbers depend on the machine. Each one is run as a
user would (``python bench/<script>.py --quick --output FOLDER``) into a temporary folder.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(path for path in BENCH.glob("*.py") if not path.name.startswith("_"))


def tables(text):
    """The Markdown tables of ``text``: lists of rows, each a list of cells."""
    found, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|") and line.endswith("|"):
            current.append([cell.strip() for cell in line.strip("|").split("|")])
        elif current:
            found.append(current)
            current = []
    return found


def test_there_are_benchmark_scripts():
    assert {"som_vs_minisom.py", "clustering_vs_sklearn.py", "course_operations.py",
            "grading_throughput.py"} <= {
        path.name for path in SCRIPTS
    }


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_quick_run_writes_a_markdown_table(script, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    usage = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                           text=True, timeout=300, env=env, check=False).stdout
    assert "--output" in usage, f"{script.name} needs an --output FOLDER option to be tested"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=900, env=env, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    written = list(tmp_path.glob("*.md"))
    assert len(written) == 1, written
    text = written[0].read_text()
    assert text.startswith("# ")
    assert "QUICK" in text and "machine:" in text and "date:" in text
    found = tables(text)
    assert found, text
    for table in found:
        header, separator, *rows = table
        assert all(set(cell) <= {"-", ":"} and cell for cell in separator), separator
        assert len(separator) == len(header)
        assert rows, f"a table without rows in {written[0].name}"
        assert all(len(row) == len(header) for row in rows), table


def test_som_benchmark_on_a_gpu_refuses_a_machine_without_one():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    result = subprocess.run(
        [sys.executable, str(BENCH / "som_vs_minisom.py"), "--quick", "--device", "cuda"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 1
    assert "--device cuda needs a CUDA GPU" in result.stderr
