"""coursekit.vae: the VAE against closed forms, torch.distributions, Monte Carlo and bad input.

References: torch.distributions (KL between Gaussians, Normal log-densities), torch's own
binary cross-entropy, hand-derived gradients of the reparameterisation, and, for the trained
model, the independent-pixels model (the best model without a latent code) and the
importance-sampled log-likelihood. Float32 identities use rtol=1e-5 (a few hundred float32
operations of O(1) numbers); Monte-Carlo comparisons use 5 standard errors.
"""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch.nn import functional as F

from coursekit.plots import plot_latent_space, plot_traversal
from coursekit.train import fit, seed_everything
from coursekit.vae import VAE, kl_divergence

N_PIXELS = 64  # scikit-learn's 8 x 8 digits



@pytest.fixture(scope="module")
def digits():
    """Binarised digits (grey level >= 8 of 16 -> 1): (train [1400, 64], test [397, 64]).
    Binary pixels make the Bernoulli decoder a true likelihood with no entropy floor."""
    X = torch.as_tensor(load_digits().data >= 8, dtype=torch.float32)
    return X[:1400], X[1400:]


@pytest.fixture(scope="module")
def trained(digits):
    """A small VAE trained on the digits for a few seconds, with its training history."""
    seed_everything(0)
    model = VAE(N_PIXELS, code_size=4, hidden=(64,), random_state=0)
    history = fit(model, digits[0], epochs=40, batch_size=64, lr=3e-3, progress=False,
                  generator=0)
    return model, history


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- shapes -------------------------------------------------------------------------------


@pytest.mark.parametrize("conv", [False, True])
def test_shapes_of_encode_decode_elbo_and_sample(conv):
    model = VAE(784, code_size=3, hidden=(32,), conv=conv, random_state=0)
    x = torch.rand(5, 784)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 3)
    assert model.decode(mu).shape == (5, 784)
    parts = model.elbo_parts(x)
    assert set(parts) == {"elbo", "reconstruction", "kl"}
    assert all(part.shape == (5,) for part in parts.values())
    assert model.loss(x).shape == ()
    assert model.sample(7).shape == (7, 784)


def test_code_size_is_the_number_of_latent_coordinates():
    model = VAE(10, code_size=3, hidden=(8,), random_state=0)
    assert model.code_size == 3
    assert model.encode(torch.rand(2, 10))[0].shape == (2, 3)
    assert model.sample(4).shape == (4, 10)


def test_default_architecture_is_smaller_than_the_pytorch_examples_vae():
    # bench/results/vae.md: the default must beat the PyTorch-examples VAE (784-400-20-400-784,
    # ReLU: 652 824 weights at latent size 20) on test ELBO *and* speed, so it has fewer weights.
    model = VAE(784, code_size=20)
    assert model.hidden == (240, 240) and model.activation == "elu"
    reference = (784 + 1) * 400 + 2 * (400 + 1) * 20 + (20 + 1) * 400 + (400 + 1) * 784
    encoder = (784 + 1) * 240 + (240 + 1) * 240 + 2 * (240 + 1) * 20
    decoder = (20 + 1) * 240 + (240 + 1) * 240 + (240 + 1) * 784
    assert sum(p.numel() for p in model.parameters()) == encoder + decoder < reference


@pytest.mark.parametrize("shape", [(4, 28, 28), (4, 1, 28, 28)])
def test_image_shaped_input_equals_flat_input(shape):
    model = VAE(784, code_size=2, hidden=(16,), random_state=0)
    x = torch.rand(shape)
    flat = x.reshape(4, 784)
    torch.testing.assert_close(model.encode(x), model.encode(flat))
    torch.testing.assert_close(model.elbo(x, generator=gen()), model.elbo(flat, generator=gen()))


def test_loss_accepts_an_x_y_pair_as_fit_passes_it():
    x, y = torch.rand(6, 10), torch.arange(6)

    def model():  # one per call: each draws the same reparameterisation noise from seed 0
        return VAE(10, code_size=2, hidden=(8,), random_state=0)

    from_tensor = model().loss(x)
    torch.testing.assert_close(model().loss((x, y)), from_tensor)
    torch.testing.assert_close(from_tensor, -model().elbo(x).mean())


# --- the KL term --------------------------------------------------------------------------


