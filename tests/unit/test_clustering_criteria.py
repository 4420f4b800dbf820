"""Chapter 1's clustering criteria against independent references, and against bad input.

References: scikit-learn's ``pairwise_distances_argmin`` (nearest centre), ``KMeans.inertia_``
(sum of squared distances to the centres), ``NearestCentroid.centroids_`` (cluster means),
and naive loops over objects or pairs with ``scipy.spatial.distance`` in this file.

Tolerances. The distances are float64; the Euclidean one uses the expansion
||x||^2 - 2<x, w> + ||w||^2, whose error is ~ d * u * (||x||^2 + ||w||^2) with u = 1.1e-16.
For standard-normal data in d <= 5 that is ~1e-14 absolute on squared distances of order 1,
and sums or means over a few hundred terms keep the relative error below 1e-12; rtol=1e-9
leaves a wide margin while still catching any wrong formula (errors of order 1e-2 or more).
"""

import numpy as np
import pytest
from scipy.spatial import distance as scipy_distance
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.neighbors import NearestCentroid

from coursekit import clustering
from coursekit.distances import minkowski

RTOL = 1e-9

# Our metric name -> (scikit-learn's name, SciPy's one-pair function).
REFERENCE = {
    "euclidean": ("euclidean", scipy_distance.euclidean),
    "manhattan": ("manhattan", scipy_distance.cityblock),
    "chebyshev": ("chebyshev", scipy_distance.chebyshev),
    "cosine": ("cosine", scipy_distance.cosine),
}


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)


@pytest.fixture
def objects_and_centers(rng):
    return rng.normal(size=(120, 4)), rng.normal(size=(5, 4))


@pytest.fixture
def objects_and_labels(rng):
    return rng.normal(size=(60, 3)), rng.integers(0, 4, size=60)


# --- assign, quantize -----------------------------------------------------------------------


@pytest.mark.parametrize("metric", list(REFERENCE))
def test_assign_matches_sklearn_pairwise_distances_argmin(objects_and_centers, metric):
    X, centers = objects_and_centers
    expected = pairwise_distances_argmin(X, centers, metric=REFERENCE[metric][0])
    np.testing.assert_array_equal(clustering.assign(X, centers, metric), expected)


def test_assign_accepts_a_callable_metric(objects_and_centers):
    X, centers = objects_and_centers
    expected = pairwise_distances_argmin(X, centers, metric="minkowski", metric_kwargs={"p": 3})
    np.testing.assert_array_equal(clustering.assign(X, centers, minkowski(3)), expected)


def test_assign_breaks_ties_towards_the_first_centre():
    centers = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])  # 0 and 2 coincide
    X = np.array([[0.0, 0.0], [2.0, 0.0]])  # the first is equidistant from all three
    np.testing.assert_array_equal(clustering.assign(X, centers), [0, 0])


@pytest.mark.parametrize("metric", list(REFERENCE))
def test_quantize_replaces_each_object_by_its_nearest_centre(objects_and_centers, metric):
    X, centers = objects_and_centers
    pair_distance = REFERENCE[metric][1]
    expected = np.array([min(centers, key=lambda w, x=x: pair_distance(x, w)) for x in X])
    np.testing.assert_array_equal(clustering.quantize(X, centers, metric), expected)


def test_quantize_keeps_objects_that_are_centres():
    centers = np.array([[0.0, 1.0], [3.0, -2.0]])
    np.testing.assert_array_equal(
        clustering.quantize(centers[[1, 0, 1]], centers), centers[[1, 0, 1]]
    )


# --- quantization error and the lecture's Q -------------------------------------------------


@pytest.mark.parametrize("metric", list(REFERENCE))
def test_quantization_error_is_the_mean_distance_to_the_nearest_centre(objects_and_centers, metric):
    X, centers = objects_and_centers
    pair_distance = REFERENCE[metric][1]
    expected = np.mean([min(pair_distance(x, w) for w in centers) for x in X])
    assert clustering.quantization_error(X, centers, metric) == pytest.approx(expected, rel=RTOL)


