"""One convention for every classical estimator of coursekit (issue 16).

The same idea has the same name and the same checks in KMeans, GaussianMixture,
KohonenNetwork, LVQ and SOM; every hyper-parameter after the first is keyword-only, so a call
reads the same whichever estimator it builds.
"""

import inspect

import numpy as np
import pytest

from coursekit.clustering import GaussianMixture, KMeans
from coursekit.competitive import LVQ, KohonenNetwork
from coursekit.som import SOM

ESTIMATORS = [KMeans, GaussianMixture, KohonenNetwork, LVQ, SOM]
ITERATIVE = [KMeans, GaussianMixture, KohonenNetwork, LVQ]  # the ones with max_iter and tol


def fit(estimator, **params):
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = np.arange(30) % 2
    return estimator(**params).fit(X, y)


def leading_parameters(estimator):
    """The parameters that may be passed by position."""
    parameters = list(inspect.signature(estimator.__init__).parameters.values())[1:]
    return [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]


@pytest.mark.parametrize("estimator", [KMeans, GaussianMixture, KohonenNetwork, LVQ])
def test_only_the_size_of_the_model_may_be_passed_by_position(estimator):
    assert len(leading_parameters(estimator)) == 1


def test_the_som_takes_its_two_grid_sides_by_position():
    assert leading_parameters(SOM) == ["rows", "cols"]


@pytest.mark.parametrize("estimator", [KohonenNetwork, LVQ])
def test_a_second_positional_argument_is_refused(estimator):
    with pytest.raises(TypeError):
        estimator(2, 0.1)


@pytest.mark.parametrize("estimator", ITERATIVE)
def test_max_iter_zero_is_refused_by_every_iterative_estimator(estimator):
    with pytest.raises(ValueError, match="max_iter"):
        fit(estimator, max_iter=0)


@pytest.mark.parametrize("estimator", ITERATIVE)
def test_a_negative_tol_is_refused_by_every_iterative_estimator(estimator):
    with pytest.raises(ValueError, match="tol"):
        fit(estimator, tol=-1.0)


@pytest.mark.parametrize("estimator", [KohonenNetwork, SOM])
def test_the_kernel_width_is_called_sigma_and_must_be_positive(estimator):
    assert "sigma" in inspect.signature(estimator.__init__).parameters
    with pytest.raises(ValueError, match="sigma"):
        fit(estimator, sigma=0.0)


@pytest.mark.parametrize("estimator", [KohonenNetwork, LVQ])
def test_init_random_starts_from_distinct_objects_of_the_sample(estimator):
    # with a step of 1e-12 the fitted vectors are still the starting ones
    X = np.random.default_rng(1).normal(size=(40, 3))
    model = estimator(init="random", lr=1e-12, max_iter=1, random_state=0)
    model.fit(X, np.arange(40) % 2)
    vectors = model.cluster_centers_ if estimator is KohonenNetwork else model.prototypes_
    rows = [np.flatnonzero(np.all(np.isclose(X, v, atol=1e-9), axis=1)) for v in vectors]
    assert all(len(r) == 1 for r in rows)
    assert len({int(r[0]) for r in rows}) == len(vectors)


def test_the_som_calls_its_tiny_weights_start_small_not_random():
    with pytest.raises(ValueError, match="init must be one of"):
        fit(SOM, rows=2, cols=2, init="random")
    weights = fit(SOM, rows=2, cols=2, epochs=1, init="small", lr=1e-12, lr_end=1e-12,
                  random_state=0).weights_
    assert np.all(np.abs(weights) <= 1 / (2 * 4))
