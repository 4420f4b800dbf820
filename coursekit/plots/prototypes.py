"""Figures of prototype models (LVQ, the Kohonen network): decision regions, the running Q.

Every function draws on the ``ax`` it is given (or on a new figure), returns the ``Axes``
and never calls ``plt.show()``: the notebook decides when to show.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from coursekit.plots.clusters import cluster_colors
from coursekit.validation import check_matrix

__all__ = ["plot_decision_regions", "plot_running_q"]


def plot_decision_regions(model, X2d, y, ax=None, title=None, *, resolution=200, margin=0.5):
    """Regions of a fitted classifier on 2-D data, the points, and the prototypes by class.

    ``model`` is fitted on 2-D data and has ``predict``; ``X2d`` ``[n, 2]``, ``y`` ``[n]``
    (any labels). Each class gets one colour (in the order of ``np.unique(y)``): a pale
    region where ``model.predict`` says that class, small dots for its objects, and large
    black-edged diamonds for its prototypes when the model has ``prototypes_`` and
    ``prototype_labels_`` (an LVQ). The grid covers the points plus ``margin`` on each side,
    ``resolution`` nodes a side. Returns the ``Axes``.
    """
    X2d = check_matrix(X2d, "X2d")
    if X2d.shape[1] != 2:
        raise ValueError(f"X2d must have 2 columns, got shape {X2d.shape}")
    y = np.asarray(y)
    if y.shape != (len(X2d),):
        raise ValueError(f"y must have shape ({len(X2d)},), got {y.shape}")
    classes = np.unique(y)
    colors = cluster_colors(len(classes))
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot()

    low, high = X2d.min(axis=0) - margin, X2d.max(axis=0) + margin
    grid_x, grid_y = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    predicted = model.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    region = np.searchsorted(classes, predicted).reshape(grid_x.shape)
    levels = np.arange(len(classes) + 1) - 0.5
    ax.contourf(grid_x, grid_y, region, levels=levels, cmap=ListedColormap(colors), alpha=0.25)

    for label, color in zip(classes, colors):
        points = X2d[y == label]
        ax.scatter(points[:, 0], points[:, 1], s=10, color=color, label=str(label))
    if hasattr(model, "prototypes_") and hasattr(model, "prototype_labels_"):
        for label, color in zip(classes, colors):
            own = model.prototypes_[model.prototype_labels_ == label]
            ax.scatter(
                own[:, 0],
                own[:, 1],
                s=110,
                marker="D",
                color=color,
                edgecolors="black",
                linewidths=1.5,
                zorder=3,
            )
    if len(classes) <= 10:
        ax.legend(fontsize="small", markerscale=1.5, loc="best")
    if title is not None:
        ax.set_title(title)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    return ax


def plot_running_q(running_q, ax=None, label=None, *, true_q=None, true_steps=None):
    """The running estimate of Q against the SG step, optionally with true values on top.

    ``running_q`` ``[T + 1]`` (a model's ``running_q_``: entry 0 is the starting value);
    ``true_q`` ``[m]`` evaluated after the steps ``true_steps`` ``[m]``, drawn as dots.
    Returns the ``Axes``.
    """
    running_q = np.asarray(running_q, dtype=np.float64)
    if running_q.ndim != 1:
        raise ValueError(f"running_q must be 1-D [steps + 1], got shape {running_q.shape}")
    if ax is None:
        ax = plt.figure(figsize=(5, 3)).add_subplot()
    ax.plot(np.arange(len(running_q)), running_q, lw=1, label=label or "running Q")
    if true_q is not None:
        true_q = np.asarray(true_q, dtype=np.float64)
        steps = np.arange(len(true_q)) if true_steps is None else np.asarray(true_steps)
        if steps.shape != true_q.shape:
            raise ValueError(f"true_steps must have shape {true_q.shape}, got {steps.shape}")
        ax.plot(steps, true_q, "o", ms=4, color="black", label="true value")
    ax.set_xlabel("SG step")
    ax.set_ylabel("Q")
    ax.legend(fontsize="small")
    return ax
