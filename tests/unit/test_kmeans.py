"""coursekit.clustering.KMeans (Lloyd's algorithm, k-means++) against scikit-learn and by hand.

References: ``sklearn.cluster.KMeans`` (inertia on real and generated data; the exact same
Lloyd iterations from the same starting centres), hand-computed Lloyd steps, and the
definition of inertia as a sum of squared distances (``scipy.spatial.distance.cdist``).

Tolerances. k-means finds a local minimum that depends on the start. With ten k-means++
starts both implementations land on the same few minima of digits and blobs, so the best
inertia may differ only by the gap between neighbouring minima: on digits (K = 10) those gaps
are ~1e-5 relative, hence the factor 1.0001 (the brief's bound). From the *same* start both run
the same arithmetic up to summation order, so centres agree to 1e-9 and labels exactly.
"""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn import cluster, datasets
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from coursekit import clustering
from coursekit.clustering import KMeans, kmeans_plusplus, lloyd_step


@pytest.fixture(scope="module")
def digits():
    return datasets.load_digits().data


@pytest.fixture(scope="module")
def blobs():
    return datasets.make_blobs(600, centers=5, n_features=3, cluster_std=1.5, random_state=3)[0]


@parametrize_with_checks([KMeans(n_clusters=3, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --- against scikit-learn ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inertia_at_least_as_good_as_sklearn_on_digits(digits, seed):
    ours = KMeans(10, n_init=10, random_state=seed).fit(digits)
    theirs = cluster.KMeans(10, n_init=10, random_state=seed).fit(digits)
    assert ours.inertia_ <= theirs.inertia_ * 1.0001


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inertia_at_least_as_good_as_sklearn_on_blobs(blobs, seed):
    ours = KMeans(5, n_init=10, random_state=seed).fit(blobs)
    theirs = cluster.KMeans(5, n_init=10, random_state=seed).fit(blobs)
    assert ours.inertia_ <= theirs.inertia_ * 1.0001


def test_same_start_gives_sklearns_lloyd_result(digits):
    start = digits[np.random.default_rng(0).choice(len(digits), 10, replace=False)]
    ours = KMeans(10, init=start, tol=0.0, max_iter=500).fit(digits)
    theirs = cluster.KMeans(10, init=start, n_init=1, tol=0.0, max_iter=500,
                            algorithm="lloyd").fit(digits)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=1e-9)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-12)


# --- the algorithm by hand --------------------------------------------------------------------


def test_single_lloyd_step_by_hand():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [10.0, 10.0], [12.0, 10.0]])
    centers = np.array([[0.0, 0.0], [9.0, 9.0]])
    new_centers, labels = lloyd_step(X, centers)
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1])
    np.testing.assert_allclose(new_centers, [[1 / 3, 1 / 3], [11.0, 10.0]])


def test_lloyd_step_gives_an_empty_cluster_the_farthest_object():
    X = np.array([[0.0], [1.0], [2.0], [9.0]])
    centers = np.array([[1.0], [100.0]])  # nobody is nearest to 100
    new_centers, labels = lloyd_step(X, centers)
    np.testing.assert_array_equal(labels, [0, 0, 0, 0])
    np.testing.assert_allclose(new_centers, [[3.0], [9.0]])


def plain_lloyd(X, centers):
    """Lloyd's iterations by lloyd_step alone, to convergence (tol = 0): the reference."""
    for n_iter in range(1, 1000):
        new_centers, _ = lloyd_step(X, centers)
        if np.array_equal(new_centers, centers):
            return centers, n_iter
        centers = new_centers
    raise AssertionError("no convergence")


@pytest.mark.parametrize("n_clusters", [2, 10, 30])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_skipping_by_bounds_gives_plain_lloyds_iterations(digits, n_clusters, seed):
    start = kmeans_plusplus(digits, n_clusters, random_state=seed)[0]
    model = KMeans(n_clusters, init=start, tol=0.0, max_iter=1000).fit(digits)
    centers, n_iter = plain_lloyd(digits, start)
    np.testing.assert_array_equal(model.cluster_centers_, centers)
    assert model.n_iter_ == n_iter


def test_skipping_by_bounds_survives_data_far_from_the_origin():
    # ||x|| ~ 1e4 against distances ~ 1: the bounds' margin must cover the expansion's rounding
    X = np.random.default_rng(0).normal(size=(3000, 4)) + 1e4
    start = X[:7].copy()
    model = KMeans(7, init=start, tol=0.0, max_iter=1000).fit(X)
    np.testing.assert_array_equal(model.cluster_centers_, plain_lloyd(X, start)[0])


def test_skipping_by_bounds_keeps_lloyd_steps_remedy_for_an_empty_cluster():
    X = datasets.make_blobs(300, centers=3, random_state=0)[0]
    start = np.vstack([X[:2], [[1e3, 1e3]]])  # nobody is nearest to the third centre
    model = KMeans(3, init=start, tol=0.0, max_iter=1000).fit(X)
    np.testing.assert_array_equal(model.cluster_centers_, plain_lloyd(X, start)[0])


def test_kmeans_plusplus_picks_distinct_objects(digits):
    centers, indices = kmeans_plusplus(digits, 30, random_state=0)
    assert len(set(indices.tolist())) == 30
    np.testing.assert_array_equal(centers, digits[indices])


