"""coursekit.widgets: the demos' frames are the real models' states, and the widgets build and
recompute without a display.

The frame functions are checked against the models stepped by hand (KohonenNetwork.partial_fit
one object at a time, SOM's own snapshots) and against closed forms (the running Q's start,
the U-matrix by explicit loops). The frames precomputed for the static page are checked
against the live recomputation: for every control and each of its precomputed values, moving
the live control gives the same PNGs. Widget tests use small settings (a few frames) to stay
fast; the default, book-sized demos are built once in the tests marked slow.
"""

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest

from coursekit import plots, widgets
from coursekit.competitive import KohonenNetwork
from coursekit.som import SOM

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def blobs():
    return widgets.demo_blobs(200, random_state=1)


@pytest.fixture(scope="module")
def bad_start(blobs):
    return widgets.corner_init(blobs, 4, random_state=0)


@pytest.fixture(scope="module")
def race(blobs, bad_start):
    """WTA and WTM from the corner start, 600 steps, a frame every 20 (the demo's defaults)."""
    return widgets.wta_vs_wtm_frames(blobs, bad_start, lr=0.1, sigma=1.0, steps=600,
                                     frame_every=20, random_state=0)


# --- WTA vs WTM frames --------------------------------------------------------------------------


def test_wta_vs_wtm_frames_have_one_entry_per_frame(race):
    assert list(race["step"]) == list(range(0, 601, 20))
    for rule in ("wta", "wtm"):
        assert race[rule]["centers"].shape == (31, 4, 2)
        assert race[rule]["win_counts"].shape == (31, 4)
        assert race[rule]["running_q"].shape == (31,)
        np.testing.assert_array_equal(race[rule]["win_counts"].sum(axis=1), race["step"])


def test_last_frame_is_taken_after_the_last_step_even_off_the_grid(blobs, bad_start):
    frames = widgets.wta_vs_wtm_frames(blobs, bad_start, steps=50, frame_every=20)
    assert list(frames["step"]) == [0, 20, 40, 50]


def test_frame_zero_is_the_initial_state(race, blobs, bad_start):
    first = blobs[race["order"][:20]]
    start_q = np.mean(np.min(((first[:, None] - bad_start[None]) ** 2).sum(axis=2), axis=1))
    for rule in ("wta", "wtm"):
        np.testing.assert_array_equal(race[rule]["centers"][0], bad_start)
        np.testing.assert_array_equal(race[rule]["win_counts"][0], 0)
        assert race[rule]["running_q"][0] == pytest.approx(start_q, rel=1e-12)


def test_order_is_consecutive_random_permutations_of_the_sample():
    order = widgets.sample_order(10, 25, random_state=3)
    assert len(order) == 25
    for start in (0, 10):
        assert sorted(order[start : start + 10]) == list(range(10))
    rng = np.random.RandomState(3)
    np.testing.assert_array_equal(order[:10], rng.permutation(10))


def test_wta_leaves_dead_units_from_the_corner_while_wtm_uses_every_unit(race, bad_start):
    assert np.sum(race["wta"]["win_counts"][-1] == 0) >= 1
    assert np.all(race["wtm"]["win_counts"][-1] > 0)
    moved = np.linalg.norm(race["wtm"]["centers"][-1] - bad_start, axis=1)
    assert np.all(moved > 1.0), "every WTM centre leaves the corner"


def test_wta_dead_units_never_move(race, bad_start):
    dead = race["wta"]["win_counts"][-1] == 0
    np.testing.assert_array_equal(race["wta"]["centers"][-1][dead], bad_start[dead])


@pytest.mark.parametrize("rule", ["wta", "wtm"])
def test_frames_equal_the_network_stepped_by_hand_one_object_at_a_time(race, blobs, bad_start,
                                                                      rule):
    net = KohonenNetwork(4, rule=rule, lr=0.1, sigma=1.0, kernel="rank", init=bad_start)
    for step, i in enumerate(race["order"], start=1):
        net.partial_fit(blobs[i])
        if step % 20 == 0:
            frame = step // 20
            np.testing.assert_allclose(net.cluster_centers_, race[rule]["centers"][frame],
                                       rtol=1e-12, atol=1e-12)
            np.testing.assert_array_equal(net.win_counts_, race[rule]["win_counts"][frame])


