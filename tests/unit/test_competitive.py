"""coursekit.competitive: the Kohonen network (WTA/WTM) and LVQ against hand-computed steps,
scikit-learn references and bad input.

References: single SG steps computed by hand in this file (closed forms of the lecture's
update rules), scikit-learn's ``KMeans.inertia_`` (the optimum a converged network should
approach), ``NearestCentroid`` (a one-prototype-per-class baseline for LVQ), and
``sklearn.utils.estimator_checks`` for the estimator API.

Tolerances. A single step is a few float64 operations: rtol=1e-12 catches any wrong formula
while allowing rounding. Trained models are compared with margins stated at each test.
"""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs, make_moons
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestCentroid
from sklearn.utils.estimator_checks import parametrize_with_checks

from coursekit.competitive import LVQ, KohonenNetwork
from coursekit.data import load_house_votes

RTOL = 1e-12


@pytest.fixture
def four_blobs():
    """600 points in four well-separated 2-D blobs (centres 4 apart, spread 0.6)."""
    centres = [[0, 0], [4, 0], [0, 4], [4, 4]]
    X, _ = make_blobs(600, centers=centres, cluster_std=0.6, random_state=0)
    return X


# A deliberately bad start: four units bunched together in a corner, outside the data.
BAD_INIT = np.array([[-3.0, -3.0], [-3.2, -3.0], [-3.0, -3.2], [-3.2, -3.2]])

# Two units and one object for hand-computed steps: unit 0 at distance 1, unit 1 at 5.
UNITS = np.array([[1.0, 0.0], [3.0, 4.0]])
OBJECT = np.array([0.0, 0.0])


# --- the Kohonen network: single steps --------------------------------------------------------


def test_wta_moves_only_the_winner_by_lr_times_the_difference():
    net = KohonenNetwork(2, rule="wta", lr=0.3, init=UNITS).partial_fit(OBJECT)
    expected = UNITS.copy()
    expected[0] += 0.3 * (OBJECT - UNITS[0])
    np.testing.assert_allclose(net.cluster_centers_, expected, rtol=RTOL)


def test_wtm_moves_every_unit_by_the_kernel_weighted_step():
    lr, h = 0.3, 2.0
    net = KohonenNetwork(2, rule="wtm", lr=lr, sigma=h, init=UNITS).partial_fit(OBJECT)
    rho = np.array([1.0, 5.0])
    kernel = np.exp(-(rho**2) / (2 * h**2))
    expected = UNITS + lr * kernel[:, None] * (OBJECT - UNITS)
    np.testing.assert_allclose(net.cluster_centers_, expected, rtol=RTOL)


def test_wtm_moves_a_farther_unit_less():
    net = KohonenNetwork(2, rule="wtm", lr=0.3, sigma=2.0, init=UNITS).partial_fit(OBJECT)
    shift = np.linalg.norm(net.cluster_centers_ - UNITS, axis=1)
    assert 0 < shift[1] < shift[0]


def test_wtm_relative_kernel_gives_the_winner_the_full_step():
    net = KohonenNetwork(2, rule="wtm", kernel="relative", lr=0.3, sigma=2.0, init=UNITS)
    net.partial_fit(OBJECT)
    expected_winner = UNITS[0] + 0.3 * (OBJECT - UNITS[0])
    expected_loser = UNITS[1] + 0.3 * np.exp(-(4.0**2) / 8.0) * (OBJECT - UNITS[1])
    np.testing.assert_allclose(net.cluster_centers_, [expected_winner, expected_loser], rtol=RTOL)


def test_wtm_rank_kernel_weights_units_by_their_rank():
    net = KohonenNetwork(2, rule="wtm", kernel="rank", lr=0.3, sigma=0.5, init=UNITS)
    net.partial_fit(OBJECT)
    weights = np.array([1.0, np.exp(-1 / 0.5)])
    expected = UNITS + 0.3 * weights[:, None] * (OBJECT - UNITS)
    np.testing.assert_allclose(net.cluster_centers_, expected, rtol=RTOL)


def test_wtm_accepts_a_callable_kernel():
    net = KohonenNetwork(2, rule="wtm", kernel=lambda rho: 1 / (1 + rho), lr=0.5, init=UNITS)
    net.partial_fit(OBJECT)
    expected = UNITS + 0.5 * np.array([[0.5], [1 / 6]]) * (OBJECT - UNITS)
    np.testing.assert_allclose(net.cluster_centers_, expected, rtol=RTOL)


def test_running_q_follows_the_recursion_on_a_tiny_sequence():
    lam = 0.25
    sequence = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.0]])
    net = KohonenNetwork(2, lr=0.5, lam=lam, init=UNITS).partial_fit(sequence)
    # By hand, WTA with lr = 0.5, distances measured before each step:
    # start: rho^2 to the nearest unit is 1, 1, 1 for the three objects -> Q0 = 1.
    # step 1: x=(0,0), winner (1,0), rho^2 = 1; winner -> (0.5, 0)
    # step 2: x=(2,0), winner (0.5,0), rho^2 = 2.25; winner -> (1.25, 0)
    # step 3: x=(1,1), winner (1.25,0), rho^2 = 0.0625 + 1 = 1.0625; winner -> (1.125, 0.5)
    q = [1.0]
    for loss in (1.0, 2.25, 1.0625):
        q.append((1 - lam) * q[-1] + lam * loss)
    np.testing.assert_allclose(net.running_q_, q, rtol=RTOL)
    np.testing.assert_allclose(net.cluster_centers_, [[1.125, 0.5], [3.0, 4.0]], rtol=RTOL)


def test_win_counts_count_the_winners():
    sequence = np.array([[0.0, 0.0], [3.0, 5.0], [1.0, 0.0], [0.5, 0.0]])
    net = KohonenNetwork(2, lr=0.01, init=UNITS).partial_fit(sequence)
    np.testing.assert_array_equal(net.win_counts_, [3, 1])
    assert net.n_iter_ == 4 and net.running_q_.shape == (5,)


def test_partial_fit_accepts_one_object_as_a_row_or_a_vector():
    as_vector = KohonenNetwork(2, init=UNITS).partial_fit(OBJECT)
    as_row = KohonenNetwork(2, init=UNITS).partial_fit(OBJECT[None, :])
    np.testing.assert_array_equal(as_vector.cluster_centers_, as_row.cluster_centers_)


def test_partial_fit_makes_the_same_steps_as_fit_in_the_same_order(four_blobs):
    X = four_blobs
    init = X[:4]
    fitted = KohonenNetwork(4, rule="wtm", init=init, max_iter=len(X), tol=None, random_state=3)
    fitted.fit(X)
    order = np.random.RandomState(3).permutation(len(X))  # fit's first pass, documented
    stepped = KohonenNetwork(4, rule="wtm", init=init, random_state=3)
    stepped.partial_fit(X[order])  # the first call starts the running Q from this batch
    np.testing.assert_allclose(stepped.cluster_centers_, fitted.cluster_centers_, rtol=RTOL)
    np.testing.assert_allclose(stepped.running_q_, fitted.running_q_, rtol=RTOL)
    np.testing.assert_array_equal(stepped.win_counts_, fitted.win_counts_)


# --- the Kohonen network: training ------------------------------------------------------------


def test_fit_reaches_the_kmeans_criterion_on_well_separated_blobs(four_blobs):
    X = four_blobs
    net = KohonenNetwork(4, lr=0.02, random_state=0).fit(X)
    kmeans = KMeans(4, n_init=10, random_state=0).fit(X)
    # Q = inertia / 2 at the optimum; a constant step leaves the centres jittering around it
    # by about sqrt(lr) * spread, which costs a few per cent of Q.
    assert net.quality(X) <= 1.05 * kmeans.inertia_ / 2


def test_running_q_tracks_the_mean_squared_distance_after_training(four_blobs):
    X = four_blobs
    net = KohonenNetwork(4, lr=0.02, random_state=0).fit(X)
    true_mean = 2 * net.quality(X) / len(X)
    # The estimate averages about 1/lam = 100 noisy terms: within 20% of the true mean.
    assert net.running_q_[-1] == pytest.approx(true_mean, rel=0.2)
    assert net.running_q_[-1] < net.running_q_[0]


def test_wta_from_a_bad_start_leaves_a_dead_unit(four_blobs):
    net = KohonenNetwork(4, rule="wta", init=BAD_INIT, max_iter=3000, random_state=0)
    net.fit(four_blobs)
    assert np.sum(net.win_counts_ == 0) >= 1
    assert len(np.unique(net.labels_)) < 4


def test_wtm_from_the_same_bad_start_uses_every_unit(four_blobs):
    net = KohonenNetwork(
        4, rule="wtm", kernel="rank", sigma=0.5, init=BAD_INIT, max_iter=3000, random_state=0
    )
    net.fit(four_blobs)
    assert np.all(net.win_counts_ > 0)
    # Every blob gets its own unit: each unit ends with about a quarter of the points.
    np.testing.assert_array_equal(np.bincount(net.labels_, minlength=4), [150] * 4)


def test_wtm_with_the_plain_kernel_moves_every_unit_from_the_bad_start(four_blobs):
    net = KohonenNetwork(4, rule="wtm", sigma=3.0, init=BAD_INIT, max_iter=500, random_state=0)
    net.fit(four_blobs)
    assert np.all(np.linalg.norm(net.cluster_centers_ - BAD_INIT, axis=1) > 1.0)


def test_fit_is_deterministic_under_random_state(four_blobs):
    first = KohonenNetwork(4, rule="wtm", max_iter=800, random_state=7).fit(four_blobs)
    second = KohonenNetwork(4, rule="wtm", max_iter=800, random_state=7).fit(four_blobs)
    np.testing.assert_array_equal(first.cluster_centers_, second.cluster_centers_)
    np.testing.assert_array_equal(first.running_q_, second.running_q_)


def test_tol_stops_training_once_q_stabilises(four_blobs):
    net = KohonenNetwork(4, lr=0.02, tol=0.05, max_iter=100_000, random_state=0).fit(four_blobs)
    # Stopping is checked after each pass over the sample: a whole number of passes, far
    # fewer than max_iter once the running Q settles within 5% from one pass to the next.
    assert net.n_iter_ % len(four_blobs) == 0
    assert net.n_iter_ <= 20 * len(four_blobs)
    assert net.running_q_.shape == (net.n_iter_ + 1,)


def test_uniform_init_starts_inside_the_bounding_box(four_blobs):
    net = KohonenNetwork(5, init="uniform", max_iter=1, random_state=0).fit(four_blobs)
    # one SG step moves one centre towards an object, so it stays inside the box too
    assert net.cluster_centers_.shape == (5, 2)
    assert np.all(net.cluster_centers_ >= four_blobs.min(axis=0))
    assert np.all(net.cluster_centers_ <= four_blobs.max(axis=0))


def test_transform_and_predict_agree(four_blobs):
    net = KohonenNetwork(4, max_iter=600, random_state=0).fit(four_blobs)
    np.testing.assert_array_equal(net.predict(four_blobs), net.transform(four_blobs).argmin(1))
    np.testing.assert_array_equal(net.labels_, net.predict(four_blobs))


def test_manhattan_metric_picks_the_winner_by_manhattan_distance():
    units = np.array([[2.0, 0.0], [1.2, 1.2]])  # Euclidean: unit 1 nearer; Manhattan: unit 0
    net = KohonenNetwork(2, lr=0.5, metric="manhattan", init=units).partial_fit([0.0, 0.0])
    np.testing.assert_allclose(net.cluster_centers_, [[1.0, 0.0], [1.2, 1.2]], rtol=RTOL)