def test_kmeans_plusplus_picks_distinct_objects_with_duplicates():
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]]), 20, axis=0)
    _, indices = kmeans_plusplus(X, 3, random_state=1)
    np.testing.assert_array_equal(np.unique(X[indices], axis=0).shape, (3, 2))


def test_kmeans_plusplus_draws_in_proportion_to_squared_distance():
    # Objects at 0 and 1 and 3; with the first centre at 0 (forced by a one-point start set),
    # the second is 1 with probability 1 / (1 + 9) and 3 with probability 9 / 10.
    X = np.array([[0.0], [1.0], [3.0]])
    seconds = []
    for seed in range(2000):
        rng = np.random.RandomState(seed)
        _, indices = kmeans_plusplus(X, 2, random_state=rng, n_local_trials=1)
        if indices[0] == 0:
            seconds.append(indices[1])
    share_of_far = np.mean(np.array(seconds) == 2)
    # ~660 draws: the standard error of a share near 0.9 is 0.012, so 0.05 is 4 errors.
    assert share_of_far == pytest.approx(0.9, abs=0.05)


def test_delta_rule_stops_when_centres_stop_moving(blobs):
    model = KMeans(5, tol=0.0, max_iter=1000, random_state=0).fit(blobs)
    assert model.n_iter_ < 1000
    moved, _ = lloyd_step(blobs, model.cluster_centers_)
    np.testing.assert_allclose(moved, model.cluster_centers_, atol=1e-12)


def test_large_delta_stops_after_one_iteration(blobs):
    assert KMeans(5, tol=1e6, random_state=0).fit(blobs).n_iter_ == 1


def test_inertia_is_the_sum_of_squared_distances_to_the_centres(blobs):
    model = KMeans(5, random_state=0).fit(blobs)
    nearest = cdist(blobs, model.cluster_centers_, "sqeuclidean").min(axis=1)
    assert model.inertia_ == pytest.approx(nearest.sum(), rel=1e-12)
    assert model.inertia_ == pytest.approx(
        2 * clustering.within_cluster_sum(blobs, model.cluster_centers_), rel=1e-12
    )


def test_predict_transform_and_score_agree_with_the_fit(blobs):
    model = KMeans(5, random_state=0).fit(blobs)
    np.testing.assert_array_equal(model.predict(blobs), model.labels_)
    np.testing.assert_allclose(model.transform(blobs), cdist(blobs, model.cluster_centers_),
                               atol=1e-9)
    assert model.score(blobs) == pytest.approx(-model.inertia_, rel=1e-12)


def test_random_init_starts_from_objects(blobs):
    model = KMeans(5, init="random", max_iter=1, tol=1e6, random_state=0).fit(blobs)
    assert model.n_iter_ == 1 and model.cluster_centers_.shape == (5, 3)


def test_same_random_state_gives_the_same_result(digits):
    first = KMeans(10, random_state=7).fit(digits)
    second = KMeans(10, random_state=7).fit(digits)
    np.testing.assert_array_equal(first.cluster_centers_, second.cluster_centers_)
    np.testing.assert_array_equal(first.labels_, second.labels_)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_clusters": 0}, "n_clusters must be >= 1"),
        ({"n_clusters": 50}, "n_samples=20 should be >= n_clusters=50"),
        ({"init": "kmeans++"}, "init must be"),
        ({"init": np.zeros((2, 3))}, r"init must have shape \(n_clusters, n_features\)"),
        ({"n_init": "many"}, "n_init must be"),
        ({"tol": -1.0}, "tol must be"),
        ({"max_iter": 0}, "max_iter must be >= 1"),
    ],
)
def test_bad_parameters_raise_a_clear_value_error(params, message):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match=message):
        KMeans(**{"n_clusters": 3, **params}).fit(X)


def test_bad_data_raises_value_error():
    with pytest.raises(ValueError, match="NaN"):
        KMeans(2).fit(np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]]))
    with pytest.raises(ValueError, match="2D"):
        KMeans(2).fit(np.arange(5.0))


def test_wrong_feature_count_at_predict_raises(blobs):
    model = KMeans(3, random_state=0).fit(blobs)
    with pytest.raises(ValueError, match="features"):
        model.predict(blobs[:, :2])


def test_unfitted_model_raises_not_fitted_error(blobs):
    with pytest.raises(NotFittedError):
        KMeans(3).predict(blobs)


# --- the figure of centre paths (coursekit.plots.plot_center_trajectories) -------------------


def test_center_trajectories_draw_one_path_per_centre_through_lloyds_steps(blobs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from coursekit.plots import plot_center_trajectories

    centers, path = blobs[:5, :2].copy(), []
    for _ in range(4):
        path.append(centers)
        centers, _ = lloyd_step(blobs[:, :2], centers)
    ax = plot_center_trajectories(np.array(path), blobs[:, :2])
    lines = ax.get_lines()
    assert len(lines) == 5
    np.testing.assert_allclose(lines[2].get_xydata(), np.array(path)[:, 2])
    with pytest.raises(ValueError, match=r"\[T, K, 2\]"):
        plot_center_trajectories(np.zeros((3, 2)))
    plt.close("all")
