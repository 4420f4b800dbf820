"""coursekit.train: the training loop against closed-form gradient steps, PCA, and bad input.

Models here are float64 so that closed forms and the loop agree to rounding (rtol=1e-12:
a handful of float64 operations on O(1) numbers), except the digits autoencoder, whose
reference is a bound (PCA's optimal error), not an equality.
"""

import functools
import random

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit.train import (
    accuracy,
    bernoulli,
    default_device,
    fit,
    gaussian_noise,
    predict,
    seed_everything,
    uniform_noise,
)

N_SAMPLES, N_FEATURES = 60, 4


class LinearRegression(nn.Module):
    """y ~ x.w + b with loss mean((x.w + b - y)^2); records what it sees, for the tests."""

    def __init__(self, n_features=N_FEATURES):
        super().__init__()
        self.linear = nn.Linear(n_features, 1, dtype=torch.float64)
        self.seen = []  # (training mode, batch device) at each loss call

    def loss(self, batch):
        x, y = batch
        self.seen.append((self.training, x.device))
        return ((self.linear(x).squeeze(1) - y) ** 2).mean()


class LinearAutoEncoder(nn.Module):
    """x -> decoder(encoder(x)), loss = mean over samples of ||x_hat - x||^2."""

    def __init__(self, n_features, code_size):
        super().__init__()
        self.encoder = nn.Linear(n_features, code_size)
        self.decoder = nn.Linear(code_size, n_features)

    def loss(self, x):
        return ((self.decoder(self.encoder(x)) - x) ** 2).sum(dim=1).mean()



@pytest.fixture
def regression():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(N_SAMPLES, N_FEATURES, generator=generator, dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64) + 0.1 * torch.randn(
        N_SAMPLES, generator=generator, dtype=torch.float64
    )
    return X, y


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data / 16.0  # [1797, 64] in [0, 1]
    return torch.tensor(X, dtype=torch.float32)


def weights_of(model):
    return [p.detach().clone() for p in model.parameters()]


def closed_form_gradient(model, X, y):
    """Gradient of mean((Xw + b - y)^2): (2/N) X^T r and (2/N) sum r, with r = Xw + b - y."""
    w, b = model.linear.weight.detach()[0], model.linear.bias.detach()
    residual = X @ w + b - y
    return 2 * X.T @ residual / len(y), 2 * residual.sum().reshape(1) / len(y)


def closed_form_loss(model, X, y):
    w, b = model.linear.weight.detach()[0], model.linear.bias.detach()
    return ((X @ w + b - y) ** 2).mean().item()


# --- the loop does what gradient descent says ----------------------------------------------


def test_one_full_batch_sgd_epoch_is_one_closed_form_gradient_step(regression):
    X, y = regression
    model = LinearRegression()
    w0, b0 = weights_of(model)
    grad_w, grad_b = closed_form_gradient(model, X, y)
    initial_loss = closed_form_loss(model, X, y)

    history = fit(
        model, (X, y), epochs=1, batch_size=N_SAMPLES, lr=0.1, optimizer="sgd", progress=False
    )

    torch.testing.assert_close(
        model.linear.weight.detach(), w0 - 0.1 * grad_w, rtol=1e-12, atol=1e-14
    )
    torch.testing.assert_close(
        model.linear.bias.detach(), b0 - 0.1 * grad_b, rtol=1e-12, atol=1e-14
    )
    assert history["loss"] == [pytest.approx(initial_loss, rel=1e-12)]


def test_mini_batch_sgd_takes_one_step_per_batch_in_order(regression):
    X, y = regression
    model = LinearRegression()
    expected = LinearRegression()
    expected.load_state_dict(model.state_dict())
    fit(
        model,
        (X, y),
        epochs=1,
        batch_size=25,
        lr=0.05,
        optimizer="sgd",
        shuffle=False,
        progress=False,
    )
    for rows in (slice(0, 25), slice(25, 50), slice(50, 60)):  # the last batch is short
        grad_w, grad_b = closed_form_gradient(expected, X[rows], y[rows])
        with torch.no_grad():
            expected.linear.weight -= 0.05 * grad_w
            expected.linear.bias -= 0.05 * grad_b
    torch.testing.assert_close(weights_of(model), weights_of(expected), rtol=1e-12, atol=1e-14)


def test_first_adam_step_moves_each_weight_by_lr_against_the_gradient_sign(regression):
    # Adam's bias-corrected first step is lr * g / (|g| + eps), i.e. lr * sign(g) up to eps.
    X, y = regression
    model = LinearRegression()
    w0, _ = weights_of(model)
    grad_w, _ = closed_form_gradient(model, X, y)
    fit(model, (X, y), epochs=1, batch_size=N_SAMPLES, lr=0.01, optimizer="adam", progress=False)
    torch.testing.assert_close(
        model.linear.weight.detach(), w0 - 0.01 * grad_w.sign(), rtol=0, atol=1e-9
    )


def test_optimizer_factory_is_called_with_the_parameters_and_lr(regression):
    # SGD with momentum: the first step has an empty momentum buffer, so it is a plain step.
    X, y = regression
    model = LinearRegression()
    w0, _ = weights_of(model)
    grad_w, _ = closed_form_gradient(model, X, y)
    fit(
        model,
        (X, y),
        epochs=1,
        batch_size=N_SAMPLES,
        lr=0.2,
        optimizer=functools.partial(torch.optim.SGD, momentum=0.9),
        progress=False,
    )
    torch.testing.assert_close(
        model.linear.weight.detach(), w0 - 0.2 * grad_w, rtol=1e-12, atol=1e-14
    )


def test_optimizer_instance_is_used_with_its_own_lr(regression):
    X, y = regression
    model = LinearRegression()
    w0, _ = weights_of(model)
    grad_w, _ = closed_form_gradient(model, X, y)
    fit(
        model,
        (X, y),
        epochs=1,
        batch_size=N_SAMPLES,
        lr=1e-3,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.3),
        progress=False,
    )
    torch.testing.assert_close(
        model.linear.weight.detach(), w0 - 0.3 * grad_w, rtol=1e-12, atol=1e-14
    )


def test_linear_autoencoder_on_digits_approaches_the_pca_optimum(digits):
    # Eckart-Young: no rank-8 linear reconstruction beats PCA with 8 components, so the
    # trained loss must lie above PCA's error, and training should bring it close.
    pca = PCA(n_components=8).fit(digits.numpy())
    pca_error = np.mean(
        np.sum((pca.inverse_transform(pca.transform(digits.numpy())) - digits.numpy()) ** 2, axis=1)
    )
    seed_everything(0)
    model = LinearAutoEncoder(64, 8)
    history = fit(model, digits, epochs=15, batch_size=64, lr=1e-2, progress=False)
    with torch.no_grad():
        final = model.loss(digits).item()
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert final >= pca_error * (1 - 1e-4)  # float32 rounding of the loss itself
    assert final <= 1.15 * pca_error


# --- inputs, history, reproducibility ------------------------------------------------------


def test_dataloader_batches_train_like_the_same_tensors(regression):
    X, y = regression
    from_pair, from_loader = LinearRegression(), LinearRegression()
    from_loader.load_state_dict(from_pair.state_dict())
    fit(
        from_pair,
        (X, y),
        epochs=2,
        batch_size=20,
        lr=0.1,
        optimizer="sgd",
        shuffle=False,
        progress=False,
    )
    loader = DataLoader(TensorDataset(X, y), batch_size=20, shuffle=False)
    fit(from_loader, loader, epochs=2, lr=0.1, optimizer="sgd", progress=False)
    torch.testing.assert_close(weights_of(from_loader), weights_of(from_pair), rtol=0, atol=0)


def test_tensor_data_gives_tensor_batches(digits):
    model = LinearAutoEncoder(64, 4)
    shapes = []
    loss = model.loss
    model.loss = lambda batch: shapes.append(tuple(batch.shape)) or loss(batch)
    fit(model, digits[:100], epochs=1, batch_size=32, progress=False)
    assert shapes == [(32, 64), (32, 64), (32, 64), (4, 64)]


