"""Figures of clusters: points coloured by cluster, centres, partitions, distance maps.

Every function draws on the ``ax`` it is given (or on a new figure), returns the
``Axes`` or ``Figure`` and never calls ``plt.show()``: the notebook decides when to show.
"""

import matplotlib.pyplot as plt
import numpy as np

from coursekit.distances import get_metric
from coursekit.validation import check_matrix

__all__ = [
    "cluster_colors",
    "plot_center_trajectories",
    "plot_clusters",
    "plot_distance_map",
    "plot_gaussian_ellipses",
    "plot_partitions",
]


def cluster_colors(n_clusters):
    """``n_clusters`` distinct RGBA colours: ``tab10``/``tab20`` while they last, then ``hsv``."""
    if n_clusters <= 10:
        return plt.get_cmap("tab10")(np.arange(n_clusters))
    if n_clusters <= 20:
        return plt.get_cmap("tab20")(np.arange(n_clusters))
    return plt.get_cmap("hsv")(np.linspace(0, 1, n_clusters, endpoint=False))


def plot_clusters(X2d, labels=None, centers=None, ax=None, title=None, *, size=12, legend=True):
    """Scatter of 2-D points, one colour per cluster, centres drawn as black-edged crosses.

    ``X2d`` ``[n, 2]``; ``labels`` ``[n]`` (any values; ``None`` draws one cluster);
    ``centers`` ``[k, 2]`` or ``None``. One scatter collection per cluster (in the order of
    ``np.unique(labels)``) and one for the centres. Returns the ``Axes``.
    """
    X2d = check_matrix(X2d, "X2d", allow_empty=True)
    if X2d.shape[1] != 2:
        raise ValueError(f"X2d must have 2 columns, got shape {X2d.shape}")
    labels = np.zeros(len(X2d), dtype=int) if labels is None else np.asarray(labels)
    if labels.shape != (len(X2d),):
        raise ValueError(f"labels must have shape ({len(X2d)},), got {labels.shape}")
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot()
    clusters = np.unique(labels)
    for cluster, color in zip(clusters, cluster_colors(len(clusters))):
        points = X2d[labels == cluster]
        ax.scatter(points[:, 0], points[:, 1], s=size, color=color, label=str(cluster))
    if centers is not None:
        centers = check_matrix(centers, "centers")
        if centers.shape[1] != 2:
            raise ValueError(f"centers must have 2 columns, got shape {centers.shape}")
        ax.scatter(
            centers[:, 0],
            centers[:, 1],
            s=120,
            marker="X",
            color="white",
            edgecolors="black",
            linewidths=1.5,
            label="centres",
            zorder=3,
        )
    if legend and 1 < len(clusters) <= 10:
        ax.legend(fontsize="small", markerscale=1.5, loc="best")
    if title is not None:
        ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def plot_partitions(X2d, partitions, centers=None, ncols=None, panel_size=3.2, **scatter):
    """Side-by-side :func:`plot_clusters` panels of the same points under several partitions.

    ``partitions`` maps a panel title to labels ``[n]``; ``centers`` (optional) maps the same
    titles to ``[k, 2]`` centres. Returns the ``Figure`` (one Axes per partition).
    """
    if not partitions:
        raise ValueError("partitions must map at least one title to labels")
    centers = centers or {}
    ncols = min(len(partitions), 4) if ncols is None else ncols
    nrows = -(-len(partitions) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size * ncols, panel_size * nrows),
        squeeze=False,
        layout="constrained",
    )
    for ax, (title, labels) in zip(axes.flat, partitions.items()):
        plot_clusters(X2d, labels, centers.get(title), ax=ax, title=title, **scatter)
    for ax in axes.flat[len(partitions) :]:
        ax.set_visible(False)
    return fig


def plot_distance_map(
    metric, center=(1.0, 0.5), extent=2.0, ax=None, title=None, resolution=201, levels=8
):
    """Level lines of ``rho(x, center)`` over the square ``[-extent, extent]^2``.

    Shows the "shape" of a distance: circles for Euclidean, diamonds for Manhattan,
    squares for Chebyshev, rays from the origin for cosine. ``metric`` is a name or a
    callable ``f(X, W)``. Returns the ``Axes``.
    """
    center = check_matrix(np.atleast_2d(center), "center")
    if center.shape != (1, 2):
        raise ValueError(f"center must be one 2-D point, got shape {center.shape}")
    axis = np.linspace(-extent, extent, resolution)
    # With an odd number of nodes the grid holds the origin, where the cosine distance is
    # undefined; half a step aside it does not.
    axis = axis + (axis[1] - axis[0]) / 2 if resolution % 2 else axis
    grid_x, grid_y = np.meshgrid(axis, axis)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    rho = get_metric(metric)(points, center).reshape(grid_x.shape)
    if ax is None:
        ax = plt.figure(figsize=(3.5, 3.5)).add_subplot()
    ax.contourf(grid_x, grid_y, rho, levels=levels, cmap="viridis")
    ax.contour(grid_x, grid_y, rho, levels=levels, colors="white", linewidths=0.5)
    ax.plot(*center[0], marker="*", color="red", markersize=12)
    ax.set_title(title if title is not None else getattr(metric, "__name__", str(metric)))
    ax.set_aspect("equal")
    return ax


def plot_center_trajectories(trajectories, X2d=None, ax=None, title=None, *, size=4):
    """Paths of 2-D centres during training: one coloured line per centre.

    ``trajectories`` ``[T, K, 2]`` holds the ``K`` centres at ``T`` moments (first = start).
    Each path is a line with a hollow circle at its start and a black-edged cross at its end;
    the points ``X2d`` ``[n, 2]`` (optional) are drawn in grey underneath. A centre that never
    moves shows as a circle with a cross on it. One ``Line2D`` per centre, in centre order.
    Returns the ``Axes``.
    """
    trajectories = np.asarray(trajectories, dtype=np.float64)
    if trajectories.ndim != 3 or trajectories.shape[2] != 2:
        raise ValueError(f"trajectories must have shape [T, K, 2], got {trajectories.shape}")
    if not np.all(np.isfinite(trajectories)):
        raise ValueError("trajectories contains NaN or infinite values")
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot()
    if X2d is not None:
        X2d = check_matrix(X2d, "X2d")
        if X2d.shape[1] != 2:
            raise ValueError(f"X2d must have 2 columns, got shape {X2d.shape}")
        ax.scatter(X2d[:, 0], X2d[:, 1], s=size, color="0.75", zorder=0)
    colors = cluster_colors(trajectories.shape[1])
    for k, color in enumerate(colors):
        path = trajectories[:, k]
        ax.plot(path[:, 0], path[:, 1], color=color, lw=1.5)
        ax.scatter(*path[0], s=50, facecolors="none", edgecolors=color, linewidths=1.5, zorder=3)
        ax.scatter(*path[-1], s=90, marker="X", color=color, edgecolors="black", zorder=4)
    if title is not None:
        ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def plot_gaussian_ellipses(means, covariances, ax=None, *, n_std=2.0, colors=None, **style):
    """Ellipses ``(x - mu)^T Sigma^-1 (x - mu) = n_std^2`` of 2-D Gaussian components.

    ``means`` ``[K, 2]``; ``covariances`` ``[K, 2, 2]`` (full) or ``[K, 2]`` (variances of a
    diagonal covariance). The axes of each ellipse are ``n_std`` times the square roots of the
    eigenvalues of ``Sigma``, along its eigenvectors. Adds one ``Ellipse`` patch per component
    (``style`` goes to it) and returns the ``Axes``.
    """
    from matplotlib.patches import Ellipse

    means = check_matrix(means, "means")
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariances.ndim == 2:
        covariances = np.stack([np.diag(variances) for variances in covariances])
    if means.shape[1] != 2 or covariances.shape != (len(means), 2, 2):
        raise ValueError(
            f"means must be [K, 2] and covariances [K, 2, 2] or [K, 2], got {means.shape} "
            f"and {covariances.shape}"
        )
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot()
    colors = cluster_colors(len(means)) if colors is None else colors
    style = {"fill": False, "lw": 2, **style}
    for mean, covariance, color in zip(means, covariances, colors):
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending
        angle = np.degrees(np.arctan2(eigenvectors[1, 1], eigenvectors[0, 1]))
        width, height = 2 * n_std * np.sqrt(np.maximum(eigenvalues[::-1], 0.0))
        ax.add_patch(Ellipse(mean, width, height, angle=angle, edgecolor=color, **style))
    ax.autoscale_view()
    return ax
