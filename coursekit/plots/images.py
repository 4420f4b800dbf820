"""Figures of images: a grid of small pictures (samples, reconstructions, filters)."""

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_image_grid"]


def plot_image_grid(images, ncols=10, titles=None, *, cmap="gray", panel_size=1.0,
                    vmin=None, vmax=None, suptitle=None):
    """A figure of ``images`` ``[n, h, w]`` (or ``[n, h*w]`` with square images) laid out in
    rows of ``ncols``, axes hidden; ``titles`` gives one label per image. ``vmin``/``vmax``
    fix the colour range for all panels (default: each panel's own range). Returns the
    ``Figure``.
    """
    images = _as_image_stack(images)
    if not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}")
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(images):
            ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def _as_image_stack(images):
    """``images`` as a float array ``[n, h, w]``; flat rows of a square side are reshaped."""
    if hasattr(images, "detach"):  # a torch tensor
        images = images.detach().cpu().numpy()
    images = np.asarray(images, dtype=float)
    if images.ndim == 2:
        side = round(np.sqrt(images.shape[1]))
        if side * side != images.shape[1]:
            raise ValueError(f"images of shape {images.shape} are flat but not square; "
                             "pass them as [n, height, width]")
        images = images.reshape(len(images), side, side)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"images must have shape [n, height, width] with n > 0, got {images.shape}")
    if not np.isfinite(images).all():
        raise ValueError("images contain NaN or infinite values")
    return images
