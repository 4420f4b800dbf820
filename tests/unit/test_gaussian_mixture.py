"""coursekit.clustering.GaussianMixture and its E- and M-steps against independent references.

References: ``sklearn.mixture.GaussianMixture`` (mean log-likelihood reached),
``scipy.stats.multivariate_normal`` (densities, hence responsibilities), NumPy's weighted
mean and covariance (``np.average``, ``np.cov`` with ``aweights``: the M-step's closed form),
the lecture's identity ``ln P(X) - L = sum_i KL(g_i || P(. | x_i))``, and coursekit's KMeans
(the hard-assignment limit).

Tolerances. EM stops when the mean log-likelihood grows by less than ``tol = 1e-3`` per
iteration, and the two implementations stop one iteration apart, so fitted scores may differ
by about ``tol``: 2e-3 allows that. EM reaches a local maximum that depends on its k-means
start; the best of five seeds removes that dependence on these sets. Density and closed-form
comparisons are float64 arithmetic in a different order: rtol 1e-9.
"""

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn import datasets, mixture
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from coursekit.clustering import (
    GaussianMixture,
    KMeans,
    e_step,
    gaussian_log_density,
    lower_bound,
    m_step,
)

RTOL = 1e-9


@pytest.fixture(scope="module")
def iris():
    return datasets.load_iris().data


@pytest.fixture(scope="module")
def ellipses():
    """Three elongated, tilted blobs: full covariances matter here."""
    X, _ = datasets.make_blobs(450, centers=3, random_state=170)
    return X @ np.array([[0.6, -0.64], [-0.41, 0.85]])


@pytest.fixture
def parameters():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    means = rng.normal(size=(2, 3))
    factors = rng.normal(size=(2, 3, 3))
    covariances = factors @ factors.transpose(0, 2, 1) + np.eye(3)
    return X, np.array([0.3, 0.7]), means, covariances