@pytest.mark.parametrize("prior_std", [1.0, 0.5, 2.0])
def test_kl_closed_form_equals_torch_distributions(prior_std):
    mu = torch.randn(6, 3, generator=gen(), dtype=torch.float64)
    logvar = torch.randn(6, 3, generator=gen(1), dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3, dtype=torch.float64), prior_std)
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(kl_divergence(mu, logvar, prior_std), expected,
                               rtol=1e-12, atol=1e-12)


def test_kl_closed_form_agrees_with_a_monte_carlo_estimate():
    # KL(q || p) = E_q[log q(z) - log p(z)]; 200 000 draws, tolerance 5 standard errors.
    mu = torch.tensor([[0.7, -1.2, 0.1]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.4, -2.0]], dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    z = mu + torch.exp(0.5 * logvar) * torch.randn(200_000, 3, generator=gen(),
                                                   dtype=torch.float64)
    log_ratio = (q.log_prob(z) - torch.distributions.Normal(0.0, 1.0).log_prob(z)).sum(-1)
    standard_error = log_ratio.std() / math.sqrt(len(log_ratio))
    assert abs(log_ratio.mean() - kl_divergence(mu, logvar)[0]) < 5 * standard_error


def test_kl_is_zero_when_the_posterior_is_the_prior():
    assert kl_divergence(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() == 0
    logvar = torch.full((1, 4), math.log(0.25))
    torch.testing.assert_close(kl_divergence(torch.zeros(1, 4), logvar, prior_std=0.5),
                               torch.zeros(1))


# --- the reconstruction term and the ELBO -------------------------------------------------


def test_bernoulli_reconstruction_term_equals_minus_bce():
    model = VAE(12, code_size=2, hidden=(8,), random_state=0)
    x = torch.rand(5, 12)
    z = torch.randn(5, 2, generator=gen())
    expected = -F.binary_cross_entropy(model.decode(z), x, reduction="none").sum(1)
    torch.testing.assert_close(model.log_likelihood(x, z), expected, rtol=1e-5, atol=1e-4)


def test_elbo_parts_use_the_reparameterised_code_and_the_closed_form_kl():
    model = VAE(12, code_size=2, hidden=(8,), random_state=0)
    x = (torch.rand(5, 12, generator=gen()) > 0.5).float()
    parts = model.elbo_parts(x, generator=gen(3))
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(1, 5, 2, generator=gen(3))[0]
    bce = F.binary_cross_entropy(model.decode(z), x, reduction="none").sum(1)
    torch.testing.assert_close(parts["reconstruction"], -bce, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(parts["kl"], kl_divergence(mu, logvar))
    torch.testing.assert_close(parts["elbo"], parts["reconstruction"] - parts["kl"])


@pytest.mark.parametrize("decoder_std", [None, 0.3])
def test_gaussian_reconstruction_term_equals_normal_log_density(decoder_std):
    model = VAE(6, code_size=2, hidden=(8,), likelihood="gaussian", decoder_std=decoder_std,
                random_state=0)
    x, z = torch.randn(4, 6, generator=gen()), torch.randn(4, 2, generator=gen(1))
    std = 1.0 if decoder_std is None else decoder_std  # a learned std starts at exp(0) = 1
    expected = torch.distributions.Normal(model.decode(z), std).log_prob(x).sum(1)
    torch.testing.assert_close(model.log_likelihood(x, z), expected)


def test_reparameterisation_gradients_flow_to_mu_and_logvar():
    # z = mu + exp(logvar / 2) eps: dz/dmu = 1, dz/dlogvar = exp(logvar / 2) eps / 2.
    mu = torch.tensor([[0.3, -1.0]], requires_grad=True)
    logvar = torch.tensor([[0.2, -0.6]], requires_grad=True)
    model = VAE(4, code_size=2, hidden=(3,), random_state=0)
    model.reparameterize(mu, logvar, generator=gen(5)).sum().backward()
    eps = torch.randn(1, 2, generator=gen(5))
    torch.testing.assert_close(mu.grad, torch.ones(1, 2))
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)


def test_loss_gradient_reaches_encoder_and_decoder():
    model = VAE(10, code_size=2, hidden=(8,), random_state=0)
    model.loss(torch.rand(6, 10)).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


# --- training on real data ----------------------------------------------------------------


def test_loss_decreases_on_digits(trained):
    _, history = trained
    assert history["loss"][-1] < 0.8 * history["loss"][0]


def test_convolutional_vae_loss_decreases_on_fashion_mnist():
    from coursekit.data import load_fashion_mnist

    images, _ = load_fashion_mnist("train")
    x = torch.as_tensor(images[:256])  # [256, 28, 28]: the conv VAE takes images as they are
    seed_everything(0)
    model = VAE(784, code_size=4, hidden=(32,), conv=True, random_state=0)
    history = fit(model, x, epochs=4, batch_size=32, lr=3e-3, progress=False, generator=0)
    assert history["loss"][-1] < 0.8 * history["loss"][0]  # measured: 445 -> 309 nats


def test_trained_vae_beats_the_independent_pixels_model_on_held_out_digits(digits, trained):
    # The best model without a latent code: each pixel Bernoulli with its training mean.
    model, _ = trained
    train, test = digits
    mean = train.mean(0).clamp(1e-3, 1 - 1e-3).expand_as(test)
    independent = F.binary_cross_entropy(mean, test, reduction="none").sum(1).mean()
    with torch.no_grad():
        elbo = model.elbo(test, n_samples=10, generator=gen()).mean()
    assert -elbo < independent - 3.0


def test_elbo_lies_below_the_importance_sampled_log_likelihood(digits, trained):
    # E[IWAE_K] rises with K and E[IWAE_1] = ELBO (Burda et al., 2016). Averages over 397
    # test digits. Measured over 5 seeds: ELBO -19.19, IWAE_1 -19.2 (sd 0.1, hence the 0.5
    # tolerance), IWAE_5 -18.85 (sd 0.03), IWAE_200 -18.70 (sd 0.003): each gap is >= 5 sd.
    model, _ = trained
    x = digits[1]
    with torch.no_grad():
        elbo = model.elbo(x, n_samples=50, generator=gen()).mean()
        iwae = {k: model.importance_log_likelihood(x, k, generator=gen(k)).mean()
                for k in (1, 5, 200)}
    assert abs(iwae[1] - elbo) < 0.5
    assert elbo < iwae[5] < iwae[200]


# --- generation and the latent space ------------------------------------------------------


def test_sample_shapes_values_and_determinism():
    model = VAE(10, code_size=3, hidden=(8,), random_state=0)
    means = model.sample(4, generator=gen(2))
    assert means.shape == (4, 10) and ((means > 0) & (means < 1)).all()
    torch.testing.assert_close(means, model.sample(4, generator=gen(2)))
    draws = model.sample(4, generator=gen(2), mean=False)
    assert set(draws.unique().tolist()) <= {0.0, 1.0}


def test_sample_decodes_codes_drawn_from_the_prior():
    model = VAE(10, code_size=3, hidden=(8,), prior_std=2.0, random_state=0)
    z = 2.0 * torch.randn(4, 3, generator=gen(7))
    torch.testing.assert_close(model.sample(4, generator=gen(7)), model.decode(z))


def test_latent_grid_changes_only_the_chosen_coordinates():
    model = VAE(10, code_size=4, hidden=(8,), random_state=0)
    start = torch.tensor([0.5, -1.0, 2.0, 0.1])
    values = torch.linspace(-3, 3, 7)
    line = model.latent_grid(start, 2, values)
    assert line.shape == (7, 4)
    torch.testing.assert_close(line[:, 2], values)
    torch.testing.assert_close(line[:, [0, 1, 3]], start[[0, 1, 3]].expand(7, 3))
    grid = model.latent_grid(start, (1, 3), (values, values[:3]))
    assert grid.shape == (7, 3, 4)
    torch.testing.assert_close(grid[:, :, 1], values[:, None].expand(7, 3))
    torch.testing.assert_close(grid[:, :, 3], values[None, :3].expand(7, 3))
    torch.testing.assert_close(grid[:, :, [0, 2]], start[[0, 2]].expand(7, 3, 2))


def test_traverse_decodes_the_grid_and_starts_from_the_posterior_mean_of_x():
    model = VAE(10, code_size=4, hidden=(8,), random_state=0)
    x = torch.rand(10, generator=gen())
    values = [-1.0, 0.0, 1.0]
    mu = model.encode(x[None])[0][0]
    images = model.traverse(x, (0, 1), values)
    assert images.shape == (3, 3, 10)
    torch.testing.assert_close(images, model.decode(model.latent_grid(mu, (0, 1), values)))
    assert model.traverse(mu, 3, values).shape == (3, 10)


# --- determinism --------------------------------------------------------------------------


def test_random_state_fixes_the_initial_weights_and_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    first = VAE(10, code_size=2, hidden=(8,), random_state=3)
    assert torch.rand(1) == before  # building the model did not consume global random numbers
    second = VAE(10, code_size=2, hidden=(8,), random_state=3)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_the_same_random_state_gives_the_same_samples():
    first = VAE(10, code_size=2, hidden=(8,), random_state=3)
    second = VAE(10, code_size=2, hidden=(8,), random_state=3)
    torch.testing.assert_close(first.sample(4, mean=False), second.sample(4, mean=False),
                               rtol=0, atol=0)
    assert not torch.equal(first.sample(4), first.sample(4))  # each draw goes on from the last


def test_the_same_random_state_gives_the_same_reparameterised_loss():
    x = torch.rand(5, 10, generator=gen(0))
    first = VAE(10, code_size=2, hidden=(8,), random_state=3)
    second = VAE(10, code_size=2, hidden=(8,), random_state=3)
    assert first.loss(x).item() == second.loss(x).item()


def test_a_seeded_model_draws_without_touching_the_global_rng():
    model = VAE(10, code_size=2, hidden=(8,), random_state=3)
    before = torch.random.get_rng_state()
    model.sample(4, mean=False)
    model.loss(torch.rand(5, 10, generator=gen(0)))
    assert torch.equal(torch.random.get_rng_state(), before)


def test_random_state_may_be_a_generator():
    first = VAE(10, code_size=2, hidden=(8,), random_state=gen(5))
    second = VAE(10, code_size=2, hidden=(8,), random_state=gen(5))
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(first.sample(3), second.sample(3), rtol=0, atol=0)


def test_a_generator_passed_to_a_method_overrides_random_state():
    model = VAE(10, code_size=2, hidden=(8,), random_state=3)
    other = VAE(10, code_size=2, hidden=(8,), random_state=3)
    other.sample(4)  # moves other's own generator on; an explicit generator ignores it
    torch.testing.assert_close(model.sample(4, gen(1)), other.sample(4, gen(1)), rtol=0, atol=0)


def test_training_is_reproducible_under_seed_everything(digits):
    losses = []
    for _ in range(2):
        seed_everything(1)
        model = VAE(N_PIXELS, code_size=2, hidden=(16,), random_state=1)
        losses.append(fit(model, digits[0][:300], epochs=2, progress=False, generator=1)["loss"])
    assert losses[0] == losses[1]


def test_elbo_is_deterministic_under_a_generator():
    model = VAE(10, code_size=2, hidden=(8,), random_state=0)
    x = torch.rand(3, 10)
    torch.testing.assert_close(model.elbo(x, generator=gen(4)), model.elbo(x, generator=gen(4)),
                               rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_on_the_gpu_draws_the_cpu_generators_samples():
    # A seeded CPU generator gives the same draws wherever the model lives.
    model = VAE(10, code_size=2, hidden=(8,), random_state=0)
    x = torch.rand(3, 10)
    on_cpu = model.elbo(x, generator=gen(4)), model.sample(5, gen(4), mean=False)
    model.to("cuda")
    on_gpu = model.elbo(x, generator=gen(4)), model.sample(5, gen(4), mean=False)
    for gpu, cpu in zip(on_gpu, on_cpu):
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"n_features": 0}, ValueError, "n_features"),
    ({"code_size": 2.5}, TypeError, "code_size"),
    ({"hidden": (16, 0)}, ValueError, "hidden"),
    ({"hidden": "wide"}, TypeError, "hidden"),
    ({"likelihood": "poisson"}, ValueError, "likelihood"),
    ({"activation": "sigmoid"}, ValueError, "activation"),
    ({"prior_std": -1.0}, ValueError, "prior_std"),
    ({"decoder_std": 0.0}, ValueError, "decoder_std"),
    ({"n_features": 100, "conv": True}, ValueError, "conv"),
    ({"random_state": -1}, ValueError, "random_state"),
    ({"random_state": 1.5}, TypeError, "random_state"),
    ({"random_state": "0"}, TypeError, "random_state"),
])
def test_bad_hyper_parameters_raise(kwargs, error, message):
    arguments = {"n_features": 784, "code_size": 2} | kwargs
    with pytest.raises(error, match=message):
        VAE(**arguments)


