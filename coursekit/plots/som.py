"""Figures of self-organizing maps: the grid over the data, U-matrix, component planes,
density, hits and labels.

A map is drawn cell by cell: squares for a rectangular grid, hexagons for a hexagonal one,
node ``(m, h)`` at the position :func:`coursekit.som.grid_coordinates` gives it, row 0 on
top (as in an image). Maps that need only the weights (U-matrix, component planes) take the
weights ``[rows, cols, d]`` and the topology, so they also draw snapshots; maps that need the
data (hits, density, labels) take a fitted :class:`coursekit.som.SOM` and ``X``.

Every function draws on the ``ax`` it is given (or on a new figure), returns the ``Axes`` or
``Figure`` and never calls ``plt.show()``.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.patches import RegularPolygon

from coursekit.plots.clusters import cluster_colors
from coursekit.som import grid_coordinates, grid_distances, umatrix

__all__ = [
    "plot_component_planes",
    "plot_density_map",
    "plot_hit_map",
    "plot_label_map",
    "plot_map",
    "plot_som_grid",
    "plot_umatrix",
]


def plot_map(
    values,
    topology="rect",
    ax=None,
    *,
    cmap="viridis",
    title=None,
    colorbar=True,
    facecolors=None,
    annotate=None,
):
    """Draw one value per node as a coloured cell (square or hexagon), ``values`` ``[rows, cols]``.

    ``facecolors`` ``[rows * cols, 4]`` overrides the colour map; ``annotate`` ``[rows, cols]``
    writes a text in each cell (empty strings skip). Returns the ``Axes``.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D [rows, cols], got shape {values.shape}")
    rows, cols = values.shape
    centres = grid_coordinates(rows, cols, topology)
    if topology == "hex":  # pointy-top hexagons that tile: width 1, rows sqrt(3)/2 apart
        cells = [RegularPolygon(c, 6, radius=1 / np.sqrt(3)) for c in centres]
    else:
        cells = [RegularPolygon(c, 4, radius=np.sqrt(0.5), orientation=np.pi / 4) for c in centres]
    collection = PatchCollection(cells, edgecolor="white", linewidth=0.5, cmap=cmap)
    if facecolors is None:
        collection.set_array(values.ravel())
    else:
        collection.set_facecolor(facecolors)
    if ax is None:
        ax = plt.figure(figsize=(0.35 * cols + 1.5, 0.35 * rows + 0.5)).add_subplot()
    ax.add_collection(collection)
    if annotate is not None:
        for (x, y), text in zip(centres, np.asarray(annotate).ravel()):
            if text != "":
                ax.text(x, y, str(text), ha="center", va="center", fontsize=6)
    ax.set_xlim(centres[:, 0].min() - 0.75, centres[:, 0].max() + 0.75)
    ax.set_ylim(centres[:, 1].max() + 0.75, centres[:, 1].min() - 0.75)  # row 0 on top
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar and facecolors is None:
        ax.figure.colorbar(collection, ax=ax, shrink=0.8)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_som_grid(weights, X=None, ax=None, *, topology="rect", title=None, size=4):
    """The map in the data space: each neuron at its first two weights, grid neighbours joined.

    ``weights`` ``[rows, cols, d]`` (``d >= 2``; the first two features are drawn), ``X``
    ``[n, >=2]`` optional points drawn underneath. Edges join nodes at grid distance 1 (4 per
    node on a rectangular grid, 6 on a hexagonal one). Returns the ``Axes``.
    """
    weights = np.asarray(weights, dtype=float)
    rows, cols, _ = weights.shape
    flat = weights.reshape(rows * cols, -1)[:, :2]
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot()
    if X is not None:
        X = np.asarray(X, dtype=float)
        ax.scatter(X[:, 0], X[:, 1], s=size, color="0.75", zorder=1)
    joined = np.isclose(grid_distances(rows, cols, topology), 1.0)
    first, second = np.nonzero(np.triu(joined))
    segments = np.stack([flat[first], flat[second]], axis=1)
    for segment in segments:
        ax.plot(segment[:, 0], segment[:, 1], color="tab:blue", linewidth=0.8, zorder=2)
    ax.scatter(flat[:, 0], flat[:, 1], s=10, color="tab:red", zorder=3)
    ax.set_aspect("equal", adjustable="datalim")
    if title is not None:
        ax.set_title(title)
    return ax


