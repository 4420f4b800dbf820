"""coursekit.gan against closed forms, SciPy, hand-built samples and bad input.

Loss and distance comparisons run in float64 (tolerance 1e-10: a few dozen float64 operations
on O(1) numbers; 1e-8 where a matrix square root is involved). Training tests use small
float32 models and compare with a margin stated at each assert.
"""

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from coursekit.blocks import mlp
from coursekit.gan import (
    GAN,
    ConditionalGAN,
    dcgan_discriminator,
    dcgan_generator,
    discriminator_loss,
    frechet_distance,
    generator_loss,
    mode_coverage,
    ring_of_gaussians,
    train_gan,
)
from coursekit.train import seed_everything


def log_sigmoid(t):
    """ln sigmoid(t) = -ln(1 + e^{-t}), by hand in NumPy."""
    return -np.log1p(np.exp(-t))


LOGITS = np.array([-3.0, -0.5, 0.0, 0.7, 2.5])


# --- the two criteria ---------------------------------------------------------------------


def test_discriminator_loss_is_the_negative_log_likelihood():
    real, fake = LOGITS, LOGITS[::-1] * 0.8
    expected = -np.mean(log_sigmoid(real)) - np.mean(np.log1p(-1 / (1 + np.exp(-fake))))
    got = discriminator_loss(torch.tensor(real), torch.tensor(fake.copy()))
    assert got.item() == pytest.approx(expected, abs=1e-10)


def test_discriminator_loss_at_chance_is_two_ln_two():
    zeros = torch.zeros(7, dtype=torch.float64)
    assert discriminator_loss(zeros, zeros).item() == pytest.approx(2 * np.log(2), abs=1e-12)


def test_non_saturating_generator_loss_is_minus_log_d():
    got = generator_loss(torch.tensor(LOGITS), non_saturating=True)
    assert got.item() == pytest.approx(-np.mean(log_sigmoid(LOGITS)), abs=1e-10)


def test_min_max_generator_loss_is_log_one_minus_d():
    d = 1 / (1 + np.exp(-LOGITS))
    got = generator_loss(torch.tensor(LOGITS), non_saturating=False)
    assert got.item() == pytest.approx(np.mean(np.log(1 - d)), abs=1e-10)


def test_min_max_gradient_vanishes_where_d_rejects_fakes():
    # d/dt ln(1 - sigmoid(t)) = -sigmoid(t) -> 0 as t -> -inf; d/dt -ln sigmoid(t) -> -1.
    logits = torch.tensor([-8.0], dtype=torch.float64, requires_grad=True)
    (saturating,) = torch.autograd.grad(generator_loss(logits, non_saturating=False), logits)
    (non_saturating,) = torch.autograd.grad(generator_loss(logits), logits)
    sigma = 1 / (1 + np.exp(8.0))
    assert saturating.item() == pytest.approx(-sigma, abs=1e-12)
    assert non_saturating.item() == pytest.approx(sigma - 1, abs=1e-12)


def test_logits_of_different_shapes_raise():
    with pytest.raises(ValueError, match="real_logits and fake_logits"):
        discriminator_loss(torch.zeros(4), torch.zeros(5))


# --- Fréchet distance ---------------------------------------------------------------------