# --- LVQ: single steps --------------------------------------------------------------------


def lvq_at(prototypes, labels, lr=0.5, lam=1.0):
    """An LVQ whose prototypes are exactly ``prototypes`` (one per class, labels ``labels``).

    Fitted on the prototypes themselves: with one member per class, ``init="random"`` makes each
    member its class's prototype, and the one SG step of ``max_iter=1`` (on a member, at
    distance 0) moves nothing. ``lam=1`` makes the running Q equal to the last step's loss.
    """
    return LVQ(lr=lr, lam=lam, max_iter=1, random_state=0).fit(prototypes, labels)


def test_lvq_at_starts_from_the_given_prototypes():
    model = lvq_at([[1.0, 0.0], [3.0, 4.0]], ["a", "b"])
    np.testing.assert_array_equal(model.prototypes_, [[1.0, 0.0], [3.0, 4.0]])
    np.testing.assert_array_equal(model.prototype_labels_, ["a", "b"])


def test_lvq_attracts_the_nearest_prototype_of_the_right_class():
    model = lvq_at([[1.0, 0.0], [3.0, 4.0]], ["a", "b"]).partial_fit([0.0, 0.0], ["a"])
    np.testing.assert_allclose(model.prototypes_, [[0.5, 0.0], [3.0, 4.0]], rtol=RTOL)
    assert model.running_q_[-1] == pytest.approx(1.0)  # +rho^2 = +1: the class is right


def test_lvq_repels_the_nearest_prototype_of_a_wrong_class():
    model = lvq_at([[1.0, 0.0], [3.0, 4.0]], ["a", "b"]).partial_fit([0.0, 0.0], ["b"])
    np.testing.assert_allclose(model.prototypes_, [[1.5, 0.0], [3.0, 4.0]], rtol=RTOL)
    assert model.running_q_[-1] == pytest.approx(-1.0)  # -rho^2 = -1: the nearest is "a"


def test_lvq_running_q_starts_from_the_signed_mean_and_follows_the_recursion():
    # init="kmeans" with one prototype per class starts at the class means: [1, 0] for
    # class 0 (objects [0, 0] and [2, 0]) and [5, 0] for class 1. Signed rho^2 at the start:
    # +1, +1, 0, so Q_0 = 2/3. Then one step per object, in order (lr 0.1, lam 0.5):
    #   [0, 0], class 0: nearest [1, 0], right, loss +1;    w_0 -> [0.9, 0]
    #   [2, 0], class 0: nearest [0.9, 0], right, loss +1.21; w_0 -> [1.01, 0]
    #   [5, 0], class 1: nearest [5, 0], right, loss 0.
    X, y = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 0.0]]), np.array([0, 0, 1])
    model = LVQ(lr=0.1, lam=0.5, init="kmeans", random_state=0).partial_fit(X, y)
    q = [2 / 3]
    for loss in (1.0, 1.21, 0.0):
        q.append(0.5 * q[-1] + 0.5 * loss)
    np.testing.assert_allclose(model.running_q_, q, rtol=RTOL)
    np.testing.assert_allclose(model.prototypes_, [[1.01, 0.0], [5.0, 0.0]], rtol=RTOL)
    assert model.n_iter_ == 3


def test_lvq_partial_fit_in_two_calls_takes_the_same_steps_as_in_one():
    X = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 1.0], [1.0, 0.0], [3.0, 1.0]])
    y = np.array(["a", "b", "a", "b", "b"])
    once = lvq_at([[1.0, 0.0], [3.0, 4.0]], ["a", "b"], lr=0.1, lam=0.3).partial_fit(X, y)
    twice = lvq_at([[1.0, 0.0], [3.0, 4.0]], ["a", "b"], lr=0.1, lam=0.3)
    twice.partial_fit(X[:2], y[:2]).partial_fit(X[2:], y[2:])
    np.testing.assert_array_equal(twice.prototypes_, once.prototypes_)
    np.testing.assert_array_equal(twice.running_q_, once.running_q_)
    assert twice.n_iter_ == once.n_iter_ == 1 + 5


