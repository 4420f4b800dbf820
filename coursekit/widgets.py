"""Interactive demos of the course: WTA vs WTM side by side, and a SOM unfolding epoch by epoch.

Each demo has two halves:

* a plain function that trains coursekit's real model and returns the *frames* (NumPy arrays),
  :func:`wta_vs_wtm_frames` and :func:`som_epoch_frames`; tests and labs call them headless;
* a widget, :func:`wta_vs_wtm_demo` and :func:`som_epochs_demo`, that renders every frame once
  to a small PNG and shows them with a :class:`FramePlayer`.

Why frames rendered in advance: the static book has no kernel. A ``Play`` button, a slider and
a ``Stack`` of ``Image`` widgets, tied together with ``ipywidgets.jslink``, run in the browser
alone, and the book embeds the widgets' state (PNG bytes included) in the page, so a reader can
play the animation there. The parameter controls (learning rate, kernel width, ...) call Python
and therefore recompute the frames only in a running notebook (JupyterLab, Binder, Colab).
"""

import io
import itertools

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from PIL import Image as PILImage
from sklearn.datasets import make_blobs
from sklearn.utils import check_random_state

from coursekit.competitive import KohonenNetwork
from coursekit.plots.clusters import cluster_colors
from coursekit.som import SOM, umatrix
from coursekit.validation import check_matrix, check_positive_int, check_same_features

__all__ = [
    "FramePlayer",
    "SomEpochsDemo",
    "WtaVsWtmDemo",
    "corner_init",
    "demo_blobs",
    "demo_plane",
    "frame_steps",
    "png_bytes",
    "render_som_frames",
    "render_wta_vs_wtm_frames",
    "sample_order",
    "som_epoch_frames",
    "som_epochs_demo",
    "wta_vs_wtm_demo",
    "wta_vs_wtm_frames",
]

RULES = ("wta", "wtm")
PLANE_SHAPES = ("square", "ring", "blobs")
STATIC_NOTE = (
    "<small>&#9654; plays and &#9632; rewinds the precomputed frames, the slider (or the arrow "
    "keys) steps through them, right in this page; the controls below recompute the frames "
    "only in a running notebook (use a launch button at the top of the page).</small>"
)


# --- data and a bad start for the demos -------------------------------------------------------


def demo_blobs(n_samples=300, random_state=0):
    """Four round Gaussian blobs in the square ``[0, 10]^2`` (spread 0.8), ``[n_samples, 2]``."""
    centres = [[2.5, 7.5], [7.5, 7.5], [2.5, 2.5], [7.5, 2.5]]
    X, _ = make_blobs(n_samples, centers=centres, cluster_std=0.8, random_state=random_state)
    return X


def corner_init(X, n_units, random_state=0):
    """A deliberately bad start: ``n_units`` centres bunched in a corner outside the data.

    The centres lie around ``min(X) - 0.3 * (max(X) - min(X))`` (below and left of every
    object), jittered by 3% of the data's range. ``[n, 2] -> [n_units, 2]``.
    """
    X = check_matrix(X, "X")
    n_units = check_positive_int(n_units, "n_units")
    low, span = X.min(axis=0), np.ptp(X, axis=0)
    corner = low - 0.3 * span
    jitter = check_random_state(random_state).normal(scale=0.03 * span, size=(n_units, X.shape[1]))
    return corner + jitter


def demo_plane(shape="square", n_samples=500, random_state=0):
    """A 2-D set centred near the origin for the SOM demo, ``[n_samples, 2]``.

    ``square``: uniform in ``[-1, 1]^2``; ``ring``: uniform angle, radius uniform in
    ``[0.6, 1]``; ``blobs``: :func:`demo_blobs` rescaled into ``[-1, 1]^2``.
    """
    rng = check_random_state(random_state)
    if shape == "square":
        return rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    if shape == "ring":
        angle = rng.uniform(0.0, 2.0 * np.pi, n_samples)
        radius = rng.uniform(0.6, 1.0, n_samples)
        return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    if shape == "blobs":
        return demo_blobs(n_samples, random_state=random_state) / 5.0 - 1.0
    raise ValueError(f"shape must be one of {PLANE_SHAPES}, got {shape!r}")


# --- the frames: plain computations on coursekit's models -------------------------------------