@pytest.mark.parametrize(("x", "message"), [
    (torch.rand(3, 9), r"shape \[n, 10\]"),
    (torch.rand(10), r"shape \[n, 10\]"),
    (torch.full((2, 10), float("nan")), "NaN"),
    (torch.full((2, 10), 1.5), r"\[0, 1\]"),
    (torch.rand(0, 10), "empty"),
    ("pixels", "array or tensor"),
    (None, "array or tensor"),
])
def test_bad_input_raises(x, message):
    model = VAE(10, code_size=2, hidden=(8,))
    with pytest.raises((ValueError, TypeError), match=message):
        model.loss(x)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_one_non_finite_value_anywhere_in_x_or_z_raises(bad, likelihood):
    # The checks look at the extremes of x (one pass): one bad value among valid ones must
    # still be caught, wherever it is.
    model = VAE(10, code_size=2, hidden=(8,), likelihood=likelihood, random_state=0)
    x = torch.rand(4, 10)
    x[2, 7] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.loss(x)
    z = torch.zeros(3, 2)
    z[1, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.decode(z)


def test_gaussian_decoder_accepts_values_outside_the_unit_interval():
    model = VAE(10, code_size=2, hidden=(8,), likelihood="gaussian")
    assert torch.isfinite(model.loss(5 * torch.randn(4, 10)))


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: m.decode(torch.zeros(2, 3)), r"z must have shape \[\.\.\., 2\]"),
    (lambda m: m.traverse(torch.zeros(2), 2, [0.0]), "dims"),
    (lambda m: m.traverse(torch.zeros(2), (0, 0), [0.0]), "dims"),
    (lambda m: m.traverse(torch.zeros(2), 0, [[0.0]]), "values"),
    (lambda m: m.traverse(torch.zeros(5), 0, [0.0]), "x_or_z"),
    (lambda m: m.sample(0), "n must be"),
    (lambda m: m.importance_log_likelihood(torch.rand(2, 10), 0), "n_samples"),
])
def test_bad_arguments_of_decode_traverse_and_sample_raise(call, message):
    model = VAE(10, code_size=2, hidden=(8,))
    with pytest.raises(ValueError, match=message):
        call(model)


