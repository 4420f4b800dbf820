"""Figures of latent spaces: codes coloured by class, and decodings along latent coordinates."""

import matplotlib.pyplot as plt
import numpy as np

from coursekit.plots.images import _as_image_stack

__all__ = ["plot_latent_space", "plot_traversal"]


def plot_latent_space(codes2d, labels, class_names=None, ax=None, *, title=None,
                      point_size=4, alpha=0.6, legend=True):
    """Scatter of 2-D codes ``codes2d`` ``[n, 2]`` coloured by the integer class ``labels``
    ``[n]``; ``class_names[k]`` names class ``k`` in the legend. Returns the ``Axes``."""
    codes2d = _as_array(codes2d)
    labels = np.asarray(labels)
    if codes2d.ndim != 2 or codes2d.shape[1] != 2:
        raise ValueError(f"codes2d must have shape [n, 2], got {codes2d.shape}")
    if labels.shape != (len(codes2d),):
        raise ValueError(f"labels must have shape [{len(codes2d)}], got {labels.shape}")
    if not np.isfinite(codes2d).all():
        raise ValueError("codes2d contains NaN or infinite values")
    classes = np.unique(labels)
    if class_names is not None and len(class_names) <= int(classes.max()):
        raise ValueError(f"class_names has {len(class_names)} names but labels go up to "
                         f"{int(classes.max())}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for index, k in enumerate(classes):
        name = class_names[int(k)] if class_names is not None else str(k)
        inside = labels == k
        ax.scatter(codes2d[inside, 0], codes2d[inside, 1], s=point_size, alpha=alpha,
                   color=colours(index % colours.N), label=name, linewidths=0)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(markerscale=12 / max(point_size, 1), fontsize=8, loc="center left",
                  bbox_to_anchor=(1.0, 0.5), frameon=False)
    return ax


def plot_traversal(images, row_values=None, col_values=None, *, row_label=None,
                   col_label=None, row_names=None, panel_size=0.8, cmap="gray", suptitle=None):
    """A grid figure of decodings ``images`` ``[rows, cols, h, w]`` (or ``[rows, cols, h*w]``
    with square images), as returned by ``VAE.traverse`` with two coordinates or stacked
    one-coordinate traversals. ``col_values``/``row_values`` label the columns/rows with the
    coordinate values; ``row_names`` labels each row instead (e.g. ``["z1", "z2"]``);
    ``row_label``/``col_label`` name the moving coordinates. Returns the ``Figure``."""
    images = _as_array(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape [rows, cols, h, w] or [rows, cols, h*w], "
                         f"got {images.shape}")
    rows, cols = images.shape[:2]
    if rows == 0 or cols == 0:
        raise ValueError(f"images must not be empty, got shape {images.shape}")
    stack = _as_image_stack(images.reshape(rows * cols, *images.shape[2:]))
    _check_length(row_values, rows, "row_values")
    _check_length(row_names, rows, "row_names")
    _check_length(col_values, cols, "col_values")
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size * cols + 0.6, panel_size * rows),
                             squeeze=False, layout="constrained")
    for index, ax in enumerate(axes.flat):
        ax.imshow(stack[index], cmap=cmap, vmin=0.0, vmax=1.0)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    for j in range(cols):
        if col_values is not None:
            axes[-1, j].set_xlabel(f"{col_values[j]:.2g}", fontsize=8)
    for i in range(rows):
        if row_names is not None:
            axes[i, 0].set_ylabel(str(row_names[i]), fontsize=9, rotation=0, ha="right",
                                  va="center")
        elif row_values is not None:
            axes[i, 0].set_ylabel(f"{row_values[i]:.2g}", fontsize=8, rotation=0, ha="right",
                                  va="center")
    if col_label:
        fig.supxlabel(col_label, fontsize=10)
    if row_label:
        fig.supylabel(row_label, fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def _check_length(values, expected, name):
    if values is not None and len(values) != expected:
        raise ValueError(f"{name} must have {expected} entries, got {len(values)}")


def _as_array(values):
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)