def plot_umatrix(weights, topology="rect", ax=None, *, title="U-matrix", **kwargs):
    """The U-matrix (mean distance to grid neighbours) of ``weights`` ``[rows, cols, d]``."""
    return plot_map(umatrix(weights, topology), topology, ax, cmap="bone_r", title=title, **kwargs)


def plot_component_planes(
    weights,
    feature_names=None,
    topology="rect",
    *,
    features=None,
    ncols=4,
    panel_size=2.2,
    cmap="coolwarm",
):
    """One map per feature: node coloured by ``w_mh^j``. Returns the ``Figure``.

    ``weights`` ``[rows, cols, d]``; ``feature_names`` ``[d]`` titles the panels; ``features``
    picks the features to draw (indices or names; all by default).
    """
    weights = np.asarray(weights, dtype=float)
    d = weights.shape[2]
    names = [f"feature {j}" for j in range(d)] if feature_names is None else list(feature_names)
    if features is None:
        features = range(d)
    indices = [names.index(f) if isinstance(f, str) else int(f) for f in features]
    ncols = min(ncols, len(indices))
    nrows = -(-len(indices) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size * ncols * 1.2, panel_size * nrows),
        squeeze=False,
        layout="constrained",
    )
    for ax, j in zip(axes.flat, indices):
        plot_map(weights[:, :, j], topology, ax, cmap=cmap, title=names[j])
        ax.title.set_fontsize("small")
    for ax in axes.flat[len(indices) :]:
        ax.set_visible(False)
    return fig


def plot_density_map(model, X, k=5, ax=None, *, title=None):
    """The lecture's density map: node coloured by the mean distance to its ``k`` nearest
    samples (dark = dense). ``model`` a fitted SOM, ``X`` ``[n, d]``."""
    title = f"density map (k = {k})" if title is None else title
    return plot_map(model.density_map(X, k), model.topology, ax, cmap="magma", title=title)


def plot_hit_map(model, X, ax=None, *, title="hit map", annotate=True):
    """How many samples each node wins, with the counts written in the cells."""
    hits = model.hit_map(X)
    text = np.where(hits > 0, hits.astype(str), "") if annotate else None
    return plot_map(hits, model.topology, ax, cmap="Greys", title=title, annotate=text)


def plot_label_map(model, X, labels, ax=None, *, title=None, colors=None, legend=True):
    """Overlay labels on the map: each node takes the colour of the majority label of the
    samples it wins, paler when the node is mixed (purity 1/L -> white, 1 -> full colour);
    the cell text is the number of samples won. Empty nodes stay white.

    ``labels`` ``[n]`` any values (e.g. the party), never used in training. Returns the ``Axes``.
    """
    labels = np.asarray(labels)
    classes, index = np.unique(labels, return_inverse=True)
    winners = model.winner(X)
    node = winners[:, 0] * model.cols + winners[:, 1]
    counts = np.zeros((model.rows * model.cols, len(classes)))
    np.add.at(counts, (node, index), 1)
    hits = counts.sum(axis=1)
    palette = (
        cluster_colors(len(classes))
        if colors is None
        else np.asarray([plt.matplotlib.colors.to_rgba(c) for c in colors])
    )
    purity = np.where(hits > 0, counts.max(axis=1) / np.maximum(hits, 1), 0.0)
    strength = np.clip((purity - 1 / len(classes)) / (1 - 1 / len(classes) + 1e-12), 0, 1)
    strength = np.where(hits > 0, 0.25 + 0.75 * strength, 0.0)
    faces = palette[counts.argmax(axis=1)]
    faces = strength[:, None] * faces + (1 - strength[:, None]) * np.ones(4)
    text = np.where(hits > 0, hits.astype(int).astype(str), "").reshape(model.rows, model.cols)
    ax = plot_map(
        hits.reshape(model.rows, model.cols),
        model.topology,
        ax,
        facecolors=faces,
        annotate=text,
        title=title,
    )
    if legend:
        handles = [
            plt.matplotlib.patches.Patch(color=c, label=str(name))
            for c, name in zip(palette, classes)
        ]
        ax.legend(
            handles=handles,
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
        )
    return ax