def test_validation_history_is_the_mean_validation_loss_after_each_epoch(regression):
    X, y = regression
    model = LinearRegression()
    history = fit(
        model,
        (X[:40], y[:40]),
        epochs=3,
        batch_size=16,
        lr=0.05,
        optimizer="sgd",
        validation=(X[40:], y[40:]),
        progress=False,
    )
    assert len(history["loss"]) == len(history["val_loss"]) == 3
    # 20 validation samples in batches of 16 and 4: the mean must weight them by size.
    assert history["val_loss"][-1] == pytest.approx(
        closed_form_loss(model, X[40:], y[40:]), rel=1e-12
    )


def test_model_trains_in_train_mode_and_validates_in_eval_mode(regression):
    X, y = regression
    model = LinearRegression()
    fit(
        model,
        (X[:40], y[:40]),
        epochs=2,
        batch_size=40,
        validation=(X[40:], y[40:]),
        progress=False,
    )
    assert [training for training, _ in model.seen] == [True, False, True, False]


def test_model_comes_back_in_eval_mode(regression):
    model = LinearRegression()
    fit(model, regression, epochs=1, progress=False)
    assert not model.training


def test_epoch_loss_is_the_mean_over_samples_not_over_batches(regression):
    # With a negligible lr the weights stay put, so the epoch's loss must equal the loss on
    # all 60 samples; batches of 25, 25 and 10 would bias a plain mean over batches.
    X, y = regression
    model = LinearRegression()
    initial_loss = closed_form_loss(model, X, y)
    history = fit(model, (X, y), epochs=1, batch_size=25, lr=1e-15, optimizer="sgd", progress=False)
    assert history["loss"][0] == pytest.approx(initial_loss, rel=1e-10)


def test_same_seed_gives_identical_history_and_weights(digits):
    def run(seed):
        seed_everything(0)
        model = LinearAutoEncoder(64, 4)
        history = fit(model, digits[:300], epochs=2, batch_size=32, generator=seed, progress=False)
        return history, weights_of(model)

    history, weights = run(seed=1)
    again_history, again_weights = run(seed=1)
    other_history, _ = run(seed=2)
    assert again_history == history
    torch.testing.assert_close(again_weights, weights, rtol=0, atol=0)
    assert other_history != history  # the shuffling order does matter


def test_seed_everything_seeds_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


