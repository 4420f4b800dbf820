"""Figures for the autoencoder chapters: rows of reconstructions, bases and their angles."""

import matplotlib.pyplot as plt
import numpy as np

from coursekit.plots.images import _as_image_stack

__all__ = ["plot_basis_cosines", "plot_principal_angles", "plot_reconstructions"]


def plot_reconstructions(rows, n=8, *, panel_size=0.9, suptitle=None):
    """One row of ``n`` images per entry of ``rows`` (``{label: images [N, h, w] or [N, h*w]}``),
    the label written left of its row: originals, corrupted copies, reconstructions by each
    model. Returns the ``Figure``.
    """
    if not rows:
        raise ValueError("rows must hold at least one {label: images} entry")
    stacks = {label: _as_image_stack(images)[:n] for label, images in rows.items()}
    n = min(len(stack) for stack in stacks.values())
    fig, axes = plt.subplots(len(stacks), n, figsize=(panel_size * n + 1.2, panel_size * len(stacks)),
                             squeeze=False, layout="constrained")
    for row, (label, stack) in zip(axes, stacks.items()):
        for i, ax in enumerate(row):
            ax.imshow(stack[i], cmap="gray", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_basis_cosines(basis, ax=None, *, title=None):
    """Heat map of ``|cos|`` of the angles between the columns of ``basis`` ``[d, m]``: the
    identity for an orthogonal basis (PCA), off-diagonal mass otherwise. Returns the ``Axes``.
    """
    basis = np.asarray(basis, dtype=float)
    if basis.ndim != 2:
        raise ValueError(f"basis must be 2-D [d, m], got shape {basis.shape}")
    unit = basis / np.linalg.norm(basis, axis=0, keepdims=True)
    ax = ax or plt.gca()
    image = ax.imshow(np.abs(unit.T @ unit), vmin=0.0, vmax=1.0, cmap="viridis")
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label="|cos|")
    ax.set_xlabel("basis vector")
    ax.set_ylabel("basis vector")
    if title:
        ax.set_title(title)
    return ax


def plot_principal_angles(angles, ax=None, *, title=None):
    """Principal angles in degrees against their index, one line per entry of ``angles``
    (``{label: radians [k]}``). Returns the ``Axes``.
    """
    ax = ax or plt.gca()
    for label, values in angles.items():
        values = np.degrees(np.asarray(values, dtype=float))
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
    ax.set_xlabel("index of the principal angle")
    ax.set_ylabel("angle, degrees")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax
