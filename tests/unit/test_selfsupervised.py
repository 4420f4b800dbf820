"""coursekit.selfsupervised against plain loops, scikit-learn, self-describing images and bad input.

NT-Xent runs in float64 against a Python loop over the 2N anchors (tolerance 1e-10: a few
hundred float64 operations on O(1/tau) numbers). Patch pairs are cut from images whose
pixel values encode their own coordinates, so every patch tells where it came from.
"""

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from coursekit.blocks import conv_encoder, mlp
from coursekit.selfsupervised import (
    NEIGHBOURS,
    PatchPositionNet,
    SimCLR,
    augment,
    linear_probe,
    nt_xent_loss,
    relative_patch_position_pairs,
)
from coursekit.train import fit, seed_everything

# --- NT-Xent ------------------------------------------------------------------------------


def nt_xent_by_loop(z1, z2, tau):
    """SimCLR's loss written out: l(i, j) for every ordered positive pair, averaged."""
    codes = z1.tolist() + z2.tolist()
    z = [[c / math.sqrt(sum(c * c for c in v)) for c in v] for v in codes]
    n = len(z1)

    def sim(a, b):
        return sum(p * q for p, q in zip(z[a], z[b]))

    total = 0.0
    for i in range(2 * n):
        positive = i + n if i < n else i - n
        denominator = sum(math.exp(sim(i, k) / tau) for k in range(2 * n) if k != i)
        total += -math.log(math.exp(sim(i, positive) / tau) / denominator)
    return total / (2 * n)


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0, 2.0])
def test_nt_xent_equals_a_loop_over_the_2n_anchors(tau):
    generator = torch.Generator().manual_seed(0)
    z1 = torch.randn(6, 5, generator=generator, dtype=torch.float64)
    z2 = torch.randn(6, 5, generator=generator, dtype=torch.float64)
    expected = nt_xent_by_loop(z1, z2, tau)
    assert nt_xent_loss(z1, z2, temperature=tau).item() == pytest.approx(expected, abs=1e-10)


def test_nt_xent_ignores_the_length_of_the_codes():
    # cosine similarity: rescaling a code changes nothing
    generator = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(2, 4, 3, generator=generator, dtype=torch.float64)
    scale = torch.tensor([[0.5], [3.0], [10.0], [1.0]], dtype=torch.float64)
    assert nt_xent_loss(z1 * scale, z2).item() == pytest.approx(nt_xent_loss(z1, z2).item(),
                                                                abs=1e-12)


def test_nt_xent_is_lowest_when_views_agree_and_objects_differ():
    # orthogonal objects, identical views: each anchor's only close code is its positive
    z = torch.eye(4, dtype=torch.float64)
    tau = 0.5
    agree = nt_xent_loss(z, z, temperature=tau).item()
    # closed form: -log(e^{1/tau} / (e^{1/tau} + 6 e^0))
    assert agree == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + 6)), abs=1e-12)
    assert nt_xent_loss(z, z.flip(0), temperature=tau).item() > agree


def test_nt_xent_rejects_mismatched_batch_sizes():
    with pytest.raises(ValueError, match="z1 and z2"):
        nt_xent_loss(torch.randn(4, 3), torch.randn(5, 3))


@pytest.mark.parametrize("tau", [0.0, -0.5, float("nan")])
def test_nt_xent_rejects_a_non_positive_temperature(tau):
    with pytest.raises(ValueError, match="temperature"):
        nt_xent_loss(torch.randn(4, 3), torch.randn(4, 3), temperature=tau)


def test_nt_xent_rejects_codes_that_are_not_matrices():
    with pytest.raises(ValueError, match="z1"):
        nt_xent_loss(torch.randn(4), torch.randn(4))


# --- relative patch positions -------------------------------------------------------------


def coordinate_images(n, side):
    """Images whose pixel (r, c) holds the value 1000 r + c: a patch names its own corner."""
    rows, cols = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    return np.broadcast_to(1000.0 * rows + cols, (n, side, side)).copy()


def corner(patch_pixels):
    """(row, col) of a patch's top-left pixel, read back from its value."""
    value = int(patch_pixels[0, 0])
    return value // 1000, value % 1000