def test_quantization_error_is_zero_when_every_object_is_a_centre(rng):
    centers = rng.normal(size=(6, 2))
    # The Euclidean expansion leaves ~sqrt(d * u * ||x||^2) ~ 1e-8 at zero distance.
    assert clustering.quantization_error(centers, centers) == pytest.approx(0.0, abs=1e-7)
    assert clustering.quantization_error(centers, centers, "manhattan") == 0.0


def test_quantization_error_of_one_centre_at_the_mean_by_hand():
    X = np.array([[0.0], [2.0], [4.0], [10.0]])
    # |x - 4| for the four objects: 4, 2, 0, 6 -> mean 3.
    assert clustering.quantization_error(X, [[4.0]]) == pytest.approx(3.0, rel=RTOL)


def test_within_cluster_sum_is_half_the_kmeans_inertia(rng):
    X = rng.normal(size=(200, 3))
    kmeans = KMeans(n_clusters=4, n_init=3, random_state=0).fit(X)
    # scikit-learn's inertia_ is sum_i ||x_i - w_a(x_i)||^2; the lecture's Q halves it.
    expected = kmeans.inertia_ / 2
    assert clustering.within_cluster_sum(X, kmeans.cluster_centers_) == pytest.approx(
        expected, rel=RTOL
    )


def test_within_cluster_sum_squares_the_chosen_metric(objects_and_centers):
    X, centers = objects_and_centers
    expected = 0.5 * sum(min(scipy_distance.cityblock(x, w) for w in centers) ** 2 for x in X)
    assert clustering.within_cluster_sum(X, centers, "manhattan") == pytest.approx(
        expected, rel=RTOL
    )


# --- cluster centres ------------------------------------------------------------------------


def test_cluster_centers_match_sklearn_nearest_centroid(objects_and_labels):
    X, labels = objects_and_labels
    expected = NearestCentroid().fit(X, labels).centroids_
    np.testing.assert_allclose(clustering.cluster_centers(X, labels), expected, rtol=RTOL)


def test_cluster_centers_follow_the_sorted_labels():
    X = np.array([[0.0], [10.0], [2.0], [12.0]])
    labels = np.array(["b", "a", "b", "a"])
    np.testing.assert_allclose(clustering.cluster_centers(X, labels), [[11.0], [1.0]])


# --- intra- and inter-cluster distances -----------------------------------------------------


def naive_pair_means(X, labels, pair_distance):
    """Mean rho over pairs i < j in the same cluster and in different clusters, by loops."""
    same, different = [], []
    for i in range(len(X)):
        for j in range(i + 1, len(X)):
            (same if labels[i] == labels[j] else different).append(pair_distance(X[i], X[j]))
    return np.mean(same), np.mean(different)


@pytest.mark.parametrize("metric", list(REFERENCE))
def test_mean_intra_cluster_distance_matches_a_loop_over_pairs(objects_and_labels, metric):
    X, labels = objects_and_labels
    expected, _ = naive_pair_means(X, labels, REFERENCE[metric][1])
    result = clustering.mean_intra_cluster_distance(X, labels, metric)
    assert result == pytest.approx(expected, rel=RTOL)


@pytest.mark.parametrize("metric", list(REFERENCE))
def test_mean_inter_cluster_distance_matches_a_loop_over_pairs(objects_and_labels, metric):
    X, labels = objects_and_labels
    _, expected = naive_pair_means(X, labels, REFERENCE[metric][1])
    result = clustering.mean_inter_cluster_distance(X, labels, metric)
    assert result == pytest.approx(expected, rel=RTOL)


def test_intra_and_inter_cluster_distances_by_hand():
    X = np.array([[0.0], [1.0], [10.0], [12.0]])
    labels = [0, 0, 1, 1]
    # Pairs within: |0-1| = 1, |10-12| = 2. Across: 10, 12, 9, 11.
    assert clustering.mean_intra_cluster_distance(X, labels) == pytest.approx(1.5, rel=RTOL)
    assert clustering.mean_inter_cluster_distance(X, labels) == pytest.approx(10.5, rel=RTOL)