def test_progress_false_prints_nothing(regression, capsys):
    X, y = regression
    fit(LinearRegression(), (X, y), epochs=2, progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_bar_shows_epochs_and_loss(regression, capsys):
    X, y = regression
    fit(LinearRegression(), (X, y), epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "2/2" in err and "loss=" in err


def test_default_device_is_cuda_only_when_available():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default_device().type == expected


def test_model_and_batches_stay_on_the_cpu(regression):
    X, y = regression
    model = LinearRegression()
    fit(model, (X, y), epochs=1, device="cpu", progress=False)
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert {device.type for _, device in model.seen} == {"cpu"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_model_trains_on_the_gpu_and_returns_to_the_cpu(regression):
    X, y = regression
    model = LinearRegression()
    history = fit(
        model,
        (X, y),
        epochs=2,
        batch_size=16,
        lr=0.05,
        optimizer="sgd",
        validation=(X, y),
        progress=False,
    )
    assert {device.type for _, device in model.seen} == {"cuda"}
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert history["val_loss"][-1] == pytest.approx(closed_form_loss(model, X, y), rel=1e-10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_model_returns_to_the_gpu_it_came_from(regression):
    model = LinearRegression().to("cuda")
    fit(model, regression, epochs=1, device="cpu", progress=False)
    assert all(p.device.type == "cuda" for p in model.parameters())


# --- noise drawn by a generator --------------------------------------------------------------


@pytest.mark.parametrize("noise, reference", [(gaussian_noise, torch.randn), (uniform_noise, torch.rand)])
def test_noise_is_torchs_draw_from_the_generator_with_likes_dtype(noise, reference):
    like = torch.zeros(1, dtype=torch.float64)
    drawn = noise((3, 4), like, torch.Generator().manual_seed(5))
    expected = reference((3, 4), generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert drawn.dtype == torch.float64
    torch.testing.assert_close(drawn, expected, rtol=0, atol=0)


def test_bernoulli_is_one_exactly_where_the_uniform_draw_is_below_the_probability():
    probabilities = torch.linspace(0, 1, 50, dtype=torch.float64)
    drawn = bernoulli(probabilities, torch.Generator().manual_seed(3))
    uniform = torch.rand(50, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(drawn, (uniform < probabilities).double(), rtol=0, atol=0)
    assert drawn[0] == 0 and drawn[-1] == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("noise", [gaussian_noise, uniform_noise])
def test_a_cpu_generator_gives_a_gpu_tensor_the_cpus_draws(noise):
    on_gpu = noise((3, 4), torch.zeros(1, device="cuda"), torch.Generator().manual_seed(5))
    on_cpu = noise((3, 4), torch.zeros(1), torch.Generator().manual_seed(5))
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=0, atol=0)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"epochs": 0}, ValueError, r"epochs must be >= 1"),
        ({"epochs": 1.5}, TypeError, r"epochs must be an integer"),
        ({"epochs": 1, "batch_size": 0}, ValueError, r"batch_size must be >= 1"),
        ({"epochs": 1, "lr": 0.0}, ValueError, r"lr must be a finite number > 0"),
        ({"epochs": 1, "lr": -1e-3}, ValueError, r"lr must be a finite number > 0"),
        ({"epochs": 1, "optimizer": "rmsprop"}, ValueError, r"optimizer must be one of adam"),
        ({"epochs": 1, "optimizer": 3}, TypeError, r"optimizer must be a name"),
        ({"epochs": 1, "device": "gpu0"}, ValueError, r"device must be like 'cpu'"),
        ({"epochs": 1, "generator": -1}, ValueError, r"generator must be >= 0"),
    ],
)
def test_bad_options_are_rejected(regression, options, error, message):
    X, y = regression
    with pytest.raises(error, match=message):
        fit(LinearRegression(), (X, y), progress=False, **options)


def test_epochs_is_required(regression):
    with pytest.raises(TypeError, match=r"epochs"):
        fit(LinearRegression(), regression)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_a_gpu_is_rejected(regression):
    with pytest.raises(ValueError, match=r"CUDA is not available"):
        fit(LinearRegression(), regression, epochs=1, device="cuda", progress=False)


@pytest.mark.parametrize(
    "data, error, message",
    [
        (np.ones((5, 4)), TypeError, r"data must be a tensor, a pair \(X, y\).*torch.as_tensor"),
        ([torch.ones(5, 4), np.ones(5)], TypeError, r"data must be a tensor"),
        ((torch.ones(5, 4), torch.ones(4)), ValueError, r"same length, got \[5, 4\]"),
        ((), ValueError, r"at least one tensor"),
        ((torch.ones(5), torch.ones(5), torch.ones(4)), ValueError, r"same length, got \[5, 5, 4\]"),
        (torch.ones(0, 4), ValueError, r"data must not be empty"),
        (torch.tensor(1.0), ValueError, r"first \(sample\) dimension"),
    ],
)
def test_bad_data_is_rejected(data, error, message):
    with pytest.raises(error, match=message):
        fit(LinearRegression(), data, epochs=1, progress=False)


def test_bad_validation_data_is_named(regression):
    X, y = regression
    with pytest.raises(ValueError, match=r"validation: its tensors must have the same length"):
        fit(LinearRegression(), (X, y), epochs=1, validation=(X, y[:3]), progress=False)


def test_model_without_a_loss_method_is_rejected(regression):
    with pytest.raises(TypeError, match=r"must have a method loss\(batch\)"):
        fit(nn.Linear(4, 1), regression, epochs=1, progress=False)


def test_non_module_model_is_rejected(regression):
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module"):
        fit(object(), regression, epochs=1, progress=False)


def test_model_without_trainable_parameters_is_rejected(regression):
    model = LinearRegression().requires_grad_(False)
    with pytest.raises(ValueError, match=r"no trainable parameters"):
        fit(model, regression, epochs=1, progress=False)


def test_non_scalar_loss_is_rejected(regression):
    model = LinearRegression()
    model.loss = lambda batch: (model.linear(batch[0]).squeeze(1) - batch[1]) ** 2
    with pytest.raises(ValueError, match=r"must return a scalar tensor, got \(16,\) at epoch 1"):
        fit(model, regression, epochs=1, batch_size=16, progress=False)


def test_nan_loss_names_the_epoch_and_batch(regression):
    X, y = regression
    y = y.clone()
    y[45] = float("nan")  # in the third batch of 20 when not shuffled
    with pytest.raises(ValueError, match=r"loss became nan at epoch 1, batch 3"):
        fit(LinearRegression(), (X, y), epochs=2, batch_size=20, shuffle=False, progress=False)


def test_diverging_training_reports_when_the_loss_overflowed(regression):
    X, y = regression
    with pytest.raises(ValueError, match=r"loss became (inf|nan) at epoch \d+, batch \d+"):
        fit(
            LinearRegression(),
            (X * 1e3, y),
            epochs=50,
            batch_size=N_SAMPLES,
            lr=10.0,
            optimizer="sgd",
            progress=False,
        )


def test_optimizer_for_another_model_is_rejected(regression):
    other = torch.optim.SGD(LinearRegression().parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"does not hold any of the model's parameters"):
        fit(LinearRegression(), regression, epochs=1, optimizer=other, progress=False)


def test_seed_everything_rejects_bad_seeds():
    with pytest.raises(ValueError, match=r"seed must be >= 0"):
        seed_everything(-1)
    with pytest.raises(TypeError, match=r"seed must be an integer"):
        seed_everything(1.0)
    with pytest.raises(ValueError, match=r"seed must be < 2\*\*32"):
        seed_everything(2**32)


# --- predict and accuracy: a model's outputs in batches ----------------------------------


def test_predict_equals_one_pass_in_eval_mode_and_restores_the_mode():
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU()).train()
    x = torch.randn(50, 6)
    outputs = predict(model, x, batch_size=7)
    assert model.training and not outputs.requires_grad
    with torch.no_grad():
        expected = model.eval()(x)
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-6)  # batching reorders sums