@pytest.mark.parametrize("gap", [0, 2, 5])
def test_patch_pairs_sit_where_their_position_says(gap):
    patch, side = 4, 28
    pairs, positions = relative_patch_position_pairs(coordinate_images(400, side), patch=patch,
                                                     gap=gap, random_state=0)
    assert pairs.shape == (400, 2, patch, patch) and positions.shape == (400,)
    assert set(positions.tolist()) == set(range(8))  # every position is drawn
    # clockwise from the top-left, as offsets in grid steps
    expected = {0: (-1, -1), 1: (-1, 0), 2: (-1, 1), 3: (0, 1),
                4: (1, 1), 5: (1, 0), 6: (1, -1), 7: (0, -1)}
    step = patch + gap
    for (centre, neighbour), position in zip(pairs.numpy(), positions.tolist()):
        (r0, c0), (r1, c1) = corner(centre), corner(neighbour)
        assert (r1 - r0, c1 - c0) == (expected[position][0] * step, expected[position][1] * step)
        # each patch is a contiguous block of the image, and the 3x3 grid lies inside it
        assert np.array_equal(centre, coordinate_images(1, side)[0, r0:r0 + patch, c0:c0 + patch])
        assert step <= r0 <= side - patch - step and step <= c0 <= side - patch - step


def test_patch_position_labels_match_the_neighbours_table():
    assert NEIGHBOURS == ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def test_patch_pairs_fill_the_image_exactly_when_the_grid_spans_it():
    # 3 * 8 + 2 * 2 = 28: the only placement is the corner (0, 0), the centre patch at (10, 10)
    pairs, _ = relative_patch_position_pairs(coordinate_images(20, 28), patch=8, gap=2,
                                             random_state=1)
    assert all(corner(centre) == (10, 10) for centre in pairs[:, 0].numpy())


def test_patch_pairs_keep_channels_of_4d_images():
    images = np.stack([coordinate_images(5, 20), -coordinate_images(5, 20)], axis=1)
    pairs, _ = relative_patch_position_pairs(images, patch=5, random_state=0)
    assert pairs.shape == (5, 2, 2, 5, 5)
    assert torch.equal(pairs[:, :, 1], -pairs[:, :, 0])


def test_patch_pairs_are_reproducible_with_a_seed():
    images = np.random.default_rng(0).random((30, 16, 16))
    first = relative_patch_position_pairs(images, patch=4, gap=1, random_state=7)
    second = relative_patch_position_pairs(images, patch=4, gap=1, random_state=7)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


@pytest.mark.parametrize("patch, gap", [(10, 0), (9, 1), (8, 3)])
def test_patch_pairs_reject_a_grid_larger_than_the_image(patch, gap):
    with pytest.raises(ValueError, match="patch"):
        relative_patch_position_pairs(np.zeros((2, 28, 28)), patch=patch, gap=gap)


@pytest.mark.parametrize("shape", [(28, 28), (2, 1, 1, 28, 28)])
def test_patch_pairs_reject_images_that_are_not_3d_or_4d(shape):
    with pytest.raises(ValueError, match="images"):
        relative_patch_position_pairs(np.zeros(shape), patch=4)


def test_patch_pairs_reject_a_negative_gap():
    with pytest.raises(ValueError, match="gap"):
        relative_patch_position_pairs(np.zeros((2, 28, 28)), patch=4, gap=-1)


def test_patch_position_net_learns_positions_from_coordinate_images():
    # pixel (r, c) = (r + 4 c) / 80 plus a random brightness per image: only the difference
    # of the two patches tells the position, and it does so for all 8 (dr + 4 dc differs)
    seed_everything(0)
    rows, cols = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    images = torch.as_tensor((rows + 4 * cols) / 80.0, dtype=torch.float32)
    images = images + torch.rand(1024, 1, 1)
    pairs, positions = relative_patch_position_pairs(images, patch=4, gap=1, random_state=0)
    model = PatchPositionNet(mlp([16, 32, 16]), side=4)
    fit(model, (pairs, positions), epochs=30, batch_size=128, lr=3e-3, progress=False)
    assert model(pairs).shape == (1024, 8)
    assert (model.predict(pairs) == positions).float().mean() > 0.9  # chance: 0.125


def test_patch_position_net_shares_one_encoder_for_both_patches():
    encoder = conv_encoder(16, channels=(4, 8))
    model = PatchPositionNet(encoder)
    pairs = torch.rand(3, 2, 8, 8)
    swapped = pairs.flip(1)
    with torch.no_grad():
        codes = encoder(torch.nn.functional.interpolate(pairs.reshape(6, 1, 8, 8), size=28,
                                                        mode="bilinear"))
        direct = model.classifier(codes.reshape(3, 32))
        assert torch.allclose(model(pairs), direct, atol=1e-6)
        assert not torch.allclose(model(pairs), model(swapped))


