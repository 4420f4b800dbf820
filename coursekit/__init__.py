"""coursekit: the models, data loaders, plots and widgets of the course
*Neural Networks without a Teacher*.

Every lab and exercise imports this one package. Modules are organised by concept
(``distances``, ``clustering``, ``som``, ...), not by chapter, so later chapters reuse
earlier models.
"""

import os

__version__ = "0.1.0"

QUICK_ENV = "COURSEKIT_QUICK"


def quick_setting() -> bool:
    """True when labs should run in the *quick* setting (tests, CI).

    The one switch is the environment variable ``COURSEKIT_QUICK``: set it to ``1``
    (``COURSEKIT_QUICK=1 make book``) and every lab's parameters cell picks its small
    sizes. Unset, ``0`` or empty means the full setting a student sees.
    """
    value = os.environ.get(QUICK_ENV, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{QUICK_ENV} must be 1 or 0 (true/false), got {value!r}")
