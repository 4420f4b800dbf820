"""coursekit.distances against scipy.spatial.distance.cdist, and against bad input.

Tolerances. float64 has unit round-off u = 1.1e-16. cdist sums |x^j - w^j|^p term by term,
we either do the same (manhattan, chebyshev, minkowski: error ~ d*u relative, so rtol=1e-12)
or use the expansion ||x||^2 - 2<x, w> + ||w||^2 (sqeuclidean, euclidean), whose absolute
error is ~ d*u*(||x||^2 + ||w||^2) whatever the distance: hence an absolute tolerance scaled
by the largest squared norm, and its square root for euclidean (sqrt turns an absolute error
e near zero into sqrt(e)). cosine normalises first; its error is ~ d*u absolute.
"""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from sklearn.datasets import load_digits

from coursekit import distances
from coursekit.data import load_house_votes
from coursekit.distances import (
    METRICS,
    chebyshev,
    cosine,
    euclidean,
    get_metric,
    manhattan,
    minkowski,
    sqeuclidean,
)

# Our function -> the name of the same metric in cdist.
SCIPY_NAME = {
    euclidean: "euclidean",
    sqeuclidean: "sqeuclidean",
    manhattan: "cityblock",
    chebyshev: "chebyshev",
    cosine: "cosine",
}
PAIRWISE = list(SCIPY_NAME)


def expansion_atol(X, W):
    """Absolute error bound of the ||x||^2 - 2<x,w> + ||w||^2 expansion, with a 10x margin."""
    largest = max(np.max(np.sum(X**2, axis=1)), np.max(np.sum(W**2, axis=1)))
    return 10 * X.shape[1] * np.finfo(np.float64).eps * largest


def assert_matches_cdist(ours, X, W, scipy_metric, **scipy_kwargs):
    expected = cdist(X, W, scipy_metric, **scipy_kwargs)
    got = ours(X, W)
    assert got.shape == (X.shape[0], W.shape[0])
    assert got.dtype == np.float64
    if scipy_metric == "sqeuclidean":
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=expansion_atol(X, W))
    elif scipy_metric == "euclidean":
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=np.sqrt(expansion_atol(X, W)))
    elif scipy_metric == "cosine":
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


@pytest.fixture
def random_pair():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 7)), rng.normal(size=(9, 7))


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data  # [1797, 64], integer pixel intensities 0..16
    return X[:300], X[300:340]


# --- agreement with SciPy ------------------------------------------------------------------


@pytest.mark.parametrize("distance", PAIRWISE, ids=lambda f: f.__name__)
def test_distance_matches_scipy_cdist_on_random_data(distance, random_pair):
    X, W = random_pair
    assert_matches_cdist(distance, X, W, SCIPY_NAME[distance])


@pytest.mark.parametrize("distance", PAIRWISE, ids=lambda f: f.__name__)
def test_distance_matches_scipy_cdist_on_digits(distance, digits):
    X, W = digits
    X, W = X + 0.5, W + 0.5  # blank images are zero vectors: cosine is undefined there
    assert_matches_cdist(distance, X, W, SCIPY_NAME[distance])


@pytest.mark.parametrize("distance", PAIRWISE, ids=lambda f: f.__name__)
def test_distance_matches_scipy_cdist_on_house_votes(distance):
    X, _, _ = load_house_votes(download=False)  # [435, 16] votes coded 1 / 0.5 / 0
    X = np.asarray(X, dtype=np.float64)
    assert_matches_cdist(distance, X, X[::20], SCIPY_NAME[distance])


@pytest.mark.parametrize("p", [1, 1.5, 2, 3, 7.25])
def test_minkowski_matches_scipy_cdist(p, random_pair):
    X, W = random_pair
    assert_matches_cdist(minkowski(p), X, W, "minkowski", p=p)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_weighted_minkowski_matches_scipy_cdist(p, digits):
    X, W = digits
    weights = np.random.default_rng(1).uniform(0, 2, size=X.shape[1])
    weights[:5] = 0.0  # a zero weight switches a feature off
    assert_matches_cdist(minkowski(p, weights), X, W, "minkowski", p=p, w=weights)


