"""coursekit.autoencoders against closed forms, PCA, SciPy, autograd, direct loops and bad input.

Closed-form comparisons run in float64 (tolerance 1e-10: a few dozen float64 operations on
O(1) numbers); training tests use float32 and compare with a margin stated at each assert.
"""

import matplotlib

matplotlib.use("Agg")  # figures are inspected, never shown

import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from torch import nn

from coursekit.autoencoders import (
    AutoEncoder,
    ContractiveAutoEncoder,
    DenoisingAutoEncoder,
    EncoderClassifier,
    LinearAutoEncoder,
    RelationalAutoEncoder,
    SemiSupervisedAutoEncoder,
    SparseAutoEncoder,
    StackedAutoEncoder,
    contractive_penalty_sigmoid,
    jacobian_frobenius,
    kl_sparsity,
    principal_angles,
    reconstruction_error,
    relational_loss,
)
from coursekit.blocks import conv_decoder, conv_encoder, mlp
from coursekit.plots import plot_basis_cosines, plot_principal_angles, plot_reconstructions
from coursekit.train import fit, seed_everything


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits scaled to [0, 1], as float32 [1797, 64]."""
    return torch.as_tensor(load_digits().data / 16.0, dtype=torch.float32)


def small_ae(n_features=64, code=8, **kwargs):
    return AutoEncoder(mlp([n_features, code]), mlp([code, n_features], final=nn.Sigmoid),
                       **kwargs)


# --- shapes and training ------------------------------------------------------------------


def test_mlp_autoencoder_shapes():
    model = small_ae()
    x = torch.rand(5, 64)
    assert model.encode(x).shape == (5, 8)
    assert model(x).shape == (5, 64)


def test_conv_autoencoder_maps_images_to_codes_and_back():
    model = AutoEncoder(conv_encoder(12), conv_decoder(12))
    x = torch.rand(3, 28, 28)
    assert model.encode(x).shape == (3, 12)
    assert model(x).shape == (3, 28, 28)
    assert model.encode(x.reshape(3, 784)).shape == (3, 12)  # flat images work too
    assert model.n_features == 784


def test_loss_is_mean_squared_norm_of_the_residual():
    model = small_ae().double()
    x = torch.rand(7, 64, dtype=torch.float64)
    expected = ((model(x) - x) ** 2).sum(dim=1).mean()
    torch.testing.assert_close(model.loss(x), expected, rtol=1e-12, atol=0)


def test_bce_loss_matches_torch_summed_over_features():
    model = small_ae(loss="bce").double()
    x = torch.rand(7, 64, dtype=torch.float64)
    expected = nn.BCELoss(reduction="sum")(model(x), x) / len(x)
    torch.testing.assert_close(model.loss(x), expected, rtol=1e-12, atol=0)


def test_loss_accepts_labelled_batches_and_ignores_labels():
    model = small_ae()
    x = torch.rand(6, 64)
    assert model.loss((x, torch.arange(6))).item() == model.loss(x).item()


def test_training_reduces_reconstruction_error_on_digits(digits):
    seed_everything(0)
    model = small_ae()
    before = reconstruction_error(model, digits)
    history = fit(model, digits, epochs=8, batch_size=64, lr=3e-3, progress=False)
    after = reconstruction_error(model, digits)
    assert history["loss"][-1] < history["loss"][0]
    assert after < 0.5 * before  # a random sigmoid decoder sits near 0.5 everywhere


def test_training_is_deterministic_under_a_seed(digits):
    def run():
        seed_everything(3)
        model = DenoisingAutoEncoder(mlp([64, 8]), mlp([8, 64]), noise="mask", p0=0.2)
        return fit(model, digits[:300], epochs=2, batch_size=50, progress=False)["loss"]

    assert run() == run()


# --- the linear autoencoder and PCA -------------------------------------------------------


@pytest.fixture(scope="module")
def known_subspace():
    """Centred data [2000, 10] whose top-3 principal subspace is span(U[:, :3]).

    Standard deviations 5, 4, 3 along U's first columns, 0.3 along the other seven: the gap
    makes the subspace well defined and reachable by a few hundred Adam steps.
    """
    rng = np.random.default_rng(0)
    U = scipy.linalg.qr(rng.normal(size=(10, 10)))[0]
    scales = np.array([5.0, 4.0, 3.0] + [0.3] * 7)
    X = (rng.normal(size=(2000, 10)) * scales) @ U.T
    return X - X.mean(axis=0), U[:, :3]


@pytest.fixture(scope="module")
def trained_linear_ae(known_subspace):
    X, _ = known_subspace
    seed_everything(0)
    model = LinearAutoEncoder(10, 3)
    fit(model, torch.as_tensor(X, dtype=torch.float32), epochs=40, batch_size=100, lr=1e-2,
        progress=False)
    return model


def test_linear_ae_spans_the_top_principal_subspace(known_subspace, trained_linear_ae):
    X, U3 = known_subspace
    pca = PCA(3).fit(X)
    # The PCA subspace is itself an estimate of U3 from 2000 samples; both must agree with it.
    assert principal_angles(pca.components_.T, U3).max() < 0.02
    # The decoder's columns span the reconstructions. (The encoder's rows converge more
    # slowly: their error shows only through the small-variance directions.)
    assert principal_angles(trained_linear_ae.B, pca.components_.T).max() < 0.02


def test_linear_ae_reaches_the_pca_reconstruction_error(known_subspace, trained_linear_ae):
    X, _ = known_subspace
    pca = PCA(3).fit(X)
    pca_error = ((pca.inverse_transform(pca.transform(X)) - X) ** 2).sum(axis=1).mean()
    ae_error = reconstruction_error(trained_linear_ae, X)
    assert pca_error <= ae_error * (1 + 1e-6)  # PCA is optimal (Eckart-Young)
    assert ae_error < 1.02 * pca_error         # and SG gets within 2% of it


def test_linear_ae_basis_is_not_orthonormal(trained_linear_ae):
    B = trained_linear_ae.B
    gram = B.T @ B
    # PCA's basis has gram = I; a linear AE's is an arbitrary basis of the same subspace.
    assert np.abs(gram - np.eye(3)).max() > 0.05


def test_linear_ae_without_bias_has_no_bias():
    model = LinearAutoEncoder(5, 2)
    assert model.encoder.bias is None and model.decoder.bias is None
    assert model.A.shape == (2, 5) and model.B.shape == (5, 2)


@pytest.mark.parametrize("p, q", [(3, 3), (4, 2), (2, 5)])
def test_principal_angles_match_scipy(p, q):
    rng = np.random.default_rng(p * 10 + q)
    A, B = rng.normal(size=(8, p)), rng.normal(size=(8, q))
    expected = np.sort(scipy.linalg.subspace_angles(A, B))
    np.testing.assert_allclose(principal_angles(A, B), expected, atol=1e-10)


def test_principal_angles_are_zero_for_the_same_subspace_in_another_basis():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(6, 3))
    angles = principal_angles(A, A @ rng.normal(size=(3, 3)))
    np.testing.assert_allclose(angles, 0.0, atol=1e-7)


def test_principal_angles_of_orthogonal_lines_are_right_angles():
    np.testing.assert_allclose(principal_angles([[1.0], [0.0]], [[0.0], [2.0]]), [np.pi / 2])


# --- sparse autoencoder -------------------------------------------------------------------


def test_kl_sparsity_matches_the_formula_and_torch_kl_div():
    rho = torch.tensor([0.02, 0.1, 0.5, 0.9], dtype=torch.float64)
    eps = 0.05
    by_hand = sum(eps * np.log(eps / r) + (1 - eps) * np.log((1 - eps) / (1 - r))
                  for r in rho.tolist())
    # KL between Bernoulli(eps) and Bernoulli(rho) with kl_div(input=log q, target=p).
    q = torch.stack([rho, 1 - rho], dim=1)
    p = torch.tensor([eps, 1 - eps], dtype=torch.float64).expand_as(q)
    by_torch = torch.nn.functional.kl_div(q.log(), p, reduction="sum")
    assert kl_sparsity(rho, eps).item() == pytest.approx(by_hand, rel=1e-12)
    assert kl_sparsity(rho, eps).item() == pytest.approx(by_torch.item(), rel=1e-12)


def test_kl_sparsity_is_zero_at_the_target():
    assert kl_sparsity(torch.full((5,), 0.05), 0.05).item() == pytest.approx(0.0, abs=1e-6)


def test_sparse_penalties_match_their_formulas():
    torch.manual_seed(0)
    model = SparseAutoEncoder(mlp([6, 4], final=nn.Sigmoid), mlp([4, 6]), weight_l1=0.1,
                              weight_l2=0.2, code_l1=0.3, kl=0.4, target=0.1).double()
    x = torch.rand(9, 6, dtype=torch.float64)
    z = model.encode(x)
    W1, W2 = model.encoder[1].weight, model.decoder[1].weight
    parts = model.loss_parts(x)
    torch.testing.assert_close(parts["weight_l1"], 0.1 * (W1.abs().sum() + W2.abs().sum()))
    torch.testing.assert_close(parts["weight_l2"], 0.2 * ((W1 ** 2).sum() + (W2 ** 2).sum()))
    torch.testing.assert_close(parts["code_l1"], 0.3 * z.abs().sum() / 9)
    torch.testing.assert_close(parts["kl"], 0.4 * kl_sparsity(z.mean(dim=0), 0.1))
    torch.testing.assert_close(model.loss(x), sum(parts.values()))


def test_code_l1_penalty_makes_codes_sparser(digits):
    def mean_code(code_l1):
        seed_everything(0)
        model = SparseAutoEncoder(mlp([64, 16], final=nn.ReLU), mlp([16, 64]), code_l1=code_l1)
        fit(model, digits, epochs=5, batch_size=64, lr=3e-3, progress=False)
        with torch.no_grad():
            return model.encode(digits).abs().sum(dim=1).mean().item()

    assert mean_code(0.5) < 0.5 * mean_code(0.0)


def test_kl_penalty_needs_codes_in_unit_interval():
    model = SparseAutoEncoder(mlp([6, 4]), mlp([4, 6]), kl=1.0)  # linear codes, may be < 0
    with torch.no_grad():
        model.encoder[1].bias.fill_(-10.0)
    with pytest.raises(ValueError, match="mean_activation"):
        model.loss(torch.rand(5, 6))


# --- denoising autoencoder ----------------------------------------------------------------


def test_masking_zeroes_about_p0_of_the_entries():
    model = DenoisingAutoEncoder(mlp([100, 4]), mlp([4, 100]), noise="mask", p0=0.3)
    x = torch.rand(200, 100) + 0.5  # no zeros before corruption
    zeroed = (model.corrupt(x, torch.Generator().manual_seed(0)) == 0).float().mean().item()
    # 20,000 Bernoulli(0.3) draws: standard deviation 0.0032, so 0.02 is over 6 sigma.
    assert zeroed == pytest.approx(0.3, abs=0.02)


def test_gaussian_corruption_adds_noise_of_the_given_scale():
    model = DenoisingAutoEncoder(mlp([100, 4]), mlp([4, 100]), sigma=0.5)
    x = torch.rand(200, 100)
    noise = model.corrupt(x, torch.Generator().manual_seed(0)) - x
    assert noise.mean().item() == pytest.approx(0.0, abs=0.02)
    assert noise.std().item() == pytest.approx(0.5, rel=0.02)


def test_denoising_loss_reconstructs_the_clean_input():
    model = DenoisingAutoEncoder(mlp([10, 4]), mlp([4, 10]), noise="mask", p0=0.5).double()
    x = torch.rand(8, 10, dtype=torch.float64)
    torch.manual_seed(5)
    loss = model.loss(x)
    torch.manual_seed(5)
    x_tilde = model.corrupt(x)
    expected = ((model.decode(model.encode(x_tilde)) - x) ** 2).sum(dim=1).mean()
    torch.testing.assert_close(loss, expected)


# --- contractive autoencoder --------------------------------------------------------------


def test_contractive_closed_form_equals_autograd():
    torch.manual_seed(0)
    layer = nn.Linear(7, 5).double()
    x = torch.randn(11, 7, dtype=torch.float64)
    closed = contractive_penalty_sigmoid(x, layer.weight, layer.bias)
    autograd = jacobian_frobenius(lambda v: torch.sigmoid(layer(v)), x)
    assert closed.shape == (11,)
    torch.testing.assert_close(closed, autograd, rtol=1e-10, atol=0)


def test_jacobian_frobenius_of_a_linear_map_is_its_frobenius_norm():
    W = torch.randn(3, 4, dtype=torch.float64)
    x = torch.randn(5, 4, dtype=torch.float64)
    expected = torch.full((5,), (W ** 2).sum().item(), dtype=torch.float64)
    torch.testing.assert_close(jacobian_frobenius(lambda v: v @ W.T, x), expected)


def test_contractive_autoencoder_uses_the_closed_form_or_autograd_alike():
    torch.manual_seed(0)
    sigmoid = nn.Sequential(nn.Linear(6, 3), nn.Sigmoid()).double()
    wrapped = nn.Sequential(nn.Flatten(), *sigmoid).double()  # same map, not the closed form
    x = torch.rand(4, 6, dtype=torch.float64)
    closed = ContractiveAutoEncoder(sigmoid, nn.Linear(3, 6).double(), lam=0.5)
    general = ContractiveAutoEncoder(wrapped, nn.Linear(3, 6).double(), lam=0.5)
    torch.testing.assert_close(closed.contraction(x), general.contraction(x))


def test_contractive_closed_form_equals_torchs_jacobian():
    """An independent reference: torch.autograd.functional.jacobian of f(x) = sigmoid(Wx + b),
    one sample at a time, squared and summed."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(3, 5, dtype=torch.float64, generator=generator)
    bias = torch.randn(3, dtype=torch.float64, generator=generator)
    x = torch.randn(4, 5, dtype=torch.float64, generator=generator)
    expected = torch.stack([
        (torch.autograd.functional.jacobian(lambda v: torch.sigmoid(weight @ v + bias), xi) ** 2)
        .sum() for xi in x])
    torch.testing.assert_close(contractive_penalty_sigmoid(x, weight, bias), expected,
                               rtol=1e-12, atol=0)