def test_numpy_input_is_accepted():
    model = VAE(10, code_size=2, hidden=(8,), random_state=0)
    x = np.random.default_rng(0).random((3, 10))
    torch.testing.assert_close(model.encode(x), model.encode(torch.as_tensor(x).float()))


# --- figures of the latent space (coursekit.plots.latent) ---------------------------------


def test_plot_latent_space_draws_each_class_with_its_points_and_name():
    codes = np.random.default_rng(0).normal(size=(30, 2))
    labels = np.repeat([2, 0, 1], 10)
    ax = plot_latent_space(codes, labels, class_names=["a", "b", "c"])
    assert len(ax.collections) == 3
    for k, collection in enumerate(ax.collections):
        np.testing.assert_allclose(collection.get_offsets(), codes[labels == k])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="codes2d"):
        plot_latent_space(codes[:, :1], labels)
    with pytest.raises(ValueError, match="class_names"):
        plot_latent_space(codes, labels, class_names=["a", "b"])
    plt.close("all")


def test_plot_traversal_lays_out_one_panel_per_decoding():
    model = VAE(N_PIXELS, code_size=2, hidden=(8,), random_state=0)
    values = np.linspace(-2, 2, 4)
    images = model.traverse(torch.zeros(2), (0, 1), (values, values[:3]))
    fig = plot_traversal(images, row_values=values, col_values=values[:3],
                         row_label="$z_1$", col_label="$z_2$")
    assert len(fig.axes) == 12
    np.testing.assert_allclose(fig.axes[5].images[0].get_array(),
                               images[1, 2].reshape(8, 8).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="col_values"):
        plot_traversal(images, col_values=values)
    plt.close("all")