def test_minkowski_with_p_1_and_2_is_manhattan_and_euclidean(random_pair):
    X, W = random_pair
    np.testing.assert_allclose(minkowski(1)(X, W), manhattan(X, W), rtol=1e-12)
    np.testing.assert_allclose(minkowski(2)(X, W), euclidean(X, W), rtol=1e-10)


def test_large_p_minkowski_approaches_chebyshev(random_pair):
    # max_j |d_j| <= rho_p <= d^(1/p) max_j |d_j|: at p = 200 and d = 7 the gap is below 1 %.
    X, W = random_pair
    ratio = minkowski(200)(X, W) / chebyshev(X, W)
    assert np.all(ratio >= 1 - 1e-12)
    assert np.all(ratio <= 7 ** (1 / 200) + 1e-12)


# --- properties -------------------------------------------------------------------------


def test_sqeuclidean_is_never_negative_on_near_duplicate_rows():
    rng = np.random.default_rng(2)
    X = rng.normal(loc=1e4, size=(200, 30))  # large norms make the expansion cancel badly
    W = X + rng.normal(scale=1e-9, size=X.shape)
    squared = sqeuclidean(X, W)
    assert np.all(squared >= 0)
    assert np.all(np.isfinite(euclidean(X, W)))


@pytest.mark.parametrize("distance", PAIRWISE + [minkowski(3)], ids=lambda f: f.__name__)
def test_distance_of_a_set_to_itself_is_symmetric_with_zero_diagonal(distance, random_pair):
    X, _ = random_pair
    D = distance(X, X)
    # Exact for the elementwise metrics (|x - x| = 0); the expansion (sqeuclidean) and the
    # normalisation (cosine) leave rounding of size expansion_atol, euclidean its square root.
    atol = {
        sqeuclidean: expansion_atol(X, X),
        cosine: expansion_atol(X, X),
        euclidean: np.sqrt(expansion_atol(X, X)),
    }.get(distance, 0.0)
    np.testing.assert_allclose(D, D.T, rtol=0, atol=atol)
    np.testing.assert_allclose(np.diag(D), 0.0, rtol=0, atol=atol)
    assert np.all(D >= 0)


@pytest.mark.parametrize(
    "distance",
    [manhattan, chebyshev, minkowski(3), minkowski(1.5, np.arange(7.0))],
    ids=lambda f: f.__name__,
)
def test_chunked_path_equals_unchunked(distance, random_pair, monkeypatch):
    X, W = random_pair
    whole = distance(X, W)
    # 9 centres x 7 features = 63 elements per row: blocks of 3 rows, the last one shorter.
    monkeypatch.setattr(distances, "CHUNK_ELEMENTS", 3 * 63 + 5)
    np.testing.assert_array_equal(distance(X, W), whole)
    monkeypatch.setattr(distances, "CHUNK_ELEMENTS", 1)  # one row at a time
    np.testing.assert_array_equal(distance(X, W), whole)


def test_cosine_ignores_vector_length(random_pair):
    X, W = random_pair
    np.testing.assert_allclose(cosine(3.0 * X, 0.5 * W), cosine(X, W), atol=1e-12)


def test_cosine_of_opposite_vectors_is_two():
    np.testing.assert_allclose(cosine([[1.0, 2.0]], [[-2.0, -4.0]]), [[2.0]], atol=1e-15)


def test_torch_tensors_are_accepted_and_numpy_returned(random_pair):
    X, W = random_pair
    got = euclidean(torch.tensor(X, requires_grad=True), torch.tensor(W, dtype=torch.float64))
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, euclidean(X, W), rtol=1e-12)


