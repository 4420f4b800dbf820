"""coursekit.summary against NumPy's and SciPy's own statistics, and bad input."""

import numpy as np
import pytest
import scipy.stats

from coursekit.summary import confidence_interval, mean_sd


def test_mean_sd_writes_the_mean_and_the_sample_sd():
    assert mean_sd([1.0, 2.0, 4.0]) == f"2.33 ± {np.std([1, 2, 4], ddof=1):.2f}"


def test_mean_sd_formats_both_numbers_with_the_given_spec():
    assert mean_sd([0.5, 0.7], ".3f") == "0.600 ± 0.141"


def test_mean_sd_accepts_a_tensor_of_values():
    torch = pytest.importorskip("torch")
    assert mean_sd(torch.tensor([1.0, 3.0]), ".1f") == "2.0 ± 1.4"


@pytest.mark.parametrize("values", [[1.0], [], [[1.0, 2.0]], [1.0, np.nan]])
def test_mean_sd_rejects_fewer_than_two_finite_values(values):
    with pytest.raises(ValueError, match="values"):
        mean_sd(values)


def test_mean_sd_rejects_a_spec_that_is_not_a_string():
    with pytest.raises(TypeError, match="spec"):
        mean_sd([1.0, 2.0], 2)


def test_confidence_interval_equals_scipy_t_interval():
    values = np.random.default_rng(0).uniform(size=50)
    mean, half = confidence_interval(values, 0.95)
    low, high = scipy.stats.t.interval(0.95, len(values) - 1, loc=values.mean(),
                                       scale=scipy.stats.sem(values))
    assert mean == pytest.approx((low + high) / 2, abs=1e-12)
    assert half == pytest.approx((high - low) / 2, abs=1e-12)


def test_confidence_interval_rejects_a_level_outside_zero_one():
    with pytest.raises(ValueError, match="level"):
        confidence_interval([0.1, 0.2, 0.3], level=1.5)
