"""coursekit.som against hand-computed steps, closed forms, brute force and scikit-learn.

References: a single online step and a batch step computed by hand or by explicit loops over
nodes and samples; brute-force loops for the quality measures and maps; scikit-learn's PCA and
NearestNeighbors; scikit-learn's estimator checks.

Tolerances. Everything is float64. Distances use the expansion ||x||^2 - 2<x, w> + ||w||^2,
whose rounding error is ~ d * 1e-16 * (||x||^2 + ||w||^2): below 1e-13 for the data here, so
rtol=1e-9 catches any wrong formula (errors of order 1e-3 or more) with a wide margin. The
online loop skips steps below 1e-6 (``NEGLIGIBLE``), so a whole trained map is compared with
atol=1e-5.
"""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.estimator_checks import parametrize_with_checks

from coursekit import plots, som
from coursekit.som import SOM

RTOL = 1e-9


@pytest.fixture
def rng():
    return np.random.default_rng(20261126)


@pytest.fixture
def fitted(rng):
    X = rng.normal(size=(150, 3))
    return SOM(4, 5, epochs=3, random_state=0).fit(X), X


# --- the three phases ------------------------------------------------------------------------


def test_online_step_matches_a_hand_computed_step():
    # A 1x3 map in 1-D: w = (0, 1, 2), x = 1.2 -> winner 1 (|1.2 - 1| is the smallest).
    weights = np.array([[0.0], [1.0], [2.0]])
    r = som.grid_distances(1, 3)
    winner = som.online_step(np.array([1.2]), weights, r, alpha=0.5, sigma=1.0)
    assert winner == 1
    h = np.array([np.exp(-0.5), 1.0, np.exp(-0.5)])  # exp(-r^2 / 2) with r = (1, 0, 1)
    expected = np.array([0.0, 1.0, 2.0]) + 0.5 * h * (1.2 - np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(weights[:, 0], expected, rtol=RTOL)


def test_bubble_moves_exactly_the_nodes_within_sigma():
    weights = np.zeros((9, 2))
    r = som.grid_distances(3, 3)
    weights[4] = [0.1, 0.1]  # the centre node wins x = (1, 1)
    before = weights.copy()
    som.online_step(np.array([1.0, 1.0]), weights, r, alpha=0.5, sigma=1.0, kind="bubble")
    moved = np.any(weights != before, axis=1)
    np.testing.assert_array_equal(moved, r[4] <= 1.0)  # the centre and its 4 neighbours
    np.testing.assert_allclose(weights[4], before[4] + 0.5 * (1.0 - before[4]), rtol=RTOL)


def test_gaussian_neighbourhood_is_the_lecture_formula():
    r = np.array([0.0, 1.0, 2.0, 3.5])
    np.testing.assert_allclose(som.neighbourhood(r, 1.5), np.exp(-(r**2) / (2 * 1.5**2)), rtol=RTOL)


def test_exponential_schedule_values():
    # a(n) = a0 exp(-n / tau), tau = T / ln(a0 / a_end): a(0) = a0, a(T) = a_end, a(T/2) = geo mean
    values = som.decay(0.5, 0.005, np.array([0, 50, 100]), 100, "exponential")
    np.testing.assert_allclose(values, [0.5, 0.05, 0.005], rtol=RTOL)
    tau = 100 / np.log(100)
    np.testing.assert_allclose(som.decay(0.5, 0.005, 7, 100), 0.5 * np.exp(-7 / tau), rtol=RTOL)


def test_linear_schedule_values():
    values = som.decay(2.0, 0.5, np.array([0, 25, 100]), 100, "linear")
    np.testing.assert_allclose(values, [2.0, 1.625, 0.5], rtol=RTOL)


def test_batch_step_is_the_closed_form_weighted_mean(rng):
    X, weights = rng.normal(size=(40, 3)), rng.normal(size=(6, 3))
    h = som.neighbourhood(som.grid_distances(2, 3), 0.8)
    winners = [np.argmin([np.linalg.norm(x - w) for w in weights]) for x in X]
    expected = np.array(
        [
            sum(h[j, c] * x for x, c in zip(X, winners)) / sum(h[j, c] for c in winners)
            for j in range(6)
        ]
    )
    np.testing.assert_allclose(som.batch_step(X, weights, h), expected, rtol=RTOL)


def test_online_fit_equals_repeated_online_steps(rng):
    X = rng.normal(size=(30, 2))
    model = SOM(3, 3, epochs=2, random_state=5).fit(X)
    # Replay with the plain step: same initial weights and orders from the same seed
    # (SOM draws from sklearn's check_random_state(5), a RandomState).
    replay = np.random.RandomState(5)
    weights = replay.uniform(-1 / 18, 1 / 18, size=(9, 2))
    r = som.grid_distances(3, 3)
    steps = np.arange(60)
    alphas = som.decay(0.5, 0.01, steps, 60)
    sigmas = som.decay(1.5, 0.5, steps, 60)
    for epoch in range(2):
        for n, i in enumerate(replay.permutation(30)):
            step = epoch * 30 + n
            som.online_step(X[i], weights, r, alphas[step], sigmas[step])
    np.testing.assert_allclose(model.weights_.reshape(9, 2), weights, atol=1e-5)


# --- grids -----------------------------------------------------------------------------------


def test_hex_grid_inner_node_has_six_neighbours_at_distance_one():
    r = som.grid_distances(5, 5, "hex")
    for inner in [6, 7, 12, 17, 18]:  # nodes off the border, on even and odd rows
        at_one = np.isclose(r[inner], 1.0)
        assert at_one.sum() == 6
        assert np.all(r[inner][~at_one & (r[inner] > 0)] > 1.5)  # next ring at sqrt(3)


def test_rect_grid_distance_is_the_lecture_metric():
    r = som.grid_distances(3, 4)
    m, h = np.divmod(np.arange(12), 4)
    expected = np.sqrt((m[:, None] - m[None]) ** 2 + (h[:, None] - h[None]) ** 2)
    np.testing.assert_allclose(r, expected, rtol=RTOL)


def test_rect_adjacency_has_eight_neighbours_inside():
    adjacency = som.grid_adjacency(4, 4, "rect")
    assert adjacency[5].sum() == 8 and adjacency[0].sum() == 3


# --- quality and maps against brute force --------------------------------------------------


def _brute_bmus(X, weights):
    flat = weights.reshape(-1, weights.shape[2])
    distances = np.array([[np.linalg.norm(x - w) for w in flat] for x in X])
    return distances, np.argsort(distances, axis=1)


def test_winner_and_quantization_error_match_brute_force(fitted):
    model, X = fitted
    distances, order = _brute_bmus(X, model.weights_)
    np.testing.assert_array_equal(model.winner(X), np.column_stack(np.divmod(order[:, 0], 5)))
    expected = np.mean(distances[np.arange(len(X)), order[:, 0]])
    np.testing.assert_allclose(model.quantization_error(X), expected, rtol=RTOL)


@pytest.mark.parametrize("topology", ["rect", "hex"])
def test_topographic_error_matches_brute_force(rng, topology):
    X = rng.normal(size=(200, 3))
    model = SOM(4, 5, epochs=1, topology=topology, random_state=1).fit(X)
    _, order = _brute_bmus(X, model.weights_)
    coordinates = som.grid_coordinates(4, 5, topology)
    limit = {"rect": np.sqrt(2), "hex": 1.0}[topology]
    gaps = [np.linalg.norm(coordinates[a] - coordinates[b]) for a, b in order[:, :2]]
    expected = np.mean([gap > limit + 1e-9 for gap in gaps])
    assert model.topographic_error(X) == pytest.approx(expected)


@pytest.mark.parametrize("topology", ["rect", "hex"])
def test_umatrix_matches_a_loop(rng, topology):
    weights = rng.normal(size=(3, 4, 2))
    coordinates = som.grid_coordinates(3, 4, topology)
    limit = {"rect": np.sqrt(2), "hex": 1.0}[topology]
    expected = np.zeros((3, 4))
    for j in range(12):
        gaps = [
            np.linalg.norm(weights.reshape(12, 2)[j] - weights.reshape(12, 2)[c])
            for c in range(12)
            if c != j and np.linalg.norm(coordinates[j] - coordinates[c]) <= limit + 1e-9
        ]
        expected[divmod(j, 4)] = np.mean(gaps)
    np.testing.assert_allclose(som.umatrix(weights, topology), expected, rtol=RTOL)


def test_density_map_matches_sklearn_nearest_neighbors(fitted):
    model, X = fitted
    nodes = model.weights_.reshape(-1, 3)
    distances, _ = NearestNeighbors(n_neighbors=4).fit(X).kneighbors(nodes)
    np.testing.assert_allclose(
        model.density_map(X, k=4), distances.mean(axis=1).reshape(4, 5), rtol=1e-7
    )


def test_hit_map_counts_winners_and_sums_to_n(fitted):
    model, X = fitted
    hits = model.hit_map(X)
    assert hits.sum() == len(X)
    winners = model.winner(X)
    assert hits[tuple(winners[0])] == np.sum(np.all(winners == winners[0], axis=1))


def test_component_planes_are_the_weights_by_feature(fitted):
    model, _ = fitted
    planes = model.component_planes()
    assert planes.shape == (3, 4, 5)
    np.testing.assert_array_equal(planes[2], model.weights_[:, :, 2])


def test_transform_gives_distances_to_every_node(fitted):
    model, X = fitted
    distances, _ = _brute_bmus(X[:10], model.weights_)
    np.testing.assert_allclose(model.transform(X[:10]), distances, rtol=1e-7)


# --- initialisation --------------------------------------------------------------------------


def test_random_init_is_the_lecture_interval(rng):
    X = rng.normal(size=(20, 4))
    model = SOM(3, 4, epochs=1, keep_snapshots=True, random_state=0).fit(X)
    assert np.all(np.abs(model.snapshots_[0]) <= 1 / (2 * 12))


@pytest.mark.parametrize("n_samples", [300, 8])  # covariance route (n > d) and SVD route
def test_pca_init_spans_the_top_two_components(rng, n_samples):
    X = rng.normal(size=(n_samples, 5)) * [3.0, 2.0, 1.0, 0.5, 0.1] + 1.0
    if n_samples < 10:
        X = np.hstack([X, rng.normal(size=(n_samples, 7)) * 0.01])  # more features than samples
    weights = som.pca_weights(X, 4, 6)
    pca = PCA(n_components=2).fit(X)
    offsets = weights - pca.mean_
    residual = offsets - offsets @ pca.components_.T @ pca.components_
    np.testing.assert_allclose(residual, 0.0, atol=1e-10)
    along = offsets @ pca.components_.T  # PC1 along the 6 columns, PC2 along the 4 rows
    spread = np.sqrt(pca.explained_variance_)
    np.testing.assert_allclose(np.abs(along).max(axis=0), spread, rtol=1e-9)
    np.testing.assert_allclose(
        np.abs(along[:6, 0]), spread[0] * np.abs(np.linspace(-1, 1, 6)), rtol=1e-9
    )


@pytest.mark.parametrize("n_samples", [300, 8])
def test_pca_init_of_a_tensor_is_computed_in_torch_and_equals_numpys(rng, n_samples):
    X = rng.normal(size=(n_samples, 12)) * np.linspace(3.0, 0.1, 12)
    on_numpy = som.pca_weights(X, 4, 6)
    on_torch = som.pca_weights(torch.from_numpy(X), 4, 6)  # the device of a GPU map's data
    assert torch.is_tensor(on_torch) and on_torch.dtype == torch.float64
    # Eigenvectors have no sign: compare the coordinates along each principal axis up to sign.
    axes = PCA(n_components=2).fit(X).components_
    offsets, torch_offsets = on_numpy - X.mean(axis=0), on_torch.numpy() - X.mean(axis=0)
    np.testing.assert_allclose(torch_offsets - torch_offsets @ axes.T @ axes, 0.0, atol=1e-10)
    np.testing.assert_allclose(np.abs(torch_offsets @ axes.T), np.abs(offsets @ axes.T),
                               atol=1e-10)


# --- behaviour of a trained map ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_trained_map_on_uniform_square_is_ordered(rng, mode):
    X = rng.uniform(0, 1, size=(1000, 2))
    model = SOM(8, 8, epochs=10, mode=mode, init="small", random_state=0).fit(X - 0.5)
    assert model.topographic_error(X - 0.5) < 0.05
    weights = model.weights_
    # Grid neighbours lie about one cell (1/8) apart; an unordered map has gaps of ~0.5.
    right = np.linalg.norm(weights[:, 1:] - weights[:, :-1], axis=2)
    down = np.linalg.norm(weights[1:] - weights[:-1], axis=2)
    assert max(right.max(), down.max()) < 0.3
    assert model.quantization_error(X - 0.5) < 0.08


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_float32_training_gives_nearly_the_float64_map(rng, mode):
    # Single precision rounds each step at ~1e-7 relative; over 2 epochs of 200 steps on data
    # of scale 1 the maps differ by far less than 1e-3 unless a winner flips (it does not here).
    X = rng.normal(size=(200, 3))
    params = {"epochs": 2, "mode": mode, "init": "pca", "random_state": 0}
    double = SOM(4, 4, **params).fit(X).weights_
    single = SOM(4, 4, dtype="float32", **params).fit(X).weights_
    assert single.dtype == np.float64
    np.testing.assert_allclose(single, double, atol=1e-3)


def test_same_random_state_gives_the_same_map(rng):
    X = rng.normal(size=(60, 3))
    first = SOM(3, 3, epochs=2, random_state=7).fit(X).weights_
    again = SOM(3, 3, epochs=2, random_state=7).fit(X).weights_
    other = SOM(3, 3, epochs=2, random_state=8).fit(X).weights_
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_snapshots_hold_initial_weights_and_one_per_epoch(rng, mode):
    X = rng.normal(size=(50, 2))
    model = SOM(3, 4, epochs=5, mode=mode, keep_snapshots=True, random_state=0).fit(X)
    assert model.snapshots_.shape == (6, 3, 4, 2)
    np.testing.assert_array_equal(model.snapshots_[-1], model.weights_)
    assert not hasattr(SOM(3, 4, epochs=1).fit(X), "snapshots_")


# --- batch training on torch (a GPU when there is one) -----------------------------------------

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_batch_step_torch_equals_the_numpy_batch_step(rng):
    X, weights = rng.normal(size=(300, 4)), rng.normal(size=(12, 4))
    h = som.neighbourhood(som.grid_distances(3, 4), 1.1)
    on_torch = som.batch_step_torch(*(torch.from_numpy(a) for a in (X, weights, h)))
    np.testing.assert_allclose(on_torch.numpy(), som.batch_step(X, weights, h), rtol=RTOL)


def test_batch_step_torch_keeps_a_node_with_no_sample_in_its_neighbourhood():
    X = np.array([[0.0, 0.0], [0.1, 0.0]])
    weights = np.array([[0.0, 0.0], [9.0, 9.0]])
    h = np.eye(2)  # each node sees only its own winners; node 1 wins nothing
    new = som.batch_step_torch(*(torch.from_numpy(a) for a in (X, weights, h))).numpy()
    np.testing.assert_allclose(new, [[0.05, 0.0], [9.0, 9.0]])


@needs_cuda
@pytest.mark.parametrize("dtype, atol", [("float64", 1e-9), ("float32", 1e-4)])
def test_batch_fit_on_the_gpu_gives_the_cpu_map(rng, dtype, atol):
    # Same PCA start and the same deterministic epochs; only the order of float sums differs.
    X = rng.normal(size=(500, 5))
    params = {"epochs": 4, "mode": "batch", "init": "pca", "dtype": dtype}
    on_cpu = SOM(5, 6, device="cpu", **params).fit(X)
    on_gpu = SOM(5, 6, device="cuda", keep_snapshots=True, **params).fit(X)
    np.testing.assert_allclose(on_gpu.weights_, on_cpu.weights_, atol=atol)
    np.testing.assert_array_equal(on_gpu.snapshots_[-1], on_gpu.weights_)


@needs_cuda
def test_default_device_trains_batch_maps_on_the_gpu(monkeypatch, rng):
    calls = []
    monkeypatch.setattr(som, "batch_step_torch", lambda *a: calls.append(a[1].device) or a[1])
    SOM(3, 3, epochs=2, mode="batch").fit(rng.normal(size=(40, 2)))
    assert [device.type for device in calls] == ["cuda", "cuda"]


@needs_cuda
def test_online_mode_on_a_gpu_is_refused_by_name():
    with pytest.raises(ValueError, match="device='cuda' needs mode='batch'"):
        SOM(2, 2, mode="online", device="cuda").fit(np.zeros((5, 2)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_a_gpu_is_refused_by_name():
    with pytest.raises(ValueError, match="device is 'cuda' but CUDA is not available"):
        SOM(2, 2, mode="batch", device="cuda").fit(np.zeros((5, 2)))


def test_unknown_device_is_refused_by_name():
    with pytest.raises(ValueError, match="device must be like 'cpu' or 'cuda'"):
        SOM(2, 2, mode="batch", device="banana").fit(np.zeros((5, 2)))


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"rows": 0}, "rows"),
        ({"cols": 0}, "cols"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -1.0}, "sigma"),
        ({"topology": "tri"}, "topology"),
        ({"neighborhood": "mexican"}, "neighborhood"),
        ({"mode": "minibatch"}, "mode"),
        ({"init": "zeros"}, "init"),
        ({"schedule": "cosine"}, "schedule"),
        ({"lr": 0.0}, "lr"),
        ({"epochs": 0}, "epochs"),
        ({"dtype": "float16"}, "dtype"),
        ({"device": "meta", "mode": "batch"}, "device must be None, 'cpu' or a CUDA device"),
    ],
)
def test_bad_hyper_parameters_raise_naming_them(params, message):
    with pytest.raises(ValueError, match=message):
        SOM(**{"rows": 2, "cols": 2, **params}).fit(np.zeros((5, 2)))


def test_nan_in_X_raises():
    X = np.ones((5, 2))
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SOM(2, 2).fit(X)


def test_wrong_feature_count_in_winner_raises(fitted):
    model, _ = fitted
    with pytest.raises(ValueError, match="X has 2 features"):
        model.winner(np.zeros((4, 2)))


@pytest.mark.parametrize("method", ["winner", "quantization_error", "hit_map", "transform"])
def test_unfitted_map_raises_not_fitted(method):
    with pytest.raises(NotFittedError):
        getattr(SOM(2, 2), method)(np.zeros((3, 2)))


def test_unfitted_umatrix_raises_not_fitted():
    with pytest.raises(NotFittedError):
        SOM(2, 2).umatrix()


# --- scikit-learn's estimator checks --------------------------------------------------------


@parametrize_with_checks([SOM(3, 3, epochs=2, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --- figures (coursekit.plots.som): content checks on the returned Axes, headless ----------


@pytest.mark.parametrize("topology, n_sides", [("rect", 4), ("hex", 6)])
def test_plot_map_draws_one_cell_per_node_with_its_value(close_figures, topology, n_sides):
    values = np.arange(12.0).reshape(3, 4)
    ax = plots.plot_map(values, topology)
    (cells,) = ax.collections
    assert len(cells.get_paths()) == 12
    assert len(cells.get_paths()[0].vertices) == n_sides + 1  # closed polygon
    np.testing.assert_array_equal(cells.get_array(), values.ravel())


def test_plot_umatrix_shows_the_umatrix(close_figures, rng):
    weights = rng.normal(size=(3, 4, 2))
    ax = plots.plot_umatrix(weights, "hex")
    np.testing.assert_allclose(ax.collections[0].get_array(), som.umatrix(weights, "hex").ravel())


def test_plot_hit_map_writes_the_counts(close_figures, fitted):
    model, X = fitted
    ax = plots.plot_hit_map(model, X)
    assert sum(int(text.get_text()) for text in ax.texts) == len(X)


def test_plot_label_map_colours_a_pure_node_with_its_label(close_figures, fitted):
    model, X = fitted
    labels = np.where(X[:, 0] > 0, "b", "a")
    ax = plots.plot_label_map(model, X, labels, colors=["tab:blue", "tab:red"])
    faces = ax.collections[0].get_facecolors()
    winners = model.winner(X) @ [model.cols, 1]
    for node in np.unique(winners):
        won = labels[winners == node]
        if len(won) >= 2 and np.all(won == "b"):
            np.testing.assert_allclose(faces[node], to_rgba("tab:red"))
            break
    else:
        pytest.fail("no pure node of label 'b' to check")
    empty = np.setdiff1d(np.arange(model.rows * model.cols), winners)
    np.testing.assert_allclose(faces[empty], 1.0)  # empty nodes stay white


def test_plot_component_planes_titles_one_panel_per_feature(close_figures, fitted):
    model, _ = fitted
    fig = plots.plot_component_planes(model.weights_, ["a", "b", "c"], features=["c", "a"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titles == ["c", "a"]


def test_plot_som_grid_joins_grid_neighbours(close_figures):
    weights = np.stack(np.meshgrid(np.arange(3.0), np.arange(2.0)), axis=2)  # 2 x 3 grid
    ax = plots.plot_som_grid(weights)
    assert len(ax.lines) == 7  # 2 rows x 2 horizontal + 3 vertical edges