def test_lvq_partial_fit_rejects_a_class_it_was_not_initialised_with():
    model = lvq_at([[1.0, 0.0], [3.0, 4.0]], ["a", "b"])
    with pytest.raises(ValueError, match=r"not initialised with: \['c'\]"):
        model.partial_fit([0.0, 0.0], ["c"])


# --- LVQ: training ----------------------------------------------------------------------------


@pytest.fixture
def moons():
    X, y = make_moons(600, noise=0.1, random_state=0)
    return train_test_split(X, y, test_size=0.5, random_state=0)


def test_lvq_with_several_prototypes_per_class_beats_one_on_moons(moons):
    X_train, X_test, y_train, y_test = moons
    one = LVQ(1, lr=0.02, max_iter=6000, random_state=0).fit(X_train, y_train)
    many = LVQ(5, lr=0.02, max_iter=6000, random_state=0).fit(X_train, y_train)
    # One prototype per class is a straight boundary (~85% here); five follow the moons.
    assert many.score(X_test, y_test) >= one.score(X_test, y_test) + 0.08
    assert many.score(X_test, y_test) >= 0.95


def test_lvq_on_house_votes_matches_nearest_centroid():
    X, y, _ = load_house_votes()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    baseline = NearestCentroid().fit(X_train, y_train).score(X_test, y_test)
    model = LVQ(2, lr=0.02, max_iter=6000, random_state=0).fit(X_train, y_train)
    # NearestCentroid scores about 0.89 here; two points of accuracy is 2-3 test objects.
    assert model.score(X_test, y_test) >= baseline - 0.02
    assert set(model.prototype_labels_) == {"democrat", "republican"}


def test_lvq_kmeans_init_starts_from_within_class_centres(moons):
    X_train, _, y_train, _ = moons
    model = LVQ(3, init="kmeans", max_iter=1, random_state=0).fit(X_train, y_train)
    np.testing.assert_array_equal(model.prototype_labels_, [0, 0, 0, 1, 1, 1])
    for label in (0, 1):  # each class's prototypes quantize it as well as k-means does
        X_class = X_train[y_train == label]
        prototypes = model.prototypes_[model.prototype_labels_ == label]
        inertia = ((X_class[:, None] - prototypes[None]) ** 2).sum(axis=2).min(axis=1).sum()
        best = KMeans(3, n_init=10, random_state=0).fit(X_class).inertia_
        assert inertia <= 1.01 * best  # 1.0000 and 1.0002 here: one SG step moves one prototype


def test_lvq_is_deterministic_under_random_state(moons):
    X_train, _, y_train, _ = moons
    first = LVQ(3, max_iter=500, random_state=5).fit(X_train, y_train)
    second = LVQ(3, max_iter=500, random_state=5).fit(X_train, y_train)
    np.testing.assert_array_equal(first.prototypes_, second.prototypes_)


def test_lvq_quality_is_the_signed_criterion():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    model = lvq_at([[0.0, 0.0], [4.0, 0.0]], [0, 1])
    # Nearest prototypes: 0 (right, 0), 0 (wrong: rho^2 = 4 -> -4), 1 (right, 1): Q = -3.
    assert model.quality(X, [0, 1, 1]) == pytest.approx(-3.0)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rule": "xyz"}, "rule"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"n_units": 0}, "n_units"),
        ({"lam": 1.5}, "lam"),
        ({"kernel": "box"}, "kernel"),
        ({"sigma": 0.0}, "sigma"),
        ({"init": "pca"}, "init"),
        ({"init": np.zeros((3, 2))}, "init"),
        ({"metric": "hamming"}, "metric"),
    ],
)
def test_kohonen_rejects_bad_parameters(four_blobs, params, message):
    with pytest.raises(ValueError, match=message):
        KohonenNetwork(**{"n_units": 4, **params}).fit(four_blobs)