def sample_order(n_samples, steps, random_state=None):
    """The objects visited by ``steps`` SG steps: consecutive random permutations of
    ``range(n_samples)`` (as :meth:`KohonenNetwork.fit` visits them), cut at ``steps``."""
    rng = check_random_state(random_state)
    passes = -(-steps // n_samples)
    return np.concatenate([rng.permutation(n_samples) for _ in range(passes)])[:steps]


def frame_steps(steps, frame_every):
    """Step counts at which frames are taken: ``0, frame_every, 2 frame_every, ..., steps``."""
    return np.unique(np.append(np.arange(0, steps, frame_every), steps))


def wta_vs_wtm_frames(
    X,
    init_centers,
    *,
    lr=0.1,
    bandwidth=1.0,
    kernel="rank",
    lam=0.01,
    steps=600,
    frame_every=20,
    metric="euclidean",
    random_state=0,
):
    """Train two :class:`~coursekit.competitive.KohonenNetwork`\\ s, WTA and WTM, from the same
    ``init_centers`` on the same sequence of objects, and record them every ``frame_every`` steps.

    Both networks see the objects ``X[order]``, ``order = sample_order(n, steps, random_state)``,
    one SG step each (``partial_fit``): WTA ``w_y* += lr (x - w_y*)``, WTM
    ``w_y += lr K(rho(x, w_y)) (x - w_y)`` with the chosen ``kernel`` and ``bandwidth``.

    ``X`` ``[n, d]``, ``init_centers`` ``[K, d]``. Returns a dict: ``"step"`` ``[F]`` (steps
    taken at each frame, ``F = len(frame_steps(steps, frame_every))``), ``"order"`` ``[steps]``,
    and for each rule ``"wta"``, ``"wtm"`` a dict of ``"centers"`` ``[F, K, d]``,
    ``"win_counts"`` ``[F, K]`` (wins so far) and ``"running_q"`` ``[F]`` (the model's running
    estimate of the mean ``rho^2`` to the winner; frame 0 holds its starting value, the mean
    over the first ``frame_every`` objects at the initial centres). Frame 0 is the start.
    """
    X = check_matrix(X, "X")
    init_centers = check_matrix(init_centers, "init_centers")
    check_same_features(X, init_centers, "X", "init_centers")
    steps = check_positive_int(steps, "steps")
    frame_every = check_positive_int(frame_every, "frame_every")
    if frame_every > steps:
        raise ValueError(f"frame_every must be <= steps={steps}, got {frame_every}")
    order = sample_order(X.shape[0], steps, random_state)
    at = frame_steps(steps, frame_every)
    frames = {"step": at, "order": order}
    for rule in RULES:
        net = KohonenNetwork(
            init_centers.shape[0], rule=rule, lr=lr, bandwidth=bandwidth, kernel=kernel,
            lam=lam, max_iter=steps, metric=metric, init=init_centers, random_state=random_state,
        )
        centers, wins, running_q = [init_centers.copy()], [np.zeros(len(init_centers), int)], []
        for start, stop in itertools.pairwise(at):
            net.partial_fit(X[order[start:stop]])
            if start == 0:
                running_q.append(net.running_q_[0])  # the starting estimate
            centers.append(net.cluster_centers_.copy())
            wins.append(net.win_counts_.copy())
            running_q.append(net.running_q_[-1])
        frames[rule] = {
            "centers": np.stack(centers),
            "win_counts": np.stack(wins),
            "running_q": np.array(running_q),
        }
    return frames


def som_epoch_frames(
    X,
    rows=10,
    cols=10,
    *,
    epochs=30,
    topology="rect",
    neighborhood="gaussian",
    sigma=None,
    lr=0.5,
    mode="online",
    init="random",
    random_state=0,
):
    """Train a :class:`~coursekit.som.SOM` on ``X`` ``[n, d]`` and keep it after every epoch.

    Returns a dict: ``"epoch"`` ``[epochs + 1]`` (0 = before training), ``"weights"``
    ``[epochs + 1, rows, cols, d]`` (the model's ``snapshots_``), ``"umatrix"``
    ``[epochs + 1, rows, cols]`` (:func:`coursekit.som.umatrix` of each snapshot: mean distance
    of a node's neuron to its grid neighbours) and ``"quantization_error"`` ``[epochs + 1]``
    (``E_q = (1/n) sum_i ||x_i - w_c(x_i)||`` at each snapshot).
    """
    X = check_matrix(X, "X")
    som = SOM(
        rows, cols, epochs=epochs, topology=topology, neighborhood=neighborhood, sigma=sigma,
        lr=lr, mode=mode, init=init, keep_snapshots=True, random_state=random_state,
    ).fit(X)
    weights = som.snapshots_
    errors = []
    for snapshot in weights:
        flat = snapshot.reshape(-1, X.shape[1])  # [K, d]
        squared = ((X[:, None, :] - flat[None, :, :]) ** 2).sum(axis=2)  # [n, K]
        errors.append(np.mean(np.sqrt(squared.min(axis=1))))
    return {
        "epoch": np.arange(len(weights)),
        "weights": weights,
        "umatrix": np.stack([umatrix(snapshot, topology) for snapshot in weights]),
        "quantization_error": np.array(errors),
    }


# --- rendering frames to PNG ------------------------------------------------------------------


def png_bytes(fig, colors=96):
    """The figure as PNG bytes with an adaptive palette of ``colors`` (small: ~10-20 kB).

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


def _padded_limits(points, pad=0.05):
    """``(low, high)`` per axis of ``points`` ``[m, 2]``, widened by ``pad`` of the range."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = pad * np.maximum(high - low, 1e-9)
    return low - margin, high + margin


def render_wta_vs_wtm_frames(X, frames, *, dpi=72):
    """One PNG per frame of :func:`wta_vs_wtm_frames` (``X`` must be 2-D): for each rule, the
    objects coloured by their nearest centre, the centres with their paths so far (dead units,
    which have not won yet, hollow and red), and a bar chart of the win counts."""
    X = check_matrix(X, "X")
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 columns to be drawn, got shape {X.shape}")
    fig = Figure(figsize=(8.0, 5.4), dpi=dpi, layout="constrained")
    axes = fig.subplots(2, 2, height_ratios=[3, 1])
    everything = np.concatenate([X] + [frames[r]["centers"].reshape(-1, 2) for r in RULES])
    top = 1.1 * max(frames[r]["win_counts"][-1].max() for r in RULES) + 1
    panels = [
        _CompetitionPanel(axes[0, c], axes[1, c], X, frames[rule], rule, everything, top)
        for c, rule in enumerate(RULES)
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

    def __init__(self, ax, bar_ax, X, run, rule, everything, top):
        self.X, self.run = X, run
        n_units = run["centers"].shape[1]
        self.colours = cluster_colors(n_units)
        self.points = ax.scatter(X[:, 0], X[:, 1], s=6, alpha=0.5, linewidths=0)
        self.paths = [ax.plot([], [], color=c, linewidth=1)[0] for c in self.colours]
        self.centers = ax.scatter(*run["centers"][0].T, s=90, linewidths=1.4, zorder=3)
        self.name = "WTA, hard competition" if rule == "wta" else "WTM, soft competition"
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
        distance = ((self.X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        self.points.set_facecolors(self.colours[np.argmin(distance, axis=1)])
        for unit, path in enumerate(self.paths):
            path.set_data(self.run["centers"][: f + 1, unit, 0], self.run["centers"][: f + 1, unit, 1])
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


def render_som_frames(X, frames, *, dpi=72):
    """One PNG per epoch of :func:`som_epoch_frames` (``X`` must be 2-D): the grid of neurons
    over the data (neighbouring nodes joined by lines) and, beside it, the U-matrix."""
    X = check_matrix(X, "X")
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 columns to be drawn, got shape {X.shape}")
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
        fig.suptitle(f"epoch {epoch}")
        lines.set_segments(list(weights) + list(weights.transpose(1, 0, 2)))  # rows, columns
        nodes.set_offsets(weights.reshape(-1, 2))
        title.set_text(f"the map over the data, quantization error {error:.3f}")
        image.set_data(u)
        image.set_clim(u.min(), max(u.max(), u.min() + 1e-12))
        pngs.append(png_bytes(fig))
    return pngs


# --- the player and the demos -----------------------------------------------------------------


class FramePlayer(widgets.VBox):
    """Play button + slider + a stack of PNG frames, linked in the browser.

    ``Play.value <-> IntSlider.value <-> Stack.selected_index`` are ``jslink``\\ s, so playing
    and scrubbing need no kernel (they work in the static book). :meth:`set_frames` swaps the
    pictures (kernel side), reusing the ``Image`` widgets. ``frames``: a list of PNG bytes.
    """

    def __init__(self, frames, *, description="frame", interval=200):
        self.play = widgets.Play(value=0, min=0, max=0, interval=interval)
        self.slider = widgets.IntSlider(value=0, min=0, max=0, description=description)
        self.stack = widgets.Stack([], selected_index=None)
        self.stack.add_class("coursekit-frames")
        self.links = (
            widgets.jslink((self.play, "value"), (self.slider, "value")),
            widgets.jslink((self.slider, "value"), (self.stack, "selected_index")),
        )
        super().__init__([widgets.HBox([self.play, self.slider]), self.stack])
        self.set_frames(frames)

    def set_frames(self, frames):
        """Show ``frames`` (PNG bytes, at least one) and go back to the first."""
        if len(frames) == 0:
            raise ValueError("frames must hold at least one PNG image")
        images = list(self.stack.children[: len(frames)])
        for image in self.stack.children[len(frames) :]:
            image.close()
        images += [
            widgets.Image(format="png", layout={"max_width": "100%", "height": "auto"})
            for _ in range(len(frames) - len(images))
        ]
        for image, png in zip(images, frames):
            image.value = png
        self.play.playing = False
        self.play.value = self.slider.value = 0  # jslinks act in the browser only: set all three
        self.stack.selected_index = None
        self.stack.children = images
        self.stack.selected_index = 0
        self.play.max = self.slider.max = len(frames) - 1


class WtaVsWtmDemo(widgets.VBox):
    """The WTA-vs-WTM demo (see :func:`wta_vs_wtm_demo`); ``frames`` holds the current frames."""

    def __init__(self, X, *, n_units, lr, bandwidth, kernel, steps, n_frames, random_state):
        self.X = check_matrix(X, "X")
        if self.X.shape[1] != 2:
            raise ValueError(f"X must have 2 columns to be drawn, got shape {self.X.shape}")
        self.n_frames = check_positive_int(n_frames, "n_frames")
        self.random_state = random_state
        slider = {"continuous_update": False, "style": {"description_width": "110px"}}
        self.controls = {
            "lr": widgets.FloatLogSlider(lr, base=10, min=-3, max=0, description="η (lr)",
                                         **slider),
            "bandwidth": widgets.FloatSlider(bandwidth, min=0.05, max=5.0, step=0.05,
                                             description="kernel width", **slider),
            "kernel": widgets.Dropdown(options=["rank", "relative", "gaussian"], value=kernel,
                                       description="WTM kernel", style=slider["style"]),
            "n_units": widgets.IntSlider(n_units, min=2, max=12, description="units", **slider),
            "steps": widgets.IntSlider(steps, min=n_frames, max=5000, step=n_frames,
                                       description="SG steps", **slider),
        }
        self.frames = None
        self.player = FramePlayer(self._render(), description="frame")
        for control in self.controls.values():
            control.observe(self.recompute, names="value")
        title = widgets.HTML("<b>WTA vs WTM</b>: the same data, the same bad start in a corner")
        box = widgets.GridBox(list(self.controls.values()),
                              layout={"grid_template_columns": "repeat(2, 330px)"})
        self.status = widgets.HTML("")
        super().__init__([title, self.player, widgets.HTML(STATIC_NOTE), box, self.status])
        self.add_class("coursekit-demo")

    def _render(self):
        value = {name: control.value for name, control in self.controls.items()}
        steps = value["steps"]
        self.frames = wta_vs_wtm_frames(
            self.X, corner_init(self.X, value["n_units"], self.random_state), lr=value["lr"],
            bandwidth=value["bandwidth"], kernel=value["kernel"], steps=steps,
            frame_every=max(1, -(-steps // self.n_frames)), random_state=self.random_state,
        )
        return render_wta_vs_wtm_frames(self.X, self.frames)

    def recompute(self, change=None):
        """Train both networks again with the controls' values and show the new frames."""
        self.status.value = "<i>computing the frames...</i>"
        self.player.set_frames(self._render())
        self.status.value = ""


class SomEpochsDemo(widgets.VBox):
    """The SOM-epochs demo (see :func:`som_epochs_demo`); ``frames`` holds the current frames."""

    def __init__(self, X, *, shape, size, epochs, lr, sigma, mode, init, random_state):
        self.X_given = None if X is None else check_matrix(X, "X")
        if self.X_given is not None and self.X_given.shape[1] != 2:
            raise ValueError(f"X must have 2 columns to be drawn, got shape {self.X_given.shape}")
        self.random_state = random_state
        slider = {"continuous_update": False, "style": {"description_width": "110px"}}
        self.controls = {
            "size": widgets.IntSlider(size, min=2, max=20, description="grid side", **slider),
            "epochs": widgets.IntSlider(epochs, min=1, max=60, description="epochs", **slider),
            "lr": widgets.FloatSlider(lr, min=0.01, max=1.0, step=0.01, description="α₀ (lr)",
                                      **slider),
            "sigma": widgets.FloatSlider(sigma, min=0.5, max=10.0, step=0.5,
                                         description="σ₀ (width)", **slider),
            "mode": widgets.Dropdown(options=["online", "batch"], value=mode, description="mode",
                                     style=slider["style"]),
            "init": widgets.Dropdown(options=["random", "pca"], value=init,
                                     description="initialisation", style=slider["style"]),
        }
        if self.X_given is None:
            self.controls["shape"] = widgets.Dropdown(options=PLANE_SHAPES, value=shape,
                                                      description="data", style=slider["style"])
        self.frames = None
        self.player = FramePlayer(self._render(), description="epoch")
        for control in self.controls.values():
            control.observe(self.recompute, names="value")
        title = widgets.HTML("<b>A self-organizing map unfolding</b>, epoch by epoch")
        box = widgets.GridBox(list(self.controls.values()),
                              layout={"grid_template_columns": "repeat(2, 330px)"})
        self.status = widgets.HTML("")
        super().__init__([title, self.player, widgets.HTML(STATIC_NOTE), box, self.status])
        self.add_class("coursekit-demo")

    def _data(self):
        if self.X_given is not None:
            return self.X_given
        return demo_plane(self.controls["shape"].value, random_state=self.random_state)

    def _render(self):
        value = {name: control.value for name, control in self.controls.items()}
        X = self._data()
        self.frames = som_epoch_frames(
            X, value["size"], value["size"], epochs=value["epochs"], sigma=value["sigma"],
            lr=value["lr"], mode=value["mode"], init=value["init"],
            random_state=self.random_state,
        )
        return render_som_frames(X, self.frames)

    def recompute(self, change=None):
        """Train the map again with the controls' values and show the new frames."""
        self.status.value = "<i>computing the frames...</i>"
        self.player.set_frames(self._render())
        self.status.value = ""


def wta_vs_wtm_demo(
    X=None, *, n_units=4, lr=0.1, bandwidth=1.0, kernel="rank", steps=600, n_frames=30,
    random_state=0,
):
    """Widget: WTA and WTM trained side by side from the same bad start (chapter 2).

    ``X`` ``[n, 2]`` (default :func:`demo_blobs`); the ``n_units`` centres start bunched in a
    corner (:func:`corner_init`). Shows ``n_frames + 1`` frames of :func:`wta_vs_wtm_frames`
    over ``steps`` SG steps; the controls (η, kernel width and type, units, steps) recompute
    them in a live notebook. Under WTA the units that never win stay dead in the corner; under
    WTM every unit moves and wins. Returns a :class:`WtaVsWtmDemo` (an ``ipywidgets.VBox``).
    """
    X = demo_blobs() if X is None else X
    return WtaVsWtmDemo(X, n_units=n_units, lr=lr, bandwidth=bandwidth, kernel=kernel,
                        steps=steps, n_frames=n_frames, random_state=random_state)


def som_epochs_demo(
    X=None, *, shape="square", size=10, epochs=30, lr=0.5, sigma=5.0, mode="online",
    init="random", random_state=0,
):
    """Widget: a ``size x size`` SOM unfolding over a 2-D set, epoch by epoch (chapter 4).

    ``X`` ``[n, 2]``, or ``None`` for :func:`demo_plane` of ``shape``. Shows the map over the
    data after each of ``0..epochs`` epochs (:func:`som_epoch_frames`) beside its U-matrix; the
    controls recompute in a live notebook. Returns a :class:`SomEpochsDemo` (an
    ``ipywidgets.VBox``).
    """
    return SomEpochsDemo(X, shape=shape, size=size, epochs=epochs, lr=lr, sigma=sigma,
                         mode=mode, init=init, random_state=random_state)