@parametrize_with_checks([GaussianMixture(n_components=2, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --- against scikit-learn ---------------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("data", ["iris", "ellipses"])
def test_log_likelihood_at_least_as_good_as_sklearn(request, data, covariance_type):
    X = request.getfixturevalue(data)
    ours = max(GaussianMixture(3, covariance_type=covariance_type, random_state=seed)
               .fit(X).score(X) for seed in range(5))
    theirs = max(mixture.GaussianMixture(3, covariance_type=covariance_type, random_state=seed)
                 .fit(X).score(X) for seed in range(5))
    assert ours >= theirs - 2e-3


# --- EM: the likelihood never decreases -------------------------------------------------------


@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_log_likelihood_never_decreases_without_floor(iris, init_params):
    model = GaussianMixture(3, reg_covar=0.0, tol=0.0, max_iter=60, init_params=init_params,
                            random_state=0).fit(iris)
    steps = np.diff(model.log_likelihood_history_)
    assert len(steps) >= 20  # tol = 0: it runs until a step gains nothing (rounding)
    assert np.all(steps >= -1e-12)  # exact up to rounding of a mean of 150 logs


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_log_likelihood_never_decreases_with_default_floor(ellipses, covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, tol=0.0, max_iter=40,
                            init_params="random", random_state=1).fit(ellipses)
    assert np.all(np.diff(model.log_likelihood_history_) >= -1e-9)


def test_history_ends_at_the_fitted_score(iris):
    model = GaussianMixture(3, random_state=0).fit(iris)
    assert model.converged_
    assert len(model.log_likelihood_history_) == model.n_iter_ + 1
    assert model.log_likelihood_history_[-1] == pytest.approx(model.score(iris), rel=RTOL)
    assert model.lower_bound_ == model.log_likelihood_history_[-1]


# --- E-step and M-step against closed forms ---------------------------------------------------


def test_e_step_matches_scipy_densities(parameters):
    X, weights, means, covariances = parameters
    densities = np.column_stack([
        weight * multivariate_normal(mean, covariance).pdf(X)
        for weight, mean, covariance in zip(weights, means, covariances)
    ])
    g, log_likelihood = e_step(X, weights, means, covariances)
    np.testing.assert_allclose(g, densities / densities.sum(axis=1, keepdims=True), rtol=RTOL)
    np.testing.assert_allclose(log_likelihood, np.log(densities.sum(axis=1)), rtol=RTOL)


def test_diag_log_density_matches_scipy(parameters):
    X, _, means, _ = parameters
    variances = np.array([[0.5, 1.0, 2.0], [3.0, 0.2, 1.0]])
    expected = np.column_stack([multivariate_normal(m, np.diag(v)).logpdf(X)
                                for m, v in zip(means, variances)])
    np.testing.assert_allclose(gaussian_log_density(X, means, variances, "diag"), expected,
                               rtol=RTOL)


def test_full_log_density_matches_scipy_for_an_ill_conditioned_covariance():
    # L^-1 is formed explicitly (then one matrix product): it must stay accurate when the
    # covariance spans eight orders of magnitude, far from the data's mean.
    rng = np.random.default_rng(0)
    rotation = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    covariance = rotation @ np.diag([1e-4, 1e-2, 1.0, 1e4]) @ rotation.T
    mean = np.array([100.0, -50.0, 3.0, 0.0])
    X = rng.multivariate_normal(mean, covariance, size=200)
    expected = multivariate_normal(mean, covariance).logpdf(X)[:, None]
    np.testing.assert_allclose(gaussian_log_density(X, mean[None], covariance[None]), expected,
                               rtol=1e-6)


def test_m_step_is_the_weighted_maximum_likelihood(parameters):
    X, weights, means, covariances = parameters
    g, _ = e_step(X, weights, means, covariances)
    new_weights, new_means, new_covariances = m_step(X, g, "full", reg_covar=0.0)
    np.testing.assert_allclose(new_weights, g.mean(axis=0), rtol=RTOL)
    for j in range(2):
        np.testing.assert_allclose(new_means[j], np.average(X, axis=0, weights=g[:, j]),
                                   rtol=RTOL)
        expected = np.cov(X.T, aweights=g[:, j], bias=True)
        np.testing.assert_allclose(new_covariances[j], expected, rtol=RTOL)
    _, _, variances = m_step(X, g, "diag", reg_covar=0.0)
    np.testing.assert_allclose(variances, np.diagonal(new_covariances, axis1=1, axis2=2),
                               rtol=1e-7)


def test_lower_bound_is_tight_after_the_e_step(parameters):
    X, weights, means, covariances = parameters
    g, log_likelihood = e_step(X, weights, means, covariances)
    bound = lower_bound(X, g, weights, means, covariances)
    assert bound == pytest.approx(log_likelihood.sum(), rel=RTOL)


def test_gap_is_the_sum_of_kl_divergences(parameters):
    X, weights, means, covariances = parameters
    posterior, log_likelihood = e_step(X, weights, means, covariances)
    other = np.random.default_rng(0).dirichlet([1.0, 1.0], size=len(X))
    gap = log_likelihood.sum() - lower_bound(X, other, weights, means, covariances)
    kl = np.sum(other * np.log(other / posterior))
    assert gap == pytest.approx(kl, rel=1e-7)
    assert gap > 0


# --- the covariance floor and the k-means limit -----------------------------------------------


def test_covariance_floor_keeps_a_collapsed_component_finite():
    # Five copies of one point form their own component: its sample covariance is zero.
    rng = np.random.default_rng(0)
    X = np.vstack([np.tile([[8.0, 8.0]], (5, 1)), rng.normal(size=(60, 2))])
    model = GaussianMixture(2, reg_covar=1e-4, random_state=0).fit(X)
    assert np.all(np.isfinite(model.covariances_)) and np.isfinite(model.score(X))
    collapsed = np.argmin(np.linalg.det(model.covariances_))
    # The floor is all that is left of its covariance (other objects add ~1e-30).
    np.testing.assert_allclose(model.covariances_[collapsed], 1e-4 * np.eye(2), atol=1e-12)


def test_without_floor_a_collapsed_component_raises_a_clear_error():
    X = np.vstack([np.tile([[8.0, 8.0]], (5, 1)), np.random.default_rng(0).normal(size=(60, 2))])
    g = np.zeros((65, 2))
    g[:5, 1], g[5:, 0] = 1.0, 1.0  # component 1 owns the five copies only
    weights, means, covariances = m_step(X, g, "full", reg_covar=0.0)
    np.testing.assert_array_equal(covariances[1], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="increase reg_covar"):
        e_step(X, weights, means, covariances)


def test_tiny_shared_variance_gives_hard_nearest_centre_responsibilities(ellipses):
    centers = KMeans(3, random_state=0).fit(ellipses).cluster_centers_
    variances = np.full((3, 2), 1e-4)  # one tiny isotropic variance, shared
    g, _ = e_step(ellipses, np.full(3, 1 / 3), centers, variances, "diag")
    nearest = np.argmin(((ellipses[:, None] - centers[None]) ** 2).sum(axis=2), axis=1)
    np.testing.assert_array_equal(np.argmax(g, axis=1), nearest)
    assert np.min(np.max(g, axis=1)) > 1 - 1e-9


def test_em_with_tiny_shared_variance_is_kmeans(ellipses):
    start = ellipses[[0, 1, 2]]
    kmeans = KMeans(3, init=start, tol=0.0).fit(ellipses)
    means, variances = start.copy(), np.full((3, 2), 1e-4)
    for _ in range(kmeans.n_iter_ + 5):  # E-step, then the M-step for the means only
        g, _ = e_step(ellipses, np.full(3, 1 / 3), means, variances, "diag")
        means = m_step(ellipses, g, "diag")[1]
    np.testing.assert_allclose(means, kmeans.cluster_centers_, atol=1e-6)


# --- the rest of the API ----------------------------------------------------------------------


def test_predict_is_the_most_probable_component(ellipses):
    model = GaussianMixture(3, random_state=0).fit(ellipses)
    proba = model.predict_proba(ellipses)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=RTOL)
    np.testing.assert_array_equal(model.predict(ellipses), np.argmax(proba, axis=1))


def test_sample_is_deterministic_and_follows_the_fit(ellipses):
    model = GaussianMixture(3, random_state=0).fit(ellipses)
    X1, labels1 = model.sample(4000)
    X2, _ = model.sample(4000)
    np.testing.assert_array_equal(X1, X2)
    j = np.argmax(model.weights_)
    # 4000 * w_j >= 1000 draws: the sample mean is within ~0.1 of the component's mean.
    np.testing.assert_allclose(X1[labels1 == j].mean(axis=0), model.means_[j], atol=0.15)


def test_same_random_state_gives_the_same_fit(iris):
    first = GaussianMixture(3, init_params="random", random_state=4).fit(iris)
    second = GaussianMixture(3, init_params="random", random_state=4).fit(iris)
    np.testing.assert_array_equal(first.means_, second.means_)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"covariance_type": "spherical"}, "covariance_type must be one of"),
        ({"n_components": 99}, "n_samples=20 should be >= n_components=99"),
        ({"init_params": "kmeans++"}, "init_params must be"),
        ({"reg_covar": -1.0}, "reg_covar must be"),
        ({"tol": "small"}, "tol must be"),
    ],
)
def test_bad_parameters_raise_a_clear_error(params, message):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises((ValueError, TypeError), match=message):
        GaussianMixture(**{"n_components": 2, **params}).fit(X)


def test_unfitted_model_raises_not_fitted_error(iris):
    with pytest.raises(NotFittedError):
        GaussianMixture(2).score(iris)


def test_gaussian_ellipses_have_axes_from_the_covariance():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from coursekit.plots import plot_gaussian_ellipses

    ax = plot_gaussian_ellipses([[0.0, 0.0], [5.0, 5.0]], [[[4.0, 0.0], [0.0, 1.0]],
                                                           [[1.0, 0.0], [0.0, 9.0]]], n_std=1)
    first, second = ax.patches
    # Width is the major axis: 2 * 1 * sqrt(largest eigenvalue), turned onto its eigenvector.
    assert (first.width, first.height) == pytest.approx((4.0, 2.0))
    assert (second.width, second.height) == pytest.approx((6.0, 2.0))
    assert abs(first.angle) % 180 == pytest.approx(0.0, abs=1e-9)
    assert abs(second.angle) % 180 == pytest.approx(90.0)
    plt.close("all")