def test_integer_lists_are_accepted():
    np.testing.assert_array_equal(manhattan([[0, 0], [1, 2]], [[1, 1]]), [[2.0], [1.0]])


def test_minkowski_has_a_readable_name():
    assert repr(minkowski(3)) == "minkowski(p=3)"
    assert minkowski(1.5).__name__ == "minkowski(p=1.5)"
    assert repr(minkowski(2, [1.0, 2.0])) == "minkowski(p=2, weights)"


def test_get_metric_resolves_every_name():
    assert set(METRICS) == {"euclidean", "sqeuclidean", "manhattan", "chebyshev", "cosine"}
    for name in METRICS:
        assert get_metric(name) is getattr(distances, name)


def test_get_metric_returns_a_callable_unchanged():
    metric = minkowski(4)
    assert get_metric(metric) is metric


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize("distance", PAIRWISE + [minkowski(3)], ids=lambda f: f.__name__)
def test_one_dimensional_input_is_rejected(distance):
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        distance(np.ones(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"W must be 2-D"):
        distance(np.ones((2, 3)), np.ones(3))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("distance", PAIRWISE + [minkowski(3)], ids=lambda f: f.__name__)
def test_non_finite_input_is_rejected(distance, bad):
    X = np.ones((3, 2))
    X[1, 1] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or infinite"):
        distance(X, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"W contains NaN or infinite"):
        distance(np.ones((2, 2)), X)


@pytest.mark.parametrize("distance", PAIRWISE + [minkowski(3)], ids=lambda f: f.__name__)
def test_mismatched_feature_counts_are_rejected(distance):
    with pytest.raises(ValueError, match=r"X has 3 features but W has 4"):
        distance(np.ones((2, 3)), np.ones((2, 4)))


@pytest.mark.parametrize("p", [0.5, 0, -1, np.inf, np.nan])
def test_minkowski_rejects_p_below_one_or_infinite(p):
    with pytest.raises(ValueError, match=r"p must be a finite number >= 1"):
        minkowski(p)


def test_minkowski_rejects_non_numeric_p():
    with pytest.raises(TypeError, match=r"p must be a number"):
        minkowski("2")


def test_minkowski_rejects_negative_weights():
    with pytest.raises(ValueError, match=r"weights must be non-negative"):
        minkowski(2, [1.0, -0.5])


@pytest.mark.parametrize(
    "weights, message",
    [([[1.0, 2.0]], r"weights must be 1-D"), ([1.0, np.nan], r"weights contains NaN")],
)
def test_minkowski_rejects_malformed_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        minkowski(2, weights)


def test_minkowski_rejects_weights_of_the_wrong_length_at_call_time():
    distance = minkowski(2, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"weights has 3 entries but X and W have 2 features"):
        distance(np.ones((2, 2)), np.ones((1, 2)))


def test_cosine_rejects_a_zero_vector():
    with pytest.raises(ValueError, match=r"X has zero vectors \(rows \[1\]\)"):
        cosine([[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0]])
    with pytest.raises(ValueError, match=r"W has zero vectors \(rows \[0\]\)"):
        cosine([[1.0, 0.0]], [[0.0, 0.0]])


def test_get_metric_rejects_an_unknown_name_listing_the_valid_ones():
    with pytest.raises(ValueError, match=r"one of euclidean, sqeuclidean, .*cosine.*'hamming'"):
        get_metric("hamming")


def test_get_metric_rejects_a_non_callable_non_string():
    with pytest.raises(TypeError, match=r"metric must be a name or a callable"):
        get_metric(3)


# --- the nearest-centre rule: assign and nearest ---------------------------------------------


@pytest.mark.parametrize("metric", list(METRICS) + [minkowski(3)], ids=str)
def test_nearest_gives_cdists_argmin_and_min_block_by_block(monkeypatch, digits, metric):
    X, W = digits
    scipy_metric = {"manhattan": "cityblock"}.get(metric, metric)
    if not isinstance(metric, str):
        scipy_metric, kwargs = "minkowski", {"p": 3}
    else:
        kwargs = {}
    expected = cdist(X, W, scipy_metric, **kwargs)
    monkeypatch.setattr(distances, "BLOCK_ELEMENTS", 7 * W.shape[0])  # 43 blocks of 7 rows
    winners, nearest = distances.nearest(X, W, metric)
    # Exact ties (integer pixels: manhattan, chebyshev) go to the first centre on both sides.
    np.testing.assert_array_equal(winners, expected.argmin(axis=1))
    atol = np.sqrt(expansion_atol(X, W)) if metric == "euclidean" else expansion_atol(X, W)
    np.testing.assert_allclose(nearest, expected.min(axis=1), rtol=1e-12, atol=atol)


def test_nearest_keeps_float32_input_in_float32(random_pair):
    X, W = (a.astype(np.float32) for a in random_pair)
    winners, nearest = distances.nearest(X, W)
    assert nearest.dtype == np.float32
    np.testing.assert_array_equal(winners, cdist(X, W).argmin(axis=1))


def test_assign_is_the_validated_nearest(random_pair):
    X, W = random_pair
    np.testing.assert_array_equal(distances.assign(X, W), distances.nearest(X, W)[0])
    with pytest.raises(ValueError, match="centers contains NaN"):
        distances.assign(X, np.full_like(W, np.nan))


@pytest.mark.parametrize("distance", PAIRWISE + [minkowski(3)], ids=lambda f: f.__name__)
def test_unchecked_form_equals_the_checked_distance(distance, random_pair):
    X, W = random_pair
    np.testing.assert_array_equal(distances.unchecked(distance)(X, W), distance(X, W))


def test_unchecked_distance_survives_pickling():
    import pickle

    for name in METRICS:
        unchecked = distances.unchecked(name)
        assert pickle.loads(pickle.dumps(unchecked)) is unchecked


def test_nearest_without_distances_gives_the_same_winners_only(random_pair):
    X, W = random_pair
    winners, distances_ = distances.nearest(X, W, with_distances=False)
    assert distances_ is None
    np.testing.assert_array_equal(winners, distances.nearest(X, W)[0])


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_nearest_answers_tensors_with_the_same_rule_block_by_block(monkeypatch, digits, metric):
    X, W = digits
    monkeypatch.setattr(distances, "BLOCK_ELEMENTS", 7 * W.shape[0])
    winners, nearest = distances.nearest(torch.from_numpy(X), torch.from_numpy(W), metric)
    expected = cdist(X, W, metric)
    assert winners.dtype == torch.long
    np.testing.assert_array_equal(winners.numpy(), expected.argmin(axis=1))
    atol = np.sqrt(expansion_atol(X, W)) if metric == "euclidean" else expansion_atol(X, W)
    np.testing.assert_allclose(nearest.numpy(), expected.min(axis=1), rtol=1e-12, atol=atol)


def test_nearest_refuses_tensors_with_a_metric_other_than_euclidean(random_pair):
    X, W = (torch.from_numpy(a) for a in random_pair)
    with pytest.raises(ValueError, match="metric='manhattan'"):
        distances.nearest(X, W, "manhattan")


def test_nearest_two_gives_the_winner_and_the_two_smallest_distances(monkeypatch, digits):
    X, W = digits
    monkeypatch.setattr(distances, "BLOCK_ELEMENTS", 7 * W.shape[0])
    winners, best, second = distances.nearest_two(X, W)
    expected = np.sort(cdist(X, W), axis=1)
    np.testing.assert_array_equal(winners, distances.nearest(X, W)[0])
    atol = np.sqrt(expansion_atol(X, W))
    np.testing.assert_allclose(best, expected[:, 0], rtol=1e-12, atol=atol)
    np.testing.assert_allclose(second, expected[:, 1], rtol=1e-12, atol=atol)
