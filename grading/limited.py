"""``python -m grading.limited GIB COMMAND...``: run COMMAND with its address space capped.

The cap (RLIMIT_AS) is inherited by COMMAND's children, here nbgrader and the notebook's kernel.
Setting it in this small process, which then replaces itself with COMMAND, avoids
``preexec_fn``, which is unsafe in the grader's worker threads.
"""

import os
import resource
import sys


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: python -m grading.limited GIB COMMAND...")
    limit = int(float(argv[0]) * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
