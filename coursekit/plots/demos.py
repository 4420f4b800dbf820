"""The frames of the interactive demos (:mod:`coursekit.widgets`) drawn as small PNG images.

:func:`render_wta_vs_wtm_frames` and :func:`render_som_frames` take the frames that
:func:`coursekit.widgets.wta_vs_wtm_frames` and :func:`coursekit.widgets.som_epoch_frames`
compute and return one PNG (bytes) per frame. They draw on a bare :class:`~matplotlib.figure.Figure`,
never on pyplot, so a notebook shows no stray figure and nothing is left open.

The book embeds every frame of every precomputed setting in the page, so the images are kept
small: 64 dpi and a palette of 32 colours (about 6-10 kB each).
"""

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from PIL import Image as PILImage

from coursekit.distances import assign
from coursekit.plots.clusters import cluster_colors
from coursekit.validation import check_matrix

__all__ = ["png_bytes", "render_som_frames", "render_wta_vs_wtm_frames"]

DEMO_DPI = 64
"""Resolution of the demos' frames (dots per inch of the figure)."""

PALETTE_COLOURS = 32
"""Colours in the adaptive palette of each frame."""

RULE_NAMES = {"wta": "WTA, hard competition", "wtm": "WTM, soft competition"}


def png_bytes(fig, colors=PALETTE_COLOURS):
    """The figure as PNG bytes with an adaptive palette of ``colors`` colours.

    After the first call the figure's layout is frozen: the frames of one animation keep the
    same axes, and constrained layout would otherwise be recomputed (slowly) for every frame.
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    fig.set_layout_engine("none")
    image = PILImage.fromarray(np.asarray(canvas.buffer_rgba())[..., :3]).quantize(colors=colors)
    small = io.BytesIO()
    image.save(small, format="png", optimize=True)
    return small.getvalue()


def render_wta_vs_wtm_frames(X, frames, *, dpi=DEMO_DPI):
    """One PNG per frame of :func:`~coursekit.widgets.wta_vs_wtm_frames` (``X`` ``[n, 2]``):
    for each rule, the objects coloured by their nearest centre, the centres with their paths
    so far (dead units, which have not won yet, hollow and red), and a bar chart of the win
    counts."""
    X = _check_plane(X)
    rules = list(RULE_NAMES)
    fig = Figure(figsize=(8.0, 5.4), dpi=dpi, layout="constrained")
    axes = fig.subplots(2, 2, height_ratios=[3, 1])
    everything = np.concatenate([X] + [frames[r]["centers"].reshape(-1, 2) for r in rules])
    top = 1.1 * max(frames[r]["win_counts"][-1].max() for r in rules) + 1
    panels = [
        _CompetitionPanel(axes[0, c], axes[1, c], X, frames[rule], RULE_NAMES[rule], everything,
                          top)
        for c, rule in enumerate(rules)
    ]
    pngs = []
    for f, step in enumerate(frames["step"]):
        fig.suptitle(f"step {step} of {frames['step'][-1]}: the same data, the same start")
        for panel in panels:
            panel.show(f)
        pngs.append(png_bytes(fig))
    return pngs


class _CompetitionPanel:
    """One rule's two axes: objects, centres and their paths above, win counts below. The
    artists are made once and updated per frame (re-plotting costs most of the time)."""

    def __init__(self, ax, bar_ax, X, run, name, everything, top):
        self.X, self.run, self.name = X, run, name
        n_units = run["centers"].shape[1]
        self.colours = cluster_colors(n_units)
        self.points = ax.scatter(X[:, 0], X[:, 1], s=6, alpha=0.5, linewidths=0)
        self.paths = [ax.plot([], [], color=c, linewidth=1)[0] for c in self.colours]
        self.centers = ax.scatter(*run["centers"][0].T, s=90, linewidths=1.4, zorder=3)
        self.title = ax.set_title("", fontsize=10)
        low, high = _padded_limits(everything)
        ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), xticks=[], yticks=[])
        ax.set_aspect("equal")
        units = np.arange(n_units)
        self.bars = bar_ax.bar(units, np.zeros(n_units), color=self.colours, edgecolor="black",
                               linewidth=0.5)
        (self.dead,) = bar_ax.plot([], [], linestyle="none", marker="x", color="red",
                                   markersize=8)
        bar_ax.set(ylim=(0, top), xticks=units)
        bar_ax.set_xlabel("unit", fontsize=9)
        bar_ax.set_ylabel("wins", fontsize=9)
        bar_ax.tick_params(labelsize=8)

    def show(self, f):
        centers, wins = self.run["centers"][f], self.run["win_counts"][f]
        nearest = assign(self.X, centers)
        self.points.set_facecolors(self.colours[nearest])
        for unit, path in enumerate(self.paths):
            path.set_data(self.run["centers"][: f + 1, unit, 0],
                          self.run["centers"][: f + 1, unit, 1])
        alive = wins > 0
        self.centers.set_offsets(centers)
        self.centers.set_facecolors(np.where(alive[:, None], self.colours, (1, 1, 1, 0)))
        self.centers.set_edgecolors(np.where(alive[:, None], (0, 0, 0, 1), (1, 0, 0, 1)))
        self.title.set_text(f"{self.name}\nrunning Q = {self.run['running_q'][f]:.2f}, "
                            f"dead units: {np.sum(~alive)}")
        for bar, count in zip(self.bars, wins):
            bar.set_height(count)
        dead = np.flatnonzero(~alive)
        self.dead.set_data(dead, np.zeros(len(dead)))


def render_som_frames(X, frames, *, dpi=DEMO_DPI):
    """One PNG per epoch of :func:`~coursekit.widgets.som_epoch_frames` (``X`` ``[n, 2]``):
    the grid of neurons over the data (neighbouring nodes joined by lines) and, beside it,
    the U-matrix."""
    X = _check_plane(X)
    fig = Figure(figsize=(8.0, 3.9), dpi=dpi, layout="constrained")
    grid_ax, u_ax = fig.subplots(1, 2, width_ratios=[1.15, 1])
    grid_ax.scatter(X[:, 0], X[:, 1], s=4, color="0.75", linewidths=0)
    lines = grid_ax.add_collection(LineCollection([], colors="tab:blue", linewidths=0.8))
    nodes = grid_ax.scatter([], [], s=8, color="tab:red", zorder=3)
    title = grid_ax.set_title("", fontsize=10)
    low, high = _padded_limits(np.concatenate([X, frames["weights"].reshape(-1, 2)]))
    grid_ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), xticks=[], yticks=[])
    grid_ax.set_aspect("equal")
    image = u_ax.imshow(frames["umatrix"][0], cmap="bone_r", origin="lower")
    fig.colorbar(image, ax=u_ax, shrink=0.85)
    u_ax.set_title("U-matrix (dark: neighbours far apart)", fontsize=10)
    u_ax.set(xticks=[], yticks=[])
    pngs = []
    for epoch, weights, u, error in zip(
        frames["epoch"], frames["weights"], frames["umatrix"], frames["quantization_error"]
    ):
        fig.suptitle(f"epoch {epoch} of {frames['epoch'][-1]}")
        lines.set_segments(list(weights) + list(weights.transpose(1, 0, 2)))  # rows, columns
        nodes.set_offsets(weights.reshape(-1, 2))
        title.set_text(f"the map over the data, quantization error {error:.3f}")
        image.set_data(u)
        image.set_clim(u.min(), max(u.max(), u.min() + 1e-12))
        pngs.append(png_bytes(fig))
    return pngs


def _check_plane(X):
    X = check_matrix(X, "X")
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 columns to be drawn, got shape {X.shape}")
    return X


def _padded_limits(points, pad=0.05):
    """``(low, high)`` per axis of ``points`` ``[m, 2]``, widened by ``pad`` of the range."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = pad * np.maximum(high - low, 1e-9)
    return low - margin, high + margin
