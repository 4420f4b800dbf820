"""coursekit.plots: the figures draw what they are given, and never show them.

Each test inspects the Axes the function returns (its scatter collections, their offsets
and colours, titles, contour ranges) instead of comparing images, so it checks content and
runs headless with matplotlib's Agg backend.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from scipy.spatial.distance import cdist

from coursekit import plots


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch):
    """Fail if a plot function calls plt.show(); close every figure after the test."""

    def forbidden_show(*args, **kwargs):
        raise AssertionError("plot functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", forbidden_show)
    yield
    plt.close("all")


@pytest.fixture
def points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 2)), np.repeat([2, 0, 1], 10)


def face_colours(collection):
    return {to_hex(colour) for colour in collection.get_facecolors()}


# --- plot_clusters --------------------------------------------------------------------------


def test_plot_clusters_draws_one_collection_per_cluster_holding_its_points(points):
    X, labels = points
    ax = plots.plot_clusters(X, labels)
    assert len(ax.collections) == 3
    for cluster, collection in zip(np.unique(labels), ax.collections):
        np.testing.assert_array_equal(collection.get_offsets(), X[labels == cluster])


def test_plot_clusters_gives_each_cluster_its_own_colour(points):
    X, labels = points
    ax = plots.plot_clusters(X, labels)
    colours = [face_colours(collection) for collection in ax.collections]
    assert all(len(colour) == 1 for colour in colours)
    assert len(set.union(*colours)) == 3


def test_plot_clusters_marks_the_centres_in_an_extra_collection(points):
    X, labels = points
    centers = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
    ax = plots.plot_clusters(X, labels, centers)
    assert len(ax.collections) == 4
    np.testing.assert_array_equal(ax.collections[-1].get_offsets(), centers)


def test_plot_clusters_draws_on_the_given_axes_with_a_title(points):
    X, labels = points
    _, ax = plt.subplots()
    assert plots.plot_clusters(X, labels, ax=ax, title="blobs") is ax
    assert ax.get_title() == "blobs"


def test_plot_clusters_without_labels_draws_one_cluster_and_no_legend(points):
    X, _ = points
    ax = plots.plot_clusters(X)
    assert len(ax.collections) == 1
    assert len(ax.collections[0].get_offsets()) == len(X)
    assert ax.get_legend() is None


def test_plot_clusters_names_string_labels_in_the_legend(points):
    X, _ = points
    party = np.array(["democrat", "republican"] * 15)
    ax = plots.plot_clusters(X, party)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["democrat", "republican"]


def test_plot_clusters_has_distinct_colours_for_many_clusters():
    X = np.random.default_rng(1).normal(size=(25, 2))
    ax = plots.plot_clusters(X, np.arange(25))  # beyond tab20: colours from hsv
    assert len(set.union(*(face_colours(c) for c in ax.collections))) == 25


def test_plot_clusters_handles_an_empty_set_and_a_single_point():
    assert len(plots.plot_clusters(np.empty((0, 2)), np.array([])).collections) == 0
    assert len(plots.plot_clusters([[1.0, 2.0]], [0]).collections) == 1


def test_plot_clusters_rejects_points_that_are_not_2d():
    with pytest.raises(ValueError, match="X2d must have 2 columns"):
        plots.plot_clusters(np.zeros((4, 3)))


def test_plot_clusters_rejects_labels_of_the_wrong_length(points):
    X, _ = points
    with pytest.raises(ValueError, match="labels must have shape"):
        plots.plot_clusters(X, [0, 1])


def test_plot_clusters_rejects_centres_that_are_not_2d(points):
    X, labels = points
    with pytest.raises(ValueError, match="centers must have 2 columns"):
        plots.plot_clusters(X, labels, np.zeros((2, 3)))


# --- plot_partitions ------------------------------------------------------------------------


def test_plot_partitions_draws_one_titled_panel_per_partition(points):
    X, labels = points
    partitions = {"truth": labels, "one cluster": np.zeros(30), "halves": X[:, 0] > 0}
    fig = plots.plot_partitions(X, partitions, ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(partitions)
    assert [len(ax.collections) for ax in visible] == [3, 1, 2]
    assert len(fig.axes) == 4  # a 2 x 2 grid, the spare panel hidden


def test_plot_partitions_passes_the_centres_of_each_panel(points):
    X, labels = points
    centers = {"truth": np.zeros((3, 2))}
    fig = plots.plot_partitions(X, {"truth": labels, "again": labels}, centers=centers)
    assert [len(ax.collections) for ax in fig.axes] == [4, 3]


def test_plot_partitions_rejects_no_partitions(points):
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_partitions(points[0], {})


# --- plot_distance_map ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "metric, scipy_name",
    [("euclidean", "euclidean"), ("manhattan", "cityblock"), ("chebyshev", "chebyshev")],
)
def test_plot_distance_map_spans_the_distances_over_the_grid(metric, scipy_name):
    # With an even resolution the grid is linspace(-2, 2, 100) in each axis, no shift.
    ax = plots.plot_distance_map(metric, center=(1.0, 0.5), extent=2.0, resolution=100)
    axis = np.linspace(-2.0, 2.0, 100)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(axis, axis)])
    expected = cdist(grid, [[1.0, 0.5]], scipy_name)
    filled = ax.collections[0]
    assert filled.zmax == pytest.approx(expected.max(), rel=1e-12)
    assert filled.zmin == pytest.approx(expected.min(), abs=1e-7)


def test_plot_distance_map_draws_the_cosine_distance_around_the_origin():
    # The default odd grid is shifted off the origin, where the cosine distance is undefined.
    ax = plots.plot_distance_map("cosine", resolution=201)
    assert 0.0 <= ax.collections[0].zmin and ax.collections[0].zmax <= 2.0


def test_plot_distance_map_titles_a_callable_metric_by_its_name():
    from coursekit.distances import minkowski

    assert plots.plot_distance_map(minkowski(3)).get_title() == "minkowski(p=3)"


def test_plot_distance_map_rejects_a_centre_that_is_not_one_2d_point():
    with pytest.raises(ValueError, match="center must be one 2-D point"):
        plots.plot_distance_map("euclidean", center=(0.0, 1.0, 2.0))
