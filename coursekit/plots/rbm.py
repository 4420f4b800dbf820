"""Figures for the restricted Boltzmann machine chapter: learned filters, Gibbs chains, and the
unit graphs of the Hopfield network, the Boltzmann machine and the RBM."""

import itertools

import matplotlib.pyplot as plt
import numpy as np

from coursekit.plots.images import plot_image_grid

__all__ = ["plot_gibbs_chains", "plot_rbm_filters", "plot_unit_graph"]


def plot_rbm_filters(rbm, image_shape, n=64, ncols=16, *, order="norm", panel_size=0.7,
                     suptitle=None):
    """The weights ``w_{.k}`` into ``n`` hidden units drawn as images of ``image_shape``.

    Each panel is one column of ``rbm.W`` ``[n_visible, n_hidden]`` reshaped to the image and
    divided by its largest absolute value, so that mid-grey is 0, white the strongest positive
    weight (the unit likes the pixel on) and black the strongest negative one. ``order="norm"``
    shows the units with the largest weight norm first; ``"index"`` keeps their order.
    Returns the ``Figure`` (see :func:`coursekit.plots.plot_image_grid`).
    """
    weights = rbm.W.detach().cpu().numpy().T  # [n_hidden, n_visible]
    if int(np.prod(image_shape)) != weights.shape[1]:
        raise ValueError(f"image_shape {tuple(image_shape)} does not hold the machine's "
                         f"{weights.shape[1]} visible units")
    if order not in ("norm", "index"):
        raise ValueError(f"order must be 'norm' or 'index', got {order!r}")
    units = np.arange(len(weights))
    if order == "norm":
        units = np.argsort(-np.linalg.norm(weights, axis=1), kind="stable")
    units = units[:n]
    filters = weights[units].reshape(len(units), *image_shape)
    scale = np.abs(filters).max(axis=(1, 2), keepdims=True)
    filters = filters / np.where(scale > 0, scale, 1.0)  # each filter on its own scale
    return plot_image_grid(filters, ncols=ncols, cmap="gray", vmin=-1.0, vmax=1.0,
                           panel_size=panel_size, suptitle=suptitle)


def plot_gibbs_chains(chain, steps, image_shape, *, panel_size=0.8, suptitle=None):
    """Gibbs chains over time: ``chain`` ``[len(steps), n_chains, n_visible]`` (as returned by
    ``RBM.gibbs(..., keep_every=...)`` or stacked by hand), one row per chain and one column
    per entry of ``steps`` (the step numbers, used as column titles). Returns the ``Figure``."""
    if hasattr(chain, "detach"):
        chain = chain.detach().cpu().numpy()
    chain = np.asarray(chain, dtype=float)
    if chain.ndim != 3 or len(chain) != len(steps):
        raise ValueError(f"chain must be [len(steps)={len(steps)}, n_chains, n_visible], "
                         f"got shape {chain.shape}")
    n_steps, n_chains, _ = chain.shape
    images = chain.transpose(1, 0, 2).reshape(n_steps * n_chains, *image_shape)
    titles = [f"step {step}" if row == 0 else "" for row in range(n_chains) for step in steps]
    return plot_image_grid(images, ncols=n_steps, titles=titles, vmin=0.0, vmax=1.0,
                           panel_size=panel_size, suptitle=suptitle)


def plot_unit_graph(n_visible, n_hidden=0, *, restricted=True, ax=None, title=None):
    """The units of a Boltzmann-type network and their links (a picture, not a model).

    Visible units (white) sit in the bottom row, hidden units (grey) in the top row. With
    ``n_hidden=0`` every pair of visible units is linked (a Hopfield network); with hidden
    units, ``restricted=False`` links every pair of units (a Boltzmann machine) and
    ``restricted=True`` links only visible to hidden units (an RBM). Returns the ``Axes``.
    """
    ax = ax if ax is not None else plt.subplots(figsize=(3, 2.6))[1]
    visible = [(x, 0.0) for x in _spread(n_visible)]
    hidden = [(x, 1.0) for x in _spread(n_hidden)]
    if restricted and n_hidden:
        pairs = itertools.product(visible, hidden)
    else:
        pairs = itertools.combinations(visible + hidden, 2)
    for (x0, y0), (x1, y1) in pairs:
        # links inside a row bend, so that they do not hide behind the units
        bend = 0.25 * abs(x1 - x0) if y0 == y1 else 0.0
        xs = np.linspace(x0, x1, 20)
        ys = np.linspace(y0, y1, 20) + (bend if y0 == 1.0 or not n_hidden else -bend) \
            * np.sin(np.linspace(0, np.pi, 20))
        ax.plot(xs, ys, color="0.55", lw=0.8, zorder=1)
    for units, face, label in ((visible, "white", "v"), (hidden, "0.75", "h")):
        for index, (x, y) in enumerate(units, start=1):
            ax.scatter([x], [y], s=420, c=face, edgecolors="black", zorder=2)
            ax.text(x, y, f"${label}_{index}$", ha="center", va="center", fontsize=8, zorder=3)
    ax.set_xlim(-0.15, 1.15)
    ax.set_ylim(-0.6, 1.6 if n_hidden else 0.9)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def _spread(n):
    """``n`` positions spread evenly over [0, 1] (one unit sits in the middle)."""
    return [0.5] if n == 1 else list(np.linspace(0.0, 1.0, n)) if n else []
