"""nbgrader configuration for the course *Neural Networks without a Teacher*.

nbgrader reads this file from the folder it runs in; `python -m grading` (the Makefile's
`make exercises`, `make grade`, `make feedback`) loads it too. Every path is relative to this
file's folder, the repository root.

Environment overrides:
  COURSEKIT_GRADEBOOK_URL  SQLAlchemy URL of the gradebook, e.g.
                           postgresql+psycopg://grader:secret@db.example.org/nnwt
                           (needs `pip install psycopg`); default: SQLite gradebook.db here.
  COURSEKIT_CELL_TIMEOUT   seconds one cell may run while autograding (default 60).
"""

import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

ROOT = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:  # so the course's own preprocessors (grading/) import from any folder
    sys.path.insert(0, ROOT)

from grading.preprocessors import (
    BoundedExecute,
    HideHiddenTestTracebacks,
    OverwriteKnownCells,
    RemoveLeakedHiddenTests,
)

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

# --- folders: solutions/ is the instructor's source, exercises/ the student release ---------
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# submitted/<student>/<assignment>/, autograded/..., feedback/... keep nbgrader's defaults.
# python -m grading grade keeps each submission's whole nbgrader log, for instructors only, in
# autograded/<student>/<assignment>.log: outside the folders nbgrader copies into feedback/.
c.CourseDirectory.db_url = os.environ.get("COURSEKIT_GRADEBOOK_URL") or (
    "sqlite:///" + os.path.join(ROOT, "gradebook.db")
)

# --- time limits ----------------------------------------------------------------------------
# One limit per cell. Training cells of later assignments may need more: add their grade_id
# here (e.g. "train_som": 300) rather than raising the limit for every cell.
CELL_TIMEOUT = int(os.environ.get("COURSEKIT_CELL_TIMEOUT", "60"))
LONG_CELL_TIMEOUTS = {
    "vae_setup": 120,  # Assignment 4: imports torch and matplotlib (3-8 s on a busy machine)
    "vae_train": 300,  # Assignment 4: trains the VAE (about 5 s graded, 1-2 min for students)
    "train_som": 120,  # Assignment 2: trains an 8 x 10 map of house-votes and draws it
    "ae_setup": 120,  # Assignment 3: imports torch and its optimizers (3-8 s on a busy machine)
    "gan_setup": 120,  # Assignment 5: imports torch and matplotlib (3-8 s on a busy machine)
    "gan_train": 120,  # Assignment 5: 2,000 GAN steps on the ring (about 10 s of CPU)
    "rbm_setup": 120,  # Assignment 6: imports torch (3-8 s on a busy machine)
}


def cell_timeout(cell):
    """Seconds the autograder lets `cell` run: its entry in LONG_CELL_TIMEOUTS or CELL_TIMEOUT."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return LONG_CELL_TIMEOUTS.get(grade_id, CELL_TIMEOUT)


c.Execute.timeout = CELL_TIMEOUT
c.Execute.timeout_func = cell_timeout
# On a timeout stop grading the submission (python -m grading records it as failed, with the
# reason) instead of interrupting the kernel: a loop that swallows KeyboardInterrupt survives
# the interrupt, and every later cell would then wait out its own full timeout.
c.Execute.interrupt_on_timeout = False
# A kernel that goes quiet after replying must not abort the whole autograde run.
c.Execute.raise_on_iopub_timeout = False

# --- tampering ------------------------------------------------------------------------------
# Test cells a student deleted (or stripped of metadata) are put back and run, instead of being
# silently skipped. Edited locked cells are restored from the source by nbgrader's checksums.
c.OverwriteCells.add_missing_cells = True
# nbgrader's default sanitizing steps, with OverwriteCells replaced by a subclass that turns
# cells unknown to the gradebook (made-up tests, tests of an older release) into plain cells
# instead of failing the whole submission.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteKnownCells,
    CheckCellMetadata,
]

# nbgrader's default autograding steps, with Execute replaced by a subclass that stops keeping
# a cell's output past 100,000 characters while it runs (a printing loop would otherwise fill
# the grader's memory before the cell's time limit), and that starts the notebook's kernel in
# the bubblewrap sandbox `python -m grading grade` prepared (grading/sandbox.py: no network,
# no view of the course, an unprivileged user, limits; --unsafe-no-sandbox turns it off; run
# directly, `nbgrader autograde` refuses to start a kernel). Its Execute settings above apply.
c.Autograde.autograde_preprocessors = [
    BoundedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# The memory cap (python -m grading grade --memory-gb, default 4 GiB) and the tampering check
# (grading/integrity.py) live in the grading command, outside nbgrader.

# --- feedback -------------------------------------------------------------------------------
# Students see the visible tests and their own code, never the hidden tests: outputs that quote
# a hidden test (a student cell printing IPython's history, In/_ih) are replaced by a note, the
# tracebacks of cells that hold hidden tests are cut to their last line (they would quote the
# hidden code), then the hidden regions themselves are removed.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    CSSHTMLHeaderPreprocessor,
    RemoveLeakedHiddenTests,
    HideHiddenTestTracebacks,
    ClearHiddenTests,
]