def test_pair_criteria_match_scipy_pdist_on_house_votes():
    from coursekit.data import load_house_votes

    X, party, _ = load_house_votes()
    pair_distance = scipy_distance.squareform(scipy_distance.pdist(X, "cityblock"))
    same = party[:, None] == party[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    expected_intra = pair_distance[same & upper].mean()
    expected_inter = pair_distance[~same & upper].mean()
    assert clustering.mean_intra_cluster_distance(X, party, "manhattan") == pytest.approx(
        expected_intra, rel=RTOL
    )
    assert clustering.mean_inter_cluster_distance(X, party, "manhattan") == pytest.approx(
        expected_inter, rel=RTOL
    )


def test_criteria_do_not_depend_on_how_clusters_are_named(objects_and_labels):
    X, labels = objects_and_labels
    renamed = np.array(["party-" + str(7 - label) for label in labels])
    for criterion in (
        clustering.mean_intra_cluster_distance,
        clustering.mean_inter_cluster_distance,
    ):
        assert criterion(X, renamed) == pytest.approx(criterion(X, labels), rel=RTOL)


def test_singleton_clusters_add_no_pairs_within(rng):
    X = rng.normal(size=(5, 2))
    labels = [0, 0, 1, 2, 3]  # one pair within: (0, 1)
    expected = np.linalg.norm(X[0] - X[1])
    assert clustering.mean_intra_cluster_distance(X, labels) == pytest.approx(expected, rel=RTOL)


# --- bad input ------------------------------------------------------------------------------


def test_inter_cluster_distance_needs_two_clusters(rng):
    with pytest.raises(ValueError, match="single cluster"):
        clustering.mean_inter_cluster_distance(rng.normal(size=(4, 2)), [1, 1, 1, 1])


def test_intra_cluster_distance_needs_a_cluster_with_two_objects(rng):
    with pytest.raises(ValueError, match="own cluster"):
        clustering.mean_intra_cluster_distance(rng.normal(size=(3, 2)), [0, 1, 2])


@pytest.mark.parametrize(
    "function",
    [
        clustering.assign,
        clustering.quantize,
        clustering.quantization_error,
        clustering.within_cluster_sum,
    ],
)
def test_centre_functions_reject_centres_with_other_features(function, rng):
    with pytest.raises(ValueError, match="X has 2 features but centers has 3"):
        function(rng.normal(size=(5, 2)), rng.normal(size=(2, 3)))


@pytest.mark.parametrize("function", [clustering.assign, clustering.quantization_error])
def test_centre_functions_reject_one_dimensional_objects(function):
    with pytest.raises(ValueError, match="X must be 2-D"):
        function(np.arange(5.0), [[0.0]])


def test_centre_functions_reject_nan_centres():
    with pytest.raises(ValueError, match="centers contains NaN"):
        clustering.assign([[0.0, 1.0]], [[np.nan, 0.0]])


def test_centre_functions_reject_an_unknown_metric():
    with pytest.raises(ValueError, match="metric must be one of"):
        clustering.quantization_error([[0.0]], [[1.0]], metric="hamming")


@pytest.mark.parametrize(
    "function",
    [
        clustering.mean_intra_cluster_distance,
        clustering.mean_inter_cluster_distance,
        clustering.cluster_centers,
    ],
)
def test_label_functions_reject_labels_of_the_wrong_length(function, rng):
    with pytest.raises(ValueError, match="labels has 3 entries but X has 4 rows"):
        function(rng.normal(size=(4, 2)), [0, 1, 0])


def test_label_functions_reject_two_dimensional_labels(rng):
    with pytest.raises(ValueError, match="labels must be 1-D"):
        clustering.cluster_centers(rng.normal(size=(4, 2)), np.zeros((4, 1)))


def test_label_functions_reject_missing_labels(rng):
    with pytest.raises(TypeError, match="labels must be a 1-D array-like"):
        clustering.mean_intra_cluster_distance(rng.normal(size=(4, 2)), None)


def test_label_functions_reject_nan_labels(rng):
    with pytest.raises(ValueError, match="labels contains NaN"):
        clustering.cluster_centers(rng.normal(size=(3, 2)), [0.0, np.nan, 1.0])