def test_contractive_penalty_gradient_equals_finite_differences():
    """gradcheck compares the gradients with respect to the encoder's weights (what training
    follows) with central finite differences, in float64: of the sigmoid closed form, and of
    the autograd penalty of a tanh encoder."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, dtype=torch.float64, generator=generator)
    weight = torch.randn(2, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    bias = torch.randn(2, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w, b: contractive_penalty_sigmoid(x, w, b),
                                    (weight, bias))
    assert torch.autograd.gradcheck(
        lambda w, b: jacobian_frobenius(lambda v: torch.tanh(v @ w.T + b), x, create_graph=True),
        (weight, bias))


def test_contractive_validation_pass_runs_without_grad():
    model = ContractiveAutoEncoder(mlp([6, 5, 3]), mlp([3, 6]), lam=1.0)
    x = torch.rand(8, 6)
    history = fit(model, x, epochs=1, batch_size=4, validation=x, progress=False)
    # the validation loss is the same criterion evaluated after the epoch, penalty included
    with torch.no_grad():
        expected = model.loss(x).item()
    assert history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


# --- relational autoencoder ---------------------------------------------------------------


def test_relational_loss_equals_a_loop_over_pairs():
    torch.manual_seed(0)
    x, x_hat = torch.randn(6, 5, dtype=torch.float64), torch.randn(6, 5, dtype=torch.float64)
    s0 = 0.3
    relu = lambda s: max(s - s0, 0.0)
    terms = [(relu(float(x_hat[i] @ x_hat[j])) - relu(float(x[i] @ x[j]))) ** 2
             for i in range(6) for j in range(i + 1, 6)]
    assert relational_loss(x_hat, x, s0).item() == pytest.approx(np.mean(terms), rel=1e-12)


def test_relational_autoencoder_adds_lam_times_the_relational_term():
    model = RelationalAutoEncoder(mlp([5, 2]), mlp([2, 5]), lam=0.7, threshold=0.1).double()
    x = torch.rand(4, 5, dtype=torch.float64)
    parts = model.loss_parts(x)
    torch.testing.assert_close(parts["relational"], 0.7 * relational_loss(model(x), x, 0.1))


def test_relational_training_preserves_similarities_better(digits):
    def similarity_error(lam):
        seed_everything(0)
        model = RelationalAutoEncoder(mlp([64, 4]), mlp([4, 64]), lam=lam, threshold=5.0)
        fit(model, digits, epochs=6, batch_size=64, lr=3e-3, progress=False)
        with torch.no_grad():
            return relational_loss(model(digits[:500]), digits[:500], 5.0).item()

    assert similarity_error(0.05) < similarity_error(0.0)


# --- stacked autoencoder ------------------------------------------------------------------


def test_stacked_pretraining_trains_each_layer_then_fine_tuning_reuses_it(digits):
    seed_everything(0)
    labels = torch.as_tensor(load_digits().target)
    stack = StackedAutoEncoder([64, 32, 16])
    first = stack.layers[0][0].weight.detach().clone()
    histories = stack.pretrain(digits, epochs=4, batch_size=64, lr=3e-3, progress=False)
    assert len(histories) == 2
    assert all(h["loss"][-1] < h["loss"][0] for h in histories)
    assert not torch.equal(first, stack.layers[0][0].weight)  # pretraining changed layer 1

    classifier = stack.classifier(10)
    assert classifier.encoder is stack.encoder  # the pretrained weights, shared, not copied
    pretrained = stack.layers[1][0].weight.detach().clone()
    history = fit(classifier, (digits, labels), epochs=5, batch_size=64, lr=1e-2,
                  progress=False)
    assert history["loss"][-1] < history["loss"][0]
    assert not torch.equal(pretrained, stack.layers[1][0].weight)  # fine-tuned end to end
    accuracy = (classifier.predict(digits) == labels).float().mean().item()
    assert accuracy > 0.8  # ten balanced classes: chance is 0.1


def test_stacked_layer_codes_feed_the_next_layer():
    stack = StackedAutoEncoder([12, 6, 3], activation=nn.ReLU)
    x = torch.rand(5, 12)
    manual = stack.layers[1](stack.layers[0](x))
    torch.testing.assert_close(stack.encode(x), manual)
    assert stack(x).shape == (5, 12)


# --- semi-supervised autoencoder ----------------------------------------------------------


def test_semi_supervised_loss_ignores_unlabelled_targets():
    torch.manual_seed(0)
    model = SemiSupervisedAutoEncoder(mlp([8, 3]), mlp([3, 8]), n_classes=4, lam=2.0).double()
    x = torch.rand(6, 8, dtype=torch.float64)
    y = torch.tensor([0, -1, 3, -1, -1, 1])
    parts = model.loss_parts((x, y))
    logits = model.head(model.encode(x))
    by_hand = sum(-torch.log_softmax(logits[i], 0)[y[i]] for i in (0, 2, 5)) / 6
    torch.testing.assert_close(parts["classification"], 2.0 * by_hand)
    unlabelled = model.loss_parts((x, torch.full((6,), -1)))
    assert unlabelled["classification"].item() == 0.0
    torch.testing.assert_close(unlabelled["reconstruction"], parts["reconstruction"])


def test_semi_supervised_model_learns_to_predict(digits):
    seed_everything(0)
    labels = torch.as_tensor(load_digits().target)
    y = torch.where(torch.arange(len(labels)) % 4 == 0, labels, -1)  # a quarter labelled
    model = SemiSupervisedAutoEncoder(mlp([64, 32, 16]), mlp([16, 64]), n_classes=10, lam=10.0)
    fit(model, (digits, y), epochs=8, batch_size=64, lr=3e-3, progress=False)
    accuracy = (model.predict(digits) == labels).float().mean().item()
    assert accuracy > 0.8
    torch.testing.assert_close(model.predict_proba(digits[:3]).sum(dim=1), torch.ones(3))


def test_linear_autoencoder_code_size_is_the_width_of_its_codes():
    model = LinearAutoEncoder(10, 3)
    assert model.code_size == 3
    assert model.encode(torch.rand(4, 10)).shape == (4, 3)


def test_encoder_classifier_reads_the_code_size_off_the_encoder():
    classifier = EncoderClassifier(mlp([10, 7, 5]), 3)
    assert classifier.code_size == classifier.head.in_features == 5


# --- bad input ----------------------------------------------------------------------------


def test_wrong_feature_count_is_a_clear_error():
    with pytest.raises(ValueError, match="features"):
        small_ae().loss(torch.rand(3, 65))


def test_nan_input_is_a_clear_error():
    x = torch.rand(3, 64)
    x[1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        small_ae().loss(x)


def test_an_array_and_the_same_tensor_give_the_same_codes():
    model = small_ae()
    x = np.random.default_rng(0).random((3, 64))  # float64: converted to the model's dtype
    torch.testing.assert_close(model.encode(x), model.encode(torch.tensor(x, dtype=torch.float32)),
                               rtol=0, atol=0)


def test_an_array_and_the_same_tensor_give_the_same_reconstructions_and_loss():
    model = small_ae()
    x = np.random.default_rng(1).random((4, 64)).astype(np.float32)
    t = torch.from_numpy(x)
    torch.testing.assert_close(model(x), model(t), rtol=0, atol=0)
    torch.testing.assert_close(model.decode(x[:, :8]), model.decode(t[:, :8]), rtol=0, atol=0)
    assert model.loss(x).item() == model.loss(t).item()
    assert reconstruction_error(model, x) == reconstruction_error(model, t)


def test_an_encoder_classifier_takes_arrays_like_tensors():
    model = EncoderClassifier(mlp([64, 8]), 3)
    x = np.random.default_rng(2).random((5, 64)).astype(np.float32)
    torch.testing.assert_close(model(x), model(torch.from_numpy(x)), rtol=0, atol=0)
    assert torch.equal(model.predict(x), model.predict(torch.from_numpy(x)))


@pytest.mark.parametrize("bad", ["pixels", None])
def test_a_string_or_none_is_a_type_error_naming_x(bad):
    with pytest.raises(TypeError, match="x must be an array or tensor"):
        small_ae().encode(bad)


def test_an_array_with_nan_is_a_clear_error():
    x = np.zeros((3, 64))
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        small_ae().encode(x)


def test_denoising_random_state_fixes_the_corruption():
    def corrupted(random_state):
        model = DenoisingAutoEncoder(mlp([16, 4]), mlp([4, 16]), noise="mask", p0=0.5,
                                     random_state=random_state)
        return model.corrupt(torch.ones(50, 16))

    assert torch.equal(corrupted(4), corrupted(4))
    assert not torch.equal(corrupted(4), corrupted(5))


def test_denoising_random_state_leaves_the_global_rng_alone():
    before = torch.random.get_rng_state()
    model = DenoisingAutoEncoder(mlp([16, 4], random_state=0), mlp([4, 16], random_state=1),
                                 random_state=2)
    model.loss(torch.rand(8, 16, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(torch.random.get_rng_state(), before)


def test_denoising_random_state_may_be_a_generator():
    first = DenoisingAutoEncoder(mlp([8, 2]), mlp([2, 8]),
                                 random_state=torch.Generator().manual_seed(9))
    second = DenoisingAutoEncoder(mlp([8, 2]), mlp([2, 8]), random_state=9)
    assert torch.equal(first.corrupt(torch.zeros(3, 8)), second.corrupt(torch.zeros(3, 8)))


@pytest.mark.parametrize("make, message", [
    (lambda: LinearAutoEncoder(3, 5), "code_size"),
    (lambda: LinearAutoEncoder(0, 1), "n_features"),
    (lambda: AutoEncoder(mlp([4, 2]), mlp([2, 4]), loss="l1"), "loss"),
    (lambda: AutoEncoder("encoder", mlp([2, 4])), "encoder"),
    (lambda: SparseAutoEncoder(mlp([4, 2]), mlp([2, 4]), kl=-1.0), "kl"),
    (lambda: SparseAutoEncoder(mlp([4, 2]), mlp([2, 4]), target=1.5), "target"),
    (lambda: DenoisingAutoEncoder(mlp([4, 2]), mlp([2, 4]), noise="salt"), "noise"),
    (lambda: DenoisingAutoEncoder(mlp([4, 2]), mlp([2, 4]), p0=1.0), "p0"),
    (lambda: DenoisingAutoEncoder(mlp([4, 2]), mlp([2, 4]), sigma=0.0), "sigma"),
    (lambda: DenoisingAutoEncoder(mlp([4, 2]), mlp([2, 4]), random_state=-1), "random_state"),
    (lambda: DenoisingAutoEncoder(mlp([4, 2]), mlp([2, 4]), random_state="0"), "random_state"),
    (lambda: ContractiveAutoEncoder(mlp([4, 2]), mlp([2, 4]), lam=float("nan")), "lam"),
    (lambda: RelationalAutoEncoder(mlp([4, 2]), mlp([2, 4]), threshold=float("inf")),
     "threshold"),
    (lambda: StackedAutoEncoder([10]), "sizes"),
    (lambda: SemiSupervisedAutoEncoder(mlp([4, 2]), mlp([2, 4]), n_classes=1), "n_classes"),
    (lambda: kl_sparsity(torch.tensor([0.2]), 0.0), "target"),
    (lambda: principal_angles(np.ones((3, 2)), np.ones((4, 2))), "rows"),
])
def test_invalid_hyper_parameters_are_clear_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_semi_supervised_labels_out_of_range_are_a_clear_error():
    model = SemiSupervisedAutoEncoder(mlp([4, 2]), mlp([2, 4]), n_classes=3)
    with pytest.raises(ValueError, match="labels"):
        model.loss((torch.rand(2, 4), torch.tensor([0, 3])))
    with pytest.raises(TypeError, match="pair"):
        model.loss(torch.rand(2, 4))
    with pytest.raises(TypeError, match="integer"):
        model.loss((torch.rand(2, 4), torch.tensor([0.0, 1.0])))


def test_stacked_pretraining_checks_the_feature_count():
    with pytest.raises(ValueError, match="features"):
        StackedAutoEncoder([10, 4]).pretrain(torch.rand(5, 9), epochs=1, progress=False)


# --- figures ------------------------------------------------------------------------------


def test_plot_reconstructions_draws_one_labelled_row_per_entry():
    fig = plot_reconstructions({"original": np.random.rand(5, 64), "model": np.zeros((5, 8, 8))},
                               n=4)
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert len(fig.axes) == 8 and labels == ["original", "model"]
    plt.close(fig)


def test_plot_basis_cosines_shows_the_identity_for_an_orthonormal_basis():
    fig, (ax1, ax2) = plt.subplots(1, 2)
    plot_basis_cosines(np.linalg.qr(np.random.rand(10, 4))[0], ax=ax1)
    np.testing.assert_allclose(ax1.images[0].get_array(), np.eye(4), atol=1e-12)
    plot_principal_angles({"a": [0.0, np.pi / 2]}, ax=ax2)
    np.testing.assert_allclose(ax2.lines[0].get_ydata(), [0.0, 90.0])
    plt.close(fig)