def exact_gaussian_sample(n, mean, cov, seed):
    """n points whose sample mean and covariance (ddof=1) are exactly ``mean`` and ``cov``."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(mean)))
    z -= z.mean(axis=0)
    q, _ = np.linalg.qr(z)  # orthonormal, centred columns: q.T q = I
    return np.sqrt(n - 1) * q @ np.linalg.cholesky(cov).T + mean


def random_covariance(d, seed):
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_closed_form_for_diagonal_covariances():
    # d^2 = ||mu_a - mu_b||^2 + sum_j (s_aj - s_bj)^2 when both covariances are diagonal
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 0.0])
    std_a, std_b = np.array([1.0, 2.0, 0.5]), np.array([0.3, 2.0, 1.5])
    a = exact_gaussian_sample(50, mean_a, np.diag(std_a**2), seed=0)
    b = exact_gaussian_sample(80, mean_b, np.diag(std_b**2), seed=1)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((std_a - std_b) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, abs=1e-8)


def test_frechet_distance_matches_the_symmetric_square_root_formula():
    # independent form of the trace: tr((S_a^1/2 S_b S_a^1/2)^1/2), via eigendecompositions
    cov_a, cov_b = random_covariance(4, seed=2), random_covariance(4, seed=3)
    mean_a, mean_b = np.arange(4.0), np.ones(4)
    a = exact_gaussian_sample(60, mean_a, cov_a, seed=4)
    b = exact_gaussian_sample(40, mean_b, cov_b, seed=5)
    root_a = scipy.linalg.sqrtm(cov_a).real
    eigenvalues = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    expected = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2 * np.sum(np.sqrt(eigenvalues)))
    assert frechet_distance(a, b) == pytest.approx(expected, abs=1e-8)


def test_frechet_distance_of_a_set_to_itself_is_zero():
    features = np.random.default_rng(6).standard_normal((300, 16))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_is_symmetric():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((100, 5)), 2 * rng.standard_normal((90, 5)) + 1
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-8)


def test_frechet_distance_rejects_feature_sets_of_different_widths():
    with pytest.raises(ValueError, match="features_a has 3 features but features_b has 4"):
        frechet_distance(np.zeros((10, 3)), np.zeros((10, 4)))


def test_frechet_distance_needs_two_samples_per_set():
    with pytest.raises(ValueError, match="features_b needs at least 2 samples"):
        frechet_distance(np.zeros((10, 3)), np.zeros((1, 3)))


# --- mode coverage and the ring -----------------------------------------------------------


def test_mode_coverage_counts_only_populated_modes():
    samples, centers = ring_of_gaussians(1000, std=0.02, random_state=0)
    modes = np.argmin(np.linalg.norm(samples[:, None] - centers[None], axis=2), axis=1)
    kept = samples[modes < 5]  # only 5 of the 8 modes populated
    off_mode = np.zeros((100, 2), dtype=np.float32)  # the centre of the ring: near no mode
    covered, share = mode_coverage(np.vstack([kept, off_mode]), centers, radius=0.1)
    assert covered == 5
    # std 0.02, radius 0.1 = 5 std: every kept sample is near its mode (P(miss) ~ 4e-6)
    assert share == len(kept) / (len(kept) + 100)


def test_mode_coverage_needs_one_percent_of_samples_per_mode():
    centers = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = np.vstack([np.zeros((990, 2)), np.full((9, 2), [10.0, 0.0]), [[5.0, 5.0]]])
    assert mode_coverage(samples, centers, radius=1.0) == (1, 0.999)  # 9 < 1 % of 1000
    samples[-1] = [10.0, 0.0]  # now 10 samples = 1 %
    assert mode_coverage(samples, centers, radius=1.0) == (2, 1.0)


def test_mode_coverage_rejects_a_non_positive_radius():
    with pytest.raises(ValueError, match="radius"):
        mode_coverage(np.zeros((5, 2)), np.zeros((3, 2)), radius=0.0)


def test_mode_coverage_rejects_centres_of_another_width():
    with pytest.raises(ValueError, match="samples has 2 features but centers has 3"):
        mode_coverage(np.zeros((5, 2)), np.zeros((3, 3)), radius=1.0)


def test_ring_of_gaussians_centres_lie_on_the_circle():
    samples, centers = ring_of_gaussians(4000, n_modes=8, radius=2.0, std=0.05, random_state=1)
    assert samples.shape == (4000, 2) and centers.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0, atol=1e-6)
    angles = np.sort(np.mod(np.arctan2(centers[:, 1], centers[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), np.pi / 4, atol=1e-6)
    # each sample's distance to its nearest centre is |N(0, 0.05^2 I)|: mean 0.05 sqrt(pi/2)
    nearest = np.linalg.norm(samples[:, None] - centers[None], axis=2).min(axis=1)
    assert nearest.mean() == pytest.approx(0.05 * np.sqrt(np.pi / 2), rel=0.05)


# --- models -------------------------------------------------------------------------------


def test_dcgan_generator_makes_28x28_images_in_the_unit_interval():
    images = dcgan_generator(16, channels=8)(torch.randn(5, 16))
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1


def test_dcgan_discriminator_gives_one_logit_per_image():
    assert dcgan_discriminator(3, channels=8)(torch.rand(5, 3, 28, 28)).shape == (5, 1)


def test_gan_sample_has_the_generators_shape():
    gan = GAN(dcgan_generator(10, channels=4), dcgan_discriminator(channels=4), code_size=10)
    assert gan.eval().sample(3).shape == (3, 1, 28, 28)


def test_gan_noise_has_code_size_coordinates():
    gan = GAN(mlp([3, 2]), mlp([2, 1]), code_size=3)
    assert gan.code_size == 3
    assert gan.noise(5).shape == (5, 3)


def test_conditional_gan_concatenates_one_hot_labels():
    # G sees [z, one-hot(y)]; D sees the image plus one constant channel per class
    generator = dcgan_generator(6 + 10, channels=4)
    cgan = ConditionalGAN(generator, dcgan_discriminator(1 + 10, channels=4), 6, n_classes=10)
    labels = torch.tensor([0, 3, 9])
    assert cgan.eval().sample(labels).shape == (3, 1, 28, 28)
    seen = []
    cgan.discriminator.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    cgan.discriminate(torch.rand(3, 1, 28, 28), torch.eye(10)[labels])
    assert seen[0].shape == (3, 11, 28, 28)
    np.testing.assert_array_equal(seen[0][:, 1:, 0, 0].numpy(), torch.eye(10)[labels].numpy())


def test_conditional_gan_rejects_labels_out_of_range():
    cgan = ConditionalGAN(mlp([4 + 3, 2]), mlp([2 + 3, 1]), 4, n_classes=3)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        cgan.sample(torch.tensor([0, 3]))


# --- training -----------------------------------------------------------------------------


def point_gan(seed=0):
    seed_everything(seed)
    return GAN(mlp([2, 16, 2]), mlp([2, 16, 1]), code_size=2)


def test_training_lowers_the_discriminator_error_on_separable_data():
    # G ends in a sigmoid, so its points stay in the unit square, away from the real (5, 5)
    seed_everything(0)
    gan = GAN(mlp([2, 16, 2], final=nn.Sigmoid), mlp([2, 16, 1]), code_size=2)
    real = torch.full((256, 2), 5.0)

    def d_error(model, epoch=None):
        with torch.no_grad():
            return model.discriminator_step_loss(real, generator=torch.Generator().manual_seed(1))

    before = d_error(gan).item()
    history = train_gan(gan, real, epochs=20, batch_size=32, lr=1e-2, progress=False,
                        generator=0, device="cpu")
    after = d_error(gan).item()
    assert before > 0.5  # 2 ln 2 = 1.39 for a D that cannot tell at all
    assert after < 0.1 * before and history["d_loss"][-1] < history["d_loss"][0]


def test_training_is_reproducible_with_a_seed():
    real, _ = ring_of_gaussians(512, random_state=0)
    runs = []
    for _ in range(2):
        gan = point_gan(seed=3)
        history = train_gan(gan, torch.as_tensor(real), epochs=2, batch_size=64,
                            progress=False, generator=5, device="cpu")
        runs.append((history, gan.sample(4, generator=torch.Generator().manual_seed(0))))
    assert runs[0][0] == runs[1][0]
    torch.testing.assert_close(runs[0][1], runs[1][1], rtol=0, atol=0)


def test_training_keeps_the_history_of_each_epoch_and_callback():
    real, _ = ring_of_gaussians(256, random_state=0)
    history = train_gan(point_gan(), torch.as_tensor(real), epochs=3, progress=False,
                        generator=0, on_epoch=lambda gan, epoch: (epoch, gan.training))
    assert len(history["d_loss"]) == len(history["g_loss"]) == 3
    assert history["on_epoch"] == [(0, False), (1, False), (2, False)]


def test_training_returns_the_model_home_in_eval_mode():
    gan = point_gan()
    train_gan(gan, torch.randn(64, 2), epochs=1, progress=False, generator=0)
    assert next(gan.parameters()).device.type == "cpu" and not gan.training


def test_conditional_training_takes_labelled_pairs():
    seed_everything(0)
    cgan = ConditionalGAN(mlp([2 + 3, 16, 2]), mlp([2 + 3, 16, 1]), 2, n_classes=3)
    data = (torch.randn(90, 2), torch.arange(90) % 3)
    history = train_gan(cgan, data, epochs=2, batch_size=30, progress=False, generator=0)
    assert all(np.isfinite(history["d_loss"] + history["g_loss"]))


def test_training_rejects_data_shaped_unlike_the_generators_objects():
    with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(3,\)"):
        train_gan(point_gan(), torch.randn(64, 3), epochs=1, progress=False)


def test_training_rejects_a_model_that_is_not_a_gan():
    with pytest.raises(TypeError, match="gan must be"):
        train_gan(nn.Linear(2, 2), torch.randn(8, 2), epochs=1, progress=False)


def test_training_rejects_a_cuda_device_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="device"):
        train_gan(point_gan(), torch.randn(8, 2), epochs=1, progress=False, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_a_gpu_returns_the_model_to_the_cpu():
    gan = point_gan()
    history = train_gan(gan, torch.randn(64, 2), epochs=2, progress=False, generator=0,
                        device="cuda")
    assert next(gan.parameters()).device.type == "cpu" and len(history["d_loss"]) == 2