def test_kohonen_rejects_nan_input():
    X = np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="NaN"):
        KohonenNetwork(2).fit(X)


def test_kohonen_rejects_more_units_than_objects_for_random_init():
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_units=4"):
        KohonenNetwork(4).fit(np.eye(3))


def test_kohonen_rejects_the_wrong_feature_count(four_blobs):
    net = KohonenNetwork(4, max_iter=10).fit(four_blobs)
    with pytest.raises(ValueError, match="3 features, but KohonenNetwork is expecting 2"):
        net.predict(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="3 features"):
        net.partial_fit(np.zeros(3))


@pytest.mark.parametrize("method", ["predict", "transform", "quality"])
def test_kohonen_before_fit_raises_not_fitted(method):
    with pytest.raises(NotFittedError):
        getattr(KohonenNetwork(2), method)(np.zeros((3, 2)))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"prototypes_per_class": 0}, "prototypes_per_class"),
        ({"lr": 0.0}, "lr"),
        ({"init": "xyz"}, "init"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_lvq_rejects_bad_parameters(moons, params, message):
    X_train, _, y_train, _ = moons
    with pytest.raises(ValueError, match=message):
        LVQ(**params).fit(X_train, y_train)


def test_lvq_rejects_labels_of_the_wrong_length(moons):
    X_train, _, y_train, _ = moons
    with pytest.raises(ValueError, match="y has 299 entries but X has 300 rows"):
        LVQ().fit(X_train, y_train[:-1])


def test_lvq_rejects_a_single_class(moons):
    X_train, _, _, _ = moons
    with pytest.raises(ValueError, match="one class"):
        LVQ().fit(X_train, np.zeros(len(X_train)))


def test_lvq_rejects_nan_input(moons):
    X_train, _, y_train, _ = moons
    X_train = X_train.copy()
    X_train[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LVQ().fit(X_train, y_train)


def test_lvq_rejects_the_wrong_feature_count(moons):
    X_train, _, y_train, _ = moons
    model = LVQ(max_iter=10).fit(X_train, y_train)
    with pytest.raises(ValueError, match="5 features, but LVQ is expecting 2"):
        model.predict(np.zeros((4, 5)))


def test_lvq_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        LVQ().predict(np.zeros((3, 2)))


# --- the scikit-learn estimator API -------------------------------------------------------


@parametrize_with_checks(
    [
        KohonenNetwork(n_units=3, max_iter=1500, random_state=0),
        LVQ(prototypes_per_class=2, max_iter=1500, random_state=0),
    ]
)
def test_sklearn_estimator_api(estimator, check):
    check(estimator)


# --- figures of coursekit.plots.prototypes ------------------------------------------------


@pytest.fixture
def agg_pyplot():
    """Headless matplotlib; every figure closed after the test."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_decision_regions_draws_points_and_prototypes_by_class(agg_pyplot, moons):
    from coursekit.plots import plot_decision_regions

    X_train, _, y_train, _ = moons
    model = LVQ(2, max_iter=300, random_state=0).fit(X_train, y_train)
    ax = plot_decision_regions(model, X_train, y_train, resolution=30)
    from matplotlib.collections import PathCollection  # scatter's; the regions are a ContourSet

    points = [c for c in ax.collections if type(c) is PathCollection]
    assert len(points) == 4
    # Two classes of points, then two sets of prototypes (two per class).
    np.testing.assert_array_equal(points[0].get_offsets(), X_train[y_train == 0])
    np.testing.assert_array_equal(points[-1].get_offsets(), model.prototypes_[2:])


def test_plot_running_q_draws_the_running_estimate(agg_pyplot):
    from coursekit.plots import plot_running_q

    ax = plot_running_q([3.0, 2.0, 1.5], true_q=[3.0, 1.0], true_steps=[0, 2])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [3.0, 2.0, 1.5])
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [0, 2])