def test_running_q_follows_the_lecture_recursion_between_frames(race, blobs):
    # Q := (1 - lam) Q + lam * rho^2(x, w_winner), rho measured before each step.
    net = KohonenNetwork(4, rule="wta", lr=0.1, init=race["wta"]["centers"][0])
    lam, q = 0.01, race["wta"]["running_q"][0]
    for step, i in enumerate(race["order"][:100], start=1):
        rho2 = np.min(((blobs[i] - net.cluster_centers_) ** 2).sum(axis=1)) if step > 1 else None
        net.partial_fit(blobs[i])
        if rho2 is None:  # first step: the winner's distance at the initial centres
            rho2 = np.min(((blobs[i] - race["wta"]["centers"][0]) ** 2).sum(axis=1))
        q = (1 - lam) * q + lam * rho2
        if step % 20 == 0:
            assert race["wta"]["running_q"][step // 20] == pytest.approx(q, rel=1e-10)


def test_wta_vs_wtm_frames_are_deterministic_under_random_state(blobs, bad_start):
    a = widgets.wta_vs_wtm_frames(blobs, bad_start, steps=60, frame_every=20, random_state=5)
    b = widgets.wta_vs_wtm_frames(blobs, bad_start, steps=60, frame_every=20, random_state=5)
    c = widgets.wta_vs_wtm_frames(blobs, bad_start, steps=60, frame_every=20, random_state=6)
    np.testing.assert_array_equal(a["wtm"]["centers"], b["wtm"]["centers"])
    assert not np.array_equal(a["order"], c["order"])


def test_corner_init_puts_every_centre_below_and_left_of_the_data(blobs):
    start = widgets.corner_init(blobs, 5)
    assert start.shape == (5, 2)
    assert np.all(start < blobs.min(axis=0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps"),
        ({"frame_every": 0}, "frame_every"),
        ({"steps": 10, "frame_every": 20}, "frame_every"),
        ({"lr": -1.0}, "lr"),
        ({"sigma": 0.0}, "sigma"),
    ],
)
def test_wta_vs_wtm_frames_reject_bad_parameters(blobs, bad_start, kwargs, message):
    with pytest.raises(ValueError, match=message):
        widgets.wta_vs_wtm_frames(blobs, bad_start, **kwargs)


def test_wta_vs_wtm_frames_reject_centres_of_another_dimension(blobs):
    with pytest.raises(ValueError, match="init_centers"):
        widgets.wta_vs_wtm_frames(blobs, np.zeros((3, 5)))


def test_wta_vs_wtm_frames_reject_nan_objects(bad_start):
    X = np.ones((10, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        widgets.wta_vs_wtm_frames(X, bad_start)


# --- SOM epoch frames ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plane():
    return widgets.demo_plane("square", n_samples=150, random_state=2)


@pytest.fixture(scope="module")
def unfolding(plane):
    return widgets.som_epoch_frames(plane, 4, 5, epochs=6, random_state=0)


def test_som_frames_have_one_entry_per_epoch_and_the_start(unfolding):
    assert list(unfolding["epoch"]) == list(range(7))
    assert unfolding["weights"].shape == (7, 4, 5, 2)
    assert unfolding["umatrix"].shape == (7, 4, 5)
    assert unfolding["quantization_error"].shape == (7,)


def test_som_frames_equal_the_models_snapshots(unfolding, plane):
    som = SOM(4, 5, epochs=6, keep_snapshots=True, random_state=0).fit(plane)
    np.testing.assert_array_equal(unfolding["weights"], som.snapshots_)
    np.testing.assert_allclose(unfolding["umatrix"][-1], som.umatrix(), rtol=1e-12)
    assert unfolding["quantization_error"][-1] == pytest.approx(som.quantization_error(plane))


def test_som_frame_zero_is_the_lectures_tiny_random_start(unfolding):
    assert np.all(np.abs(unfolding["weights"][0]) <= 1 / (2 * 4 * 5))


def test_som_umatrix_frames_are_mean_distances_to_the_eight_grid_neighbours(unfolding):
    weights, expected = unfolding["weights"][3], np.zeros((4, 5))
    for m in range(4):
        for h in range(5):
            around = [weights[m + dm, h + dh] for dm in (-1, 0, 1) for dh in (-1, 0, 1)
                      if (dm or dh) and 0 <= m + dm < 4 and 0 <= h + dh < 5]
            expected[m, h] = np.mean([np.linalg.norm(w - weights[m, h]) for w in around])
    np.testing.assert_allclose(unfolding["umatrix"][3], expected, rtol=1e-10)


def test_som_quantization_error_falls_as_the_map_unfolds(unfolding):
    assert unfolding["quantization_error"][-1] < 0.5 * unfolding["quantization_error"][0]


def test_som_frames_reject_bad_parameters(plane):
    with pytest.raises(ValueError, match="topology"):
        widgets.som_epoch_frames(plane, 3, 3, epochs=2, topology="triangle")
    with pytest.raises(ValueError, match="epochs"):
        widgets.som_epoch_frames(plane, 3, 3, epochs=0)


def test_demo_plane_rejects_an_unknown_shape():
    with pytest.raises(ValueError, match="shape"):
        widgets.demo_plane("torus")


@pytest.mark.parametrize("shape", ["square", "ring"])
def test_demo_plane_lies_in_the_unit_square(shape):
    X = widgets.demo_plane(shape, n_samples=100)
    assert X.shape == (100, 2)
    assert np.all(np.abs(X) <= 1.0 + 1e-12)


def test_demo_plane_blobs_are_four_tight_groups_centred_in_the_quadrants():
    X = widgets.demo_plane("blobs", n_samples=400)  # Gaussian blobs: a few points leave the square
    quadrants = [X[(np.sign(X[:, 0]) == sx) & (np.sign(X[:, 1]) == sy)]
                 for sx in (-1, 1) for sy in (-1, 1)]
    # centres (2.5, 7.5) ... of [0, 10]^2 rescaled: (+-0.5, +-0.5); spread 0.8 / 5 = 0.16 per
    # axis, 100 objects per blob. The spread tells blobs from the uniform square (0.29 within a
    # quadrant), whose quadrant means are +-0.5 too.
    assert [len(q) for q in quadrants] == [100] * 4
    np.testing.assert_allclose(np.abs([q.mean(axis=0) for q in quadrants]), 0.5, atol=0.05)
    np.testing.assert_allclose([q.std(axis=0) for q in quadrants], 0.16, atol=0.03)


# --- rendering and the widgets ------------------------------------------------------------------


def test_rendered_frames_are_distinct_pngs_of_one_size(blobs, bad_start):
    frames = widgets.wta_vs_wtm_frames(blobs, bad_start, steps=40, frame_every=20)
    pngs = plots.render_wta_vs_wtm_frames(blobs, frames)
    assert len(pngs) == 3
    assert all(png.startswith(PNG_SIGNATURE) for png in pngs)
    assert len(set(pngs)) == 3
    sizes = {png[16:24] for png in pngs}  # IHDR width and height
    assert len(sizes) == 1


def test_rendering_the_frames_leaves_no_pyplot_figure_behind(close_figures, plane):
    # In a notebook, a pyplot figure would also show below the demo as a stray static image.
    frames = widgets.som_epoch_frames(plane, 2, 2, epochs=1)
    plots.render_som_frames(plane, frames)
    assert plt.get_fignums() == []


def test_render_rejects_data_that_is_not_2d(plane):
    frames = widgets.som_epoch_frames(np.column_stack([plane, plane]), 2, 2, epochs=1)
    with pytest.raises(ValueError, match="2 columns"):
        plots.render_som_frames(np.column_stack([plane, plane]), frames)


def test_frame_player_links_play_slider_and_stack_in_the_browser():
    player = widgets.FramePlayer([PNG_SIGNATURE + b"a", PNG_SIGNATURE + b"b"])
    sources = {(link.source[0], link.source[1], link.target[0], link.target[1])
               for link in player.links}
    assert sources == {(player.play, "value", player.slider, "value"),
                       (player.slider, "value", player.stack, "selected_index")}
    assert all(link._model_name == "LinkModel" for link in player.links)  # two-way, in JS
    assert player.slider.max == player.play.max == 1
    assert [image.value for image in player.stack.children] == [PNG_SIGNATURE + b"a",
                                                                PNG_SIGNATURE + b"b"]


def test_frame_player_set_frames_resizes_and_rewinds():
    player = widgets.FramePlayer([b"1", b"2", b"3"])
    player.slider.value = 2
    player.set_frames([b"x"])
    assert len(player.stack.children) == 1
    assert player.slider.max == 0 and player.slider.value == 0
    assert player.stack.selected_index == 0


def test_frame_player_rejects_no_frames():
    with pytest.raises(ValueError, match="frames"):
        widgets.FramePlayer([])


@pytest.fixture(scope="module")
def small_wta_demo():
    return widgets.wta_vs_wtm_demo(steps=40, n_frames=4, precompute=False)


def test_wta_demo_builds_headless_with_its_player_and_controls(small_wta_demo):
    demo = small_wta_demo
    assert isinstance(demo, ipywidgets.VBox)
    assert "coursekit-demo" in demo._dom_classes
    assert demo.player in demo.children
    assert len(demo.player.stack.children) == 5
    assert set(demo.controls) == {"lr", "sigma", "kernel", "n_units", "steps"}
    assert all(bytes(image.value).startswith(PNG_SIGNATURE) for image in demo.player.stack.children)


def test_changing_a_wta_demo_control_recomputes_the_frames(small_wta_demo):
    demo = small_wta_demo
    before = demo.player.stack.children[-1].value
    demo.controls["n_units"].value = 3
    assert demo.frames["wta"]["centers"].shape[1] == 3
    assert demo.player.stack.children[-1].value != before


def test_som_demo_epochs_control_changes_the_number_of_frames(plane):
    demo = widgets.som_epochs_demo(plane, size=3, epochs=2, precompute=False)
    assert "shape" not in demo.controls, "no data menu when the data are given"
    assert len(demo.player.stack.children) == 3
    demo.controls["epochs"].value = 4
    assert len(demo.player.stack.children) == 5
    assert demo.player.slider.max == 4
    assert demo.frames["weights"].shape == (5, 3, 3, 2)


def test_demos_reject_data_that_is_not_2d():
    with pytest.raises(ValueError, match="2 columns"):
        widgets.wta_vs_wtm_demo(np.ones((20, 3)))
    with pytest.raises(ValueError, match="2 columns"):
        widgets.som_epochs_demo(np.ones((20, 3)))


@pytest.mark.slow
@pytest.mark.parametrize("make", [widgets.wta_vs_wtm_demo, widgets.som_epochs_demo])
def test_default_demo_builds_with_no_arguments_and_its_frames_stay_small(make):
    demo = make()
    assert len(demo.player.stack.children) == 21
    assert demo.player.slider.max == 20
    images = {id(image): image for stack in frame_stacks(demo) for image in stack.children}
    # every precomputed frame, stored once: < 3.4 MB once base64'd, so the page stays < 4 MB
    assert sum(len(image.value) for image in images.values()) < 2_550_000


# --- the controls precomputed for the static page -------------------------------------------------


def frame_stacks(demo):
    """Every stack of frames the demo can show: the player's and each precomputed value's."""
    stacks = [demo.player.stack]
    if demo.precomputed is not None:
        for panel in demo.precomputed.panels.values():
            stacks += [stack for stack in panel.children if stack is not demo.player.stack]
    return stacks


def pngs(stack):
    return [bytes(image.value) for image in stack.children]


def test_values_around_put_the_scaled_default_on_the_sliders_grid():
    side = ipywidgets.IntSlider(10, min=2, max=20)
    assert widgets.values_around(side, (0.5, 1.5)) == [5, 10, 15]
    width = ipywidgets.FloatSlider(1.0, min=0.05, max=5.0, step=0.05)
    assert widgets.values_around(width, (1 / 3, 3.0)) == [0.35, 1.0, 3.0]
    rate = ipywidgets.FloatLogSlider(0.1, base=10, min=-3, max=0)
    assert widgets.values_around(rate, (0.2, 5.0)) == [0.02, 0.1, 0.5]


def test_values_around_stay_in_the_sliders_range_without_repeats():
    units = ipywidgets.IntSlider(3, min=2, max=12)
    assert widgets.values_around(units, (0.5, 0.6, 10.0)) == [2, 3, 12]


def test_values_around_reject_a_control_that_is_not_a_numeric_slider():
    with pytest.raises(TypeError, match="control"):
        widgets.values_around(ipywidgets.Dropdown(options=["a", "b"]), (2.0,))


def test_fit_frames_holds_the_last_frame_of_a_shorter_run():
    assert widgets.fit_frames(["a", "b"], 4) == ["a", "b", "b", "b"]


def test_fit_frames_thins_a_longer_run_keeping_its_first_and_last_frames():
    assert widgets.fit_frames(list("abcdefghi"), 3) == ["a", "e", "i"]


def test_fit_frames_rejects_no_frames():
    with pytest.raises(ValueError, match="frames"):
        widgets.fit_frames([], 3)


@pytest.fixture(scope="module")
def precomputed_wta_demo():
    return widgets.wta_vs_wtm_demo(steps=40, n_frames=4)


@pytest.fixture(scope="module")
def precomputed_som_demo():
    return widgets.som_epochs_demo(size=3, epochs=2, sigma=1.0)


def check_precomputed_frames_equal_the_live_recomputation(demo, name):
    """For each precomputed value of control ``name``: moving the live control there (the
    others at their defaults) shows the same PNGs, the shorter live run held to the end."""
    values = demo.precomputed.values[name]
    default = demo.controls[name].value
    assert default in values and len(values) >= 2
    stored = {value: pngs(stack)
              for value, stack in zip(values, demo.precomputed.panels[name].children)}
    for value in [v for v in values if v != default] + [default]:
        demo.controls[name].value = value  # the live control: trains again
        live = pngs(demo.player.stack)
        assert len(stored[value]) >= len(live)
        assert stored[value] == live + [live[-1]] * (len(stored[value]) - len(live)), (name, value)


@pytest.mark.parametrize("name", ["lr", "sigma", "kernel", "n_units", "steps"])
def test_wta_precomputed_frames_equal_the_live_recomputation(precomputed_wta_demo, name):
    check_precomputed_frames_equal_the_live_recomputation(precomputed_wta_demo, name)


@pytest.mark.parametrize("name", ["size", "epochs", "lr", "sigma", "mode", "init", "shape"])
def test_som_precomputed_frames_equal_the_live_recomputation(precomputed_som_demo, name):
    check_precomputed_frames_equal_the_live_recomputation(precomputed_som_demo, name)


@pytest.mark.parametrize("demo_name", ["precomputed_wta_demo", "precomputed_som_demo"])
def test_every_live_control_has_a_precomputed_slider(request, demo_name):
    demo = request.getfixturevalue(demo_name)
    precomputed = demo.precomputed
    assert list(precomputed.values) == list(demo.controls)
    assert list(precomputed.choose.options) == [c.description for c in demo.controls.values()]
    for name, slider in precomputed.sliders.items():
        assert slider.value == demo.controls[name].value, "each slider starts at the default"
        assert len(precomputed.panels[name].children) == len(slider.options)


@pytest.mark.parametrize("demo_name", ["precomputed_wta_demo", "precomputed_som_demo"])
def test_every_precomputed_run_is_as_long_as_the_player(request, demo_name):
    demo = request.getfixturevalue(demo_name)
    lengths = {len(stack.children) for stack in frame_stacks(demo)}
    assert lengths == {demo.player.slider.max + 1}


def test_precomputed_choices_are_linked_in_the_browser(precomputed_wta_demo):
    demo = precomputed_wta_demo
    precomputed = demo.precomputed
    links = {(link.source[0], link.source[1], link.target[0], link.target[1], link._model_name)
             for link in precomputed.links + demo.player.links}
    assert (precomputed.choose, "index", precomputed.pictures, "selected_index",
            "LinkModel") in links
    for name, slider in precomputed.sliders.items():
        assert (slider, "index", precomputed.panels[name], "selected_index", "LinkModel") in links
    for stack in frame_stacks(demo)[1:]:
        assert (demo.player.slider, "value", stack, "selected_index",
                "DirectionalLinkModel") in links, "the frame slider drives every stack"


def test_precomputed_controls_hide_in_a_notebook_and_the_live_ones_show(precomputed_som_demo):
    demo = precomputed_som_demo
    assert demo.precomputed.layout.display == "none"
    assert "coursekit-static" in demo.precomputed._dom_classes
    live = [child for child in demo.children if "coursekit-live" in child._dom_classes]
    assert len(live) == 1 and live[0].layout.display is None
    assert all(control in live[0].children[1].children for control in demo.controls.values())


def test_a_shorter_precomputed_run_stores_its_held_last_frame_once(precomputed_som_demo):
    demo = precomputed_som_demo
    one_epoch = demo.precomputed.panels["epochs"].children[0]  # epochs = 1 of the player's 2
    assert demo.precomputed.values["epochs"][0] == 1
    assert one_epoch.children[-1] is one_epoch.children[-2]


def test_a_demo_without_precompute_has_only_live_controls():
    demo = widgets.wta_vs_wtm_demo(steps=40, n_frames=4, precompute=False)
    assert demo.precomputed is None
    assert demo.player.children[1] is demo.player.stack