# --- augmentations ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 28, 28), (5, 1, 28, 28), (3, 2, 12, 16)])
def test_augment_keeps_shape_dtype_and_range(shape):
    images = torch.rand(shape)
    views = augment(images, generator=torch.Generator().manual_seed(0))
    assert views.shape == images.shape and views.dtype == images.dtype
    assert views.min() >= 0 and views.max() <= 1


def test_augment_is_reproducible_with_a_seeded_generator():
    images = torch.rand(8, 28, 28)
    first = augment(images, generator=torch.Generator().manual_seed(3))
    second = augment(images, generator=torch.Generator().manual_seed(3))
    other = augment(images, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


def test_augment_without_crop_and_noise_is_identity_or_mirror():
    # the full crop (scale 1, ratio 1) resamples the pixel grid exactly: only the flip remains
    images = torch.rand(64, 10, 10)
    views = augment(images, generator=torch.Generator().manual_seed(0), scale=(1.0, 1.0),
                    ratio=(1.0, 1.0), noise=0.0)
    same = torch.isclose(views, images, atol=1e-5).flatten(1).all(1)
    mirrored = torch.isclose(views, images.flip(-1), atol=1e-5).flatten(1).all(1)
    assert torch.all(same | mirrored) and same.any() and mirrored.any()


def test_augment_rejects_bad_input():
    with pytest.raises(ValueError, match="images"):
        augment(torch.rand(28, 28))
    with pytest.raises(ValueError, match="scale"):
        augment(torch.rand(2, 28, 28), scale=(0.5, 2.0))
    with pytest.raises(ValueError, match="flip"):
        augment(torch.rand(2, 28, 28), flip=1.5)


# --- SimCLR -------------------------------------------------------------------------------


def test_simclr_loss_is_nt_xent_of_two_augmented_views():
    seed_everything(0)
    encoder = conv_encoder(16, channels=(4, 8))
    model = SimCLR(encoder, projection_dim=8, temperature=0.3, random_state=5)
    x = torch.rand(6, 28, 28)
    loss = model.loss((x, torch.zeros(6, dtype=torch.int64)))  # labels are ignored
    replay = torch.Generator().manual_seed(5)
    view1, view2 = augment(x, generator=replay), augment(x, generator=replay)
    z1, z2 = model.projection(encoder(view1)), model.projection(encoder(view2))
    assert loss.item() == pytest.approx(nt_xent_loss(z1, z2, 0.3).item(), abs=1e-5)
    assert torch.equal(model(x), encoder(x))  # features come from f, not from g(f)


def test_simclr_trains_with_fit_and_lowers_its_loss():
    seed_everything(0)
    x = torch.rand(256, 28, 28) * (torch.rand(256, 1, 1) > 0.5)  # two kinds of images
    model = SimCLR(conv_encoder(16, channels=(4, 8)), projection_dim=8, temperature=0.5)
    history = fit(model, x, epochs=6, batch_size=64, lr=3e-3, progress=False)
    assert history["loss"][-1] < history["loss"][0] - 0.1


def test_simclr_rejects_a_non_positive_temperature():
    with pytest.raises(ValueError, match="temperature"):
        SimCLR(conv_encoder(16), projection_dim=8, temperature=0.0)


# --- linear probe and features --------------------------------------------------------------


def test_linear_probe_equals_a_logistic_regression_fitted_directly():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 6))
    y_train, y_test = rng.integers(0, 3, 150), rng.integers(0, 3, 90)
    features_train = centres[y_train] + rng.normal(scale=1.5, size=(150, 6))
    features_test = centres[y_test] + rng.normal(scale=1.5, size=(90, 6))
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
    expected = reference.fit(features_train, y_train).score(features_test, y_test)
    accuracy = linear_probe(features_train, y_train, features_test, y_test, C=0.5)
    assert accuracy == expected
    assert 0.5 < accuracy < 1.0  # a real task: above chance, not trivially perfect


def test_linear_probe_rejects_mismatched_inputs():
    features = np.zeros((10, 4))
    labels = np.arange(10) % 2
    with pytest.raises(ValueError, match="y_train"):
        linear_probe(features, labels[:9], features, labels)
    with pytest.raises(ValueError, match="features_test"):
        linear_probe(features, labels, np.zeros((10, 3)), labels)
    with pytest.raises(ValueError, match="features_train"):
        linear_probe(np.zeros(10), labels, features, labels)
