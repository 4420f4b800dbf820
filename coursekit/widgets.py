"""Interactive demos of the course: WTA vs WTM side by side, and a SOM unfolding epoch by epoch.

Each demo has three parts:

* a plain function that trains coursekit's real model and returns the *frames* (NumPy arrays),
  :func:`wta_vs_wtm_frames` and :func:`som_epoch_frames`; tests and labs call them headless;
* their drawing, one small PNG per frame, in :mod:`coursekit.plots.demos`;
* a widget, :func:`wta_vs_wtm_demo` and :func:`som_epochs_demo`, that shows the PNGs with a
  :class:`FramePlayer` under two sets of controls.

Why frames rendered in advance: the static book has no kernel. A ``Play`` button, a slider and
a ``Stack`` of ``Image`` widgets, tied together with ``ipywidgets.jslink``, run in the browser
alone, and the book embeds the widgets' state (PNG bytes included) in the page, so a reader can
play the animation there. The same links carry the controls: :class:`PrecomputedControls`
holds the frames of a few values of every control (one control varied at a time around the
defaults), and a slider per control picks among them in the browser. In a running notebook
(JupyterLab, Binder, Colab) the *live* controls show instead and train the model again for any
value. Which set shows is a CSS class: ``coursekit-live`` is visible and ``coursekit-static``
hidden (its layout) in a notebook; the book's ``book/_vendor/offline-widgets.js`` swaps them.
"""

import itertools

import ipywidgets as widgets
import numpy as np
from sklearn.datasets import make_blobs
from sklearn.utils import check_random_state

from coursekit.clustering import quantization_error
from coursekit.competitive import KohonenNetwork
from coursekit.plots.demos import render_som_frames, render_wta_vs_wtm_frames
from coursekit.som import SOM, umatrix
from coursekit.validation import check_matrix, check_positive_int, check_same_features

__all__ = [
    "FramePlayer",
    "PrecomputedControls",
    "SomEpochsDemo",
    "WtaVsWtmDemo",
    "corner_init",
    "demo_blobs",
    "demo_plane",
    "fit_frames",
    "frame_steps",
    "sample_order",
    "som_epoch_frames",
    "som_epochs_demo",
    "values_around",
    "wta_vs_wtm_demo",
    "wta_vs_wtm_frames",
]