def test_predict_of_a_parameter_free_model_flattens_its_outputs():
    images = torch.rand(3, 28, 28)
    torch.testing.assert_close(predict(nn.Identity(), images), images.reshape(3, -1))


def test_predict_rejects_a_batch_size_below_one():
    with pytest.raises(ValueError, match="batch_size"):
        predict(nn.Identity(), torch.zeros(3, 2), batch_size=0)


def test_accuracy_counts_argmax_hits():
    x = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert accuracy(nn.Identity(), x, torch.tensor([0, 1, 1, 1])) == pytest.approx(0.75)


def test_accuracy_rejects_labels_of_another_length():
    with pytest.raises(ValueError, match="y must hold 4 class indices"):
        accuracy(nn.Identity(), torch.zeros(4, 2), torch.tensor([0, 1, 1]))


class RowRecorder(nn.Module):
    """Records every batch it is trained on; its loss is a constant times a parameter."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))
        self.batches = []

    def loss(self, batch):
        self.batches.append(batch)
        return self.weight * 0.0


def test_fit_slices_a_tuple_of_three_tensors_keeping_rows_together():
    X = torch.arange(10.0)[:, None]
    model = RowRecorder()
    fit(model, (X, 2 * X, X[:, 0].long()), epochs=1, batch_size=4, generator=3, progress=False)
    assert [len(batch[0]) for batch in model.batches] == [4, 4, 2]
    for xb, tb, yb in model.batches:
        torch.testing.assert_close(tb, 2 * xb)
        assert yb.tolist() == xb[:, 0].long().tolist()
    order = torch.cat([batch[0] for batch in model.batches])[:, 0].tolist()
    assert sorted(order) == list(range(10)) and order != list(range(10))
