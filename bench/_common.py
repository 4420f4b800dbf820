"""Shared helpers of the benchmark scripts: options, machine description, timing, tables.

Every script in ``bench/`` takes the same options (:func:`parse_args`): ``--quick`` (a smoke
test of under a minute, on smaller data and one repetition) and ``--output FOLDER`` (where the
Markdown results go; ``bench/results`` by default). Each writes one Markdown file that starts
with the machine, the library versions and the date (:func:`machine_lines`) and holds a table
(:func:`markdown_table`) whose timings are medians with their spread (:func:`spread`).
"""

import argparse
import datetime
import importlib
import importlib.metadata
import os
import pathlib
import platform
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(description, argv=None, device=False):
    """The common options: ``--quick``, ``--output FOLDER``, ``--repetitions N``, and with
    ``device`` also ``--device cpu|cuda``."""
    parser = argparse.ArgumentParser(description=description)
    if device:
        parser.add_argument(
            "--device", choices=["cpu", "cuda"], default="cpu",
            help="cuda: also train coursekit on the GPU (default: cpu only)",
        )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke test (< 60 s): small data, 1 repetition"
    )
    parser.add_argument(
        "--output", type=pathlib.Path, default=RESULTS,
        help="folder for the Markdown results (default: bench/results)",
    )
    parser.add_argument(
        "--repetitions", type=int, default=None, help="override the number of repetitions"
    )
    return parser.parse_args(argv)


def set_threads():
    """Let torch use every core (NumPy's BLAS follows OMP_NUM_THREADS); returns the count."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    return torch.get_num_threads()


def cpu_model():
    """The CPU's model name from ``/proc/cpuinfo`` (or ``platform.processor()``)."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions(*packages):
    """``"name version"`` for each package, comma-separated: the installed distribution's
    version, else the ``__version__`` of a module imported from a checkout."""
    found = []
    for name in packages:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            try:
                version = importlib.import_module(name).__version__
                found.append(f"{name} {version} (imported, not installed)")
            except (ImportError, AttributeError):
                found.append(f"{name} (not installed)")
    return ", ".join(found)


class LoadMonitor:
    """Load averages (1 minute) at the start and the end of a run, to judge its timings."""

    def __init__(self):
        self.start = os.getloadavg()[0]
        self.started = time.perf_counter()

    def lines(self, paired=True):
        """The load line; ``paired``: the comparison ran both sides interleaved."""
        end = os.getloadavg()[0]
        note = (" (both sides of each comparison ran interleaved, so their ratio is fairer than "
                "either time)") if paired else ""
        minutes = (time.perf_counter() - self.started) / 60
        return [
            (f"- load average (1 min): {self.start:.2f} at the start, {end:.2f} at the end of "
            f"this {minutes:.1f}-minute run, on {os.cpu_count()} logical CPUs. A load above the "
            f"CPU count means other processes shared the machine and the timings are noisy{note}."),
        ]


def machine_lines(packages, quick):
    """Markdown bullet lines: date, machine, Python and library versions, setting."""
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    return [
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        (f"- machine: {cpu_model()}, `nproc` = {os.cpu_count()}, OMP_NUM_THREADS={threads}, "
        f"{platform.system()} {platform.release()}"),
        f"- Python {platform.python_version()}; {versions(*packages)}",
        f"- setting: {'QUICK (smoke test, small data; not a result)' if quick else 'full'}",
    ]


def spread(values, digits=3):
    """``median [min, max]`` of a list of numbers, as text."""
    if not values:
        return "—"
    fmt = f"{{:.{digits}g}}"
    median = fmt.format(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} [{fmt.format(min(values))}, {fmt.format(max(values))}]"


def timed(function, *args, **kwargs):
    """``(result, seconds)`` of one call, by ``time.perf_counter``."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def markdown_table(header, rows):
    """A Markdown table: ``header`` a list of column names, ``rows`` lists of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def write(output, name, lines):
    """Write ``lines`` to ``output/name`` (creating the folder); print and return the path."""
    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / name
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {path}")
    return path