RULES = ("wta", "wtm")
PLANE_SHAPES = ("square", "ring", "blobs")
PLAYER_NOTE = "&#9654; plays and &#9632; rewinds the frames, the slider (or the arrow keys) steps "
LIVE_NOTE = (
    f"<small>{PLAYER_NOTE}through them; the controls below train the model again with their "
    "values.</small>"
)
STATIC_NOTE = (
    f"<small>{PLAYER_NOTE}through them. This page has no kernel but holds the runs for a few "
    "values of each control, one control changed at a time: pick a control below, then move "
    "its slider. In a running notebook every control takes any value.</small>"
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
    sigma=1.0,
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
    ``w_y += lr K(rho(x, w_y)) (x - w_y)`` with the chosen ``kernel`` and ``sigma``.

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
            init_centers.shape[0], rule=rule, lr=lr, sigma=sigma, kernel=kernel,
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
    init="small",
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
    errors = [quantization_error(X, snapshot.reshape(-1, X.shape[1])) for snapshot in weights]
    return {
        "epoch": np.arange(len(weights)),
        "weights": weights,
        "umatrix": np.stack([umatrix(snapshot, topology) for snapshot in weights]),
        "quantization_error": np.array(errors),
    }


# --- the precomputed values of a control -------------------------------------------------------

NUMERIC_SLIDERS = (widgets.FloatSlider, widgets.FloatLogSlider, widgets.IntSlider)


def values_around(control, factors):
    """A few values of a numeric slider ``control`` around its current value (the default).

    The value itself and the value times each of ``factors``, each put on the control's grid
    (its ``step``; one significant digit on a ``FloatLogSlider``) and clipped to its range;
    sorted, without repeats. ``values_around(IntSlider(10, min=2, max=20), (0.5, 1.5))`` is
    ``[5, 10, 15]``.
    """
    if not isinstance(control, NUMERIC_SLIDERS):
        raise TypeError(f"control must be a numeric slider, got {type(control).__name__}")
    values = {control.value}
    for factor in factors:
        values.add(_on_grid(control, control.value * factor))
    return sorted(values)


def _on_grid(control, value):
    if isinstance(control, widgets.FloatLogSlider):
        low, high = control.base**control.min, control.base**control.max
        value = float(f"{value:.1g}")
    else:
        low, high = control.min, control.max
        value = low + round((value - low) / control.step) * control.step
        value = int(value) if isinstance(control, widgets.IntSlider) else round(value, 10)
    return min(max(value, low), high)


def fit_frames(frames, n_frames):
    """``frames`` (a list) made ``n_frames`` long for a player of that many frames: a shorter
    run holds its last frame (the trained model) to the end, a longer one is thinned to
    ``n_frames`` evenly spaced frames, its first and last kept."""
    n_frames = check_positive_int(n_frames, "n_frames")
    if len(frames) == 0:
        raise ValueError("frames must hold at least one frame")
    if len(frames) <= n_frames:
        return list(frames) + [frames[-1]] * (n_frames - len(frames))
    keep = np.round(np.linspace(0, len(frames) - 1, n_frames)).astype(int)
    return [frames[i] for i in keep]


# --- the player and the demos -----------------------------------------------------------------


class FramePlayer(widgets.VBox):
    """Play button + slider + a stack of PNG frames, linked in the browser.

    ``Play.value <-> IntSlider.value <-> Stack.selected_index`` are ``jslink``\\ s, so playing
    and scrubbing need no kernel (they work in the static book). :meth:`set_frames` swaps the
    pictures (kernel side), reusing the ``Image`` widgets. ``frames``: a list of PNG bytes.
    All images share one ``Layout`` (``image_layout``): it keeps the embedded state small.
    """

    def __init__(self, frames, *, description="frame", interval=200):
        self.play = widgets.Play(value=0, min=0, max=0, interval=interval)
        self.slider = widgets.IntSlider(value=0, min=0, max=0, description=description)
        self.image_layout = widgets.Layout(max_width="100%", height="auto")
        self.stack = widgets.Stack([], selected_index=None)
        self.stack.add_class("coursekit-frames")
        self.links = (
            widgets.jslink((self.play, "value"), (self.slider, "value")),
            widgets.jslink((self.slider, "value"), (self.stack, "selected_index")),
        )
        super().__init__([widgets.HBox([self.play, self.slider]), self.stack])
        self.set_frames(frames)

    def image(self, png):
        """A new ``Image`` widget showing ``png`` in the player's layout."""
        return widgets.Image(value=png, format="png", layout=self.image_layout)

    def set_frames(self, frames):
        """Show ``frames`` (PNG bytes, at least one) and go back to the first."""
        if len(frames) == 0:
            raise ValueError("frames must hold at least one PNG image")
        images = list(self.stack.children[: len(frames)])
        for image in self.stack.children[len(frames) :]:
            image.close()
        images += [self.image(b"") for _ in range(len(frames) - len(images))]
        for image, png in zip(images, frames):
            image.value = png
        self.play.playing = False
        self.play.value = self.slider.value = 0  # jslinks act in the browser only: set all three
        self.stack.selected_index = None
        self.stack.children = images
        self.stack.selected_index = 0
        self.play.max = self.slider.max = len(frames) - 1

    def show(self, picture, stacks):
        """Show ``picture`` under the slider instead of the player's own stack (``picture``
        holds that stack among others), and let the slider drive each stack of frames in
        ``stacks`` too (``jsdlink``: in the browser)."""
        self.links += tuple(widgets.jsdlink((self.slider, "value"), (stack, "selected_index"))
                            for stack in stacks)
        self.children = (self.children[0], picture)


class PrecomputedControls(widgets.VBox):
    """A demo's controls for a page without a kernel: a slider over a few values of each
    control, with every value's frames rendered in advance and picked in the browser.

    ``values`` (``demo.static_values()``) maps each control to its few values, default
    included; one control varies at a time, the others keep their defaults, so the frames of
    ``{control: value}`` are ``demo.draw({**defaults, control: value})``, made as long as the
    player's (:func:`fit_frames`). ``choose`` (toggle buttons, one per control) is jslinked to
    the stack of ``sliders`` (the chosen control's shows) and to ``pictures``, a stack with one
    child per control: ``panels[control]``, a stack over its values jslinked to its slider,
    each value a stack of frames driven by the player's frame slider. The default setting is
    the player's own stack, shared by every panel. Repeated frames are stored once.

    Hidden in a live notebook (``layout.display``); the book shows it and hides the live
    controls (``book/_vendor/offline-widgets.js``).
    """

    def __init__(self, demo):
        self.values = demo.static_values()
        defaults = demo.settings()
        player = demo.player
        n_frames = len(player.stack.children)
        images, frame_stacks = {}, []  # images: PNG bytes -> Image widget
        self.sliders, self.panels = {}, {}
        for name, values in self.values.items():
            stacks = []
            for value in values:
                if value == defaults[name]:
                    stacks.append(player.stack)
                    continue
                _, pngs = demo.draw({**defaults, name: value})
                for png in pngs:
                    if png not in images:
                        images[png] = player.image(png)
                frames = [images[png] for png in fit_frames(pngs, n_frames)]
                stack = widgets.Stack(frames, selected_index=0)
                stack.add_class("coursekit-frames")
                stacks.append(stack)
                frame_stacks.append(stack)
            control = demo.controls[name]
            self.sliders[name] = widgets.SelectionSlider(
                options=[(_label(value), value) for value in values],
                index=values.index(defaults[name]), description=control.description,
                style=SLIDER["style"], continuous_update=True,
            )
            self.panels[name] = widgets.Stack(stacks, selected_index=values.index(defaults[name]))
        descriptions = [demo.controls[name].description for name in self.values]
        self.choose = widgets.ToggleButtons(options=descriptions, index=0,
                                            style={"button_width": "auto"})
        self.pictures = widgets.Stack(list(self.panels.values()), selected_index=0)
        slider_stack = widgets.Stack(list(self.sliders.values()), selected_index=0)
        self.links = tuple(
            widgets.jslink((self.sliders[name], "index"), (self.panels[name], "selected_index"))
            for name in self.values
        ) + (
            widgets.jslink((self.choose, "index"), (self.pictures, "selected_index")),
            widgets.jslink((self.choose, "index"), (slider_stack, "selected_index")),
        )
        player.show(self.pictures, frame_stacks)
        super().__init__([widgets.HTML(STATIC_NOTE), self.choose, slider_stack],
                         layout={"display": "none"})
        self.add_class("coursekit-static")


def _label(value):
    return value if isinstance(value, str) else f"{value:g}"


class _Demo(widgets.VBox):
    """What both demos share. A subclass sets ``controls`` (name -> live control widget) and
    defines ``draw(settings) -> (frames, pngs)`` for a dict of the controls' values and
    ``static_values()`` (name -> a few values, default included), then calls :meth:`_build`."""

    def _build(self, title, *, frame_label, precompute):
        self.frames, pngs = self.draw(self.settings())
        self.player = FramePlayer(pngs, description=frame_label)
        for control in self.controls.values():
            control.observe(self.recompute, names="value")
        self.status = widgets.HTML("")
        box = widgets.GridBox(list(self.controls.values()),
                              layout={"grid_template_columns": "repeat(2, 330px)"})
        live = widgets.VBox([widgets.HTML(LIVE_NOTE), box, self.status])
        live.add_class("coursekit-live")
        self.precomputed = PrecomputedControls(self) if precompute else None
        shown = [live] if self.precomputed is None else [live, self.precomputed]
        super().__init__([widgets.HTML(title), self.player, *shown])
        self.add_class("coursekit-demo")

    def settings(self):
        """The live controls' values, ``{name: value}``."""
        return {name: control.value for name, control in self.controls.items()}

    def recompute(self, change=None):
        """Train again with the live controls' values and show the new frames."""
        self.status.value = "<i>computing the frames...</i>"
        self.frames, pngs = self.draw(self.settings())
        self.player.set_frames(pngs)
        self.status.value = ""


def _plane(X):
    X = check_matrix(X, "X")
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 columns to be drawn, got shape {X.shape}")
    return X


SLIDER = {"continuous_update": False, "style": {"description_width": "110px"}}


class WtaVsWtmDemo(_Demo):
    """The WTA-vs-WTM demo (see :func:`wta_vs_wtm_demo`); ``frames`` holds the live frames."""

    def __init__(self, X, *, n_units, lr, sigma, kernel, steps, n_frames, random_state,
                 precompute):
        self.X = _plane(X)
        self.n_frames = check_positive_int(n_frames, "n_frames")
        self.random_state = random_state
        self.controls = {
            "lr": widgets.FloatLogSlider(lr, base=10, min=-3, max=0, description="η (lr)",
                                         **SLIDER),
            "sigma": widgets.FloatSlider(sigma, min=0.05, max=5.0, step=0.05,
                                         description="σ (kernel width)", **SLIDER),
            "kernel": widgets.Dropdown(options=["rank", "relative", "gaussian"], value=kernel,
                                       description="WTM kernel", style=SLIDER["style"]),
            "n_units": widgets.IntSlider(n_units, min=2, max=12, description="units", **SLIDER),
            "steps": widgets.IntSlider(steps, min=n_frames, max=5000, step=n_frames,
                                       description="SG steps", **SLIDER),
        }
        self._build("<b>WTA vs WTM</b>: the same data, the same bad start in a corner",
                    frame_label="frame", precompute=precompute)

    def draw(self, settings):
        """Frames and PNGs of both networks trained with ``settings`` (the controls' names)."""
        steps = settings["steps"]
        frames = wta_vs_wtm_frames(
            self.X, corner_init(self.X, settings["n_units"], self.random_state),
            lr=settings["lr"], sigma=settings["sigma"], kernel=settings["kernel"],
            steps=steps, frame_every=max(1, -(-steps // self.n_frames)),
            random_state=self.random_state,
        )
        return frames, render_wta_vs_wtm_frames(self.X, frames)

    def static_values(self):
        """η x {1/5, 1, 5}, kernel width x {1/3, 1, 3}, every kernel, units x {1/2, 1, 2},
        SG steps x {1/3, 1, 3}, on each control's grid."""
        controls = self.controls
        return {
            "lr": values_around(controls["lr"], (0.2, 5.0)),
            "sigma": values_around(controls["sigma"], (1 / 3, 3.0)),
            "kernel": list(controls["kernel"].options),
            "n_units": values_around(controls["n_units"], (0.5, 2.0)),
            "steps": values_around(controls["steps"], (1 / 3, 3.0)),
        }


class SomEpochsDemo(_Demo):
    """The SOM-epochs demo (see :func:`som_epochs_demo`); ``frames`` holds the live frames."""

    def __init__(self, X, *, shape, size, epochs, lr, sigma, mode, init, random_state,
                 precompute):
        self.X_given = None if X is None else _plane(X)
        self.random_state = random_state
        self.controls = {
            "size": widgets.IntSlider(size, min=2, max=20, description="grid side", **SLIDER),
            "epochs": widgets.IntSlider(epochs, min=1, max=60, description="epochs", **SLIDER),
            "lr": widgets.FloatSlider(lr, min=0.01, max=1.0, step=0.01, description="α₀ (lr)",
                                      **SLIDER),
            "sigma": widgets.FloatSlider(sigma, min=0.5, max=10.0, step=0.5,
                                         description="σ₀ (width)", **SLIDER),
            "mode": widgets.Dropdown(options=["online", "batch"], value=mode, description="mode",
                                     style=SLIDER["style"]),
            "init": widgets.Dropdown(options=["small", "pca"], value=init,
                                     description="initialisation", style=SLIDER["style"]),
        }
        if self.X_given is None:
            self.controls["shape"] = widgets.Dropdown(options=PLANE_SHAPES, value=shape,
                                                      description="data", style=SLIDER["style"])
        self._build("<b>A self-organizing map unfolding</b>, epoch by epoch",
                    frame_label="epoch", precompute=precompute)

    def draw(self, settings):
        """Frames and PNGs of the map trained with ``settings`` (the controls' names)."""
        X = self.X_given
        if X is None:
            X = demo_plane(settings["shape"], random_state=self.random_state)
        frames = som_epoch_frames(
            X, settings["size"], settings["size"], epochs=settings["epochs"],
            sigma=settings["sigma"], lr=settings["lr"], mode=settings["mode"],
            init=settings["init"], random_state=self.random_state,
        )
        return frames, render_som_frames(X, frames)

    def static_values(self):
        """Grid side x {1/2, 1, 3/2}, epochs x {1/4, 1/2, 1} (a shorter run holds its last map
        to the player's end), α₀ and σ₀ x {1/5, 1, 2}, every mode, initialisation and data
        set, on each control's grid."""
        controls = self.controls
        values = {
            "size": values_around(controls["size"], (0.5, 1.5)),
            "epochs": values_around(controls["epochs"], (0.25, 0.5)),
            "lr": values_around(controls["lr"], (0.2, 2.0)),
            "sigma": values_around(controls["sigma"], (0.2, 2.0)),
        }
        for name in ("mode", "init", "shape"):
            if name in controls:
                values[name] = list(controls[name].options)
        return values


def wta_vs_wtm_demo(
    X=None, *, n_units=4, lr=0.1, sigma=1.0, kernel="rank", steps=600, n_frames=20,
    random_state=0, precompute=True,
):
    """Widget: WTA and WTM trained side by side from the same bad start (chapter 2).

    ``X`` ``[n, 2]`` (default :func:`demo_blobs`); the ``n_units`` centres start bunched in a
    corner (:func:`corner_init`). Shows ``n_frames + 1`` frames of :func:`wta_vs_wtm_frames`
    over ``steps`` SG steps; the controls (η, kernel width and type, units, steps) recompute
    them in a live notebook. With ``precompute`` the frames of a few values of each control
    are rendered too (:meth:`WtaVsWtmDemo.static_values`, about 10 s), so that every control
    also plays in a page without a kernel; ``precompute=False`` starts faster in a notebook.
    Under WTA the units that never win stay dead in the corner; under WTM every unit moves and
    wins. Returns a :class:`WtaVsWtmDemo` (an ``ipywidgets.VBox``).
    """
    X = demo_blobs() if X is None else X
    return WtaVsWtmDemo(X, n_units=n_units, lr=lr, sigma=sigma, kernel=kernel,
                        steps=steps, n_frames=n_frames, random_state=random_state,
                        precompute=precompute)


def som_epochs_demo(
    X=None, *, shape="square", size=10, epochs=20, lr=0.5, sigma=5.0, mode="online",
    init="small", random_state=0, precompute=True,
):
    """Widget: a ``size x size`` SOM unfolding over a 2-D set, epoch by epoch (chapter 4).

    ``X`` ``[n, 2]``, or ``None`` for :func:`demo_plane` of ``shape``. Shows the map over the
    data after each of ``0..epochs`` epochs (:func:`som_epoch_frames`) beside its U-matrix; the
    controls recompute in a live notebook. With ``precompute`` the frames of a few values of
    each control are rendered too (:meth:`SomEpochsDemo.static_values`, about 15 s), so that
    every control also plays in a page without a kernel; ``precompute=False`` starts faster in
    a notebook. Returns a :class:`SomEpochsDemo` (an ``ipywidgets.VBox``).
    """
    return SomEpochsDemo(X, shape=shape, size=size, epochs=epochs, lr=lr, sigma=sigma,
                         mode=mode, init=init, random_state=random_state, precompute=precompute)
