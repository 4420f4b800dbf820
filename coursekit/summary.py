"""Summaries of a number measured several times (over seeds, over episodes).

The book compares two methods only over several seeds: ``mean_sd`` writes the result as
"mean ± sd" for the prose, and ``confidence_interval`` gives the Student-t interval of the mean.
"""

import numpy as np
import scipy.stats

from coursekit.validation import check_positive_float


def mean_sd(values, spec=".2f"):
    """``"mean ± sd"`` of ``values``, each formatted with ``spec`` (the sd is the sample one,
    with ``n - 1`` degrees of freedom, so at least two values are needed)."""
    values = _repeated_measurements(values)
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a format spec such as '.2f', got {type(spec).__name__}")
    return f"{values.mean():{spec}} ± {values.std(ddof=1):{spec}}"


def confidence_interval(values, level=0.95):
    """``(mean, half_width)`` of the Student-t interval for the mean of ``values``:
    ``mean +- t_{(1+level)/2, n-1} * sd / sqrt(n)`` (``sd`` with ``n - 1`` degrees)."""
    values = _repeated_measurements(values)
    level = check_positive_float(level, "level")
    if level >= 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n = len(values)
    sem = values.std(ddof=1) / np.sqrt(n)
    return float(values.mean()), float(scipy.stats.t.ppf((1 + level) / 2, n - 1) * sem)


def _repeated_measurements(values):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) < 2 or not np.all(np.isfinite(values)):
        raise ValueError(f"values must be a 1-D array of at least 2 finite numbers, got "
                         f"shape {values.shape}")
    return values
