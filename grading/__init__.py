"""The course's grading pipeline on top of nbgrader: ``python -m grading release|grade|feedback``.

* ``release``  (``make exercises``): solutions/ -> exercises/, byte-identical run to run.
* ``grade``    (``make grade``):     autograde submitted/, write grades.csv with a status per row.
* ``feedback`` (``make feedback``):  feedback/ HTML for autograded submissions, hidden tests removed.

Configuration lives in ``nbgrader_config.py`` at the repository root; see ``grading.course``.
Keep this module light: ``nbgrader_config.py`` imports ``grading.preprocessors`` on every
nbgrader run.
"""
