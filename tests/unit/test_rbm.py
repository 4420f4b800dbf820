"""coursekit.rbm against brute-force enumeration of tiny machines, and against bad input.

References: the energy E(v, h) = -a.v - b.h - v.W.h written out in NumPy in this file, and sums
over every state (v, h) of machines with a few units (itertools.product), which give Z, p(v),
p(h | v) and the model statistics M[v h]_model exactly.

Tolerances. Exact quantities are float64 sums of at most 2**10 terms of order 1, so they agree
to ~1e-13; rtol=1e-9 leaves room while catching any wrong formula. Sampled quantities get
tolerances from their standard errors (see each test).
"""

import functools
import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from scipy.special import expit, logsumexp
from sklearn.datasets import load_digits

from coursekit import plots
from coursekit.rbm import MAX_ENUMERATED_UNITS, RBM
from coursekit.train import fit

RTOL = 1e-9



def tiny_rbm(n_visible=4, n_hidden=3, seed=0, scale=1.0, **kwargs):
    """A float64 machine with O(1) random parameters (so that p(v) is far from uniform)."""
    kwargs.setdefault("random_state", seed)
    rbm = RBM(n_visible, n_hidden, dtype=torch.float64, **kwargs)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        rbm.W.copy_(torch.as_tensor(rng.normal(scale=scale, size=(n_visible, n_hidden))))
        rbm.a.copy_(torch.as_tensor(rng.normal(scale=scale, size=n_visible)))
        rbm.b.copy_(torch.as_tensor(rng.normal(scale=scale, size=n_hidden)))
    return rbm


def params(rbm):
    return (rbm.W.detach().numpy(), rbm.a.detach().numpy(), rbm.b.detach().numpy())


def states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def energy(v, h, W, a, b):
    """E(v, h) = -sum_i a_i v_i - sum_j b_j h_j - sum_ij w_ij v_i h_j, for one pair."""
    return -a @ v - b @ h - v @ W @ h


def joint(rbm):
    """p(v, h) for every pair of states: [2**n_visible, 2**n_hidden], plus the states."""
    W, a, b = params(rbm)
    V, H = states(len(a)), states(len(b))
    minus_energy = np.array([[-energy(v, h, W, a, b) for h in H] for v in V])
    return np.exp(minus_energy - logsumexp(minus_energy)), V, H


# --- the model: energy, free energy, conditionals -------------------------------------------


def test_energy_matches_the_formula():
    rbm = tiny_rbm()
    W, a, b = params(rbm)
    V, H = states(4)[::3], states(3)[[0, 3, 5, 7, 1, 6]]
    expected = [energy(v, h, W, a, b) for v, h in zip(V, H)]
    np.testing.assert_allclose(rbm.energy(V, H).detach().numpy(), expected, rtol=RTOL)


def test_free_energy_is_minus_log_sum_over_hidden_states():
    rbm = tiny_rbm()
    W, a, b = params(rbm)
    V, H = states(4), states(3)
    expected = [-logsumexp([-energy(v, h, W, a, b) for h in H]) for v in V]
    np.testing.assert_allclose(rbm.free_energy(V).detach().numpy(), expected, rtol=RTOL)


def test_hidden_probabilities_are_sigmoids_of_the_input():
    rbm = tiny_rbm()
    W, _, b = params(rbm)
    V = states(4)
    probabilities, sample = rbm.sample_h(V)
    np.testing.assert_allclose(probabilities.detach().numpy(), expit(b + V @ W), rtol=RTOL)
    assert set(np.unique(sample.numpy())) <= {0.0, 1.0}


def test_visible_probabilities_are_sigmoids_of_the_input():
    rbm = tiny_rbm()
    W, a, _ = params(rbm)
    H = states(3)
    probabilities, sample = rbm.sample_v(H)
    np.testing.assert_allclose(probabilities.detach().numpy(), expit(a + H @ W.T), rtol=RTOL)
    assert set(np.unique(sample.numpy())) <= {0.0, 1.0}


def test_conditional_of_the_joint_factorises_into_the_sigmoids():
    # p(h | v) = p(v, h) / p(v) from the joint equals prod_k P(h_k | v) from sample_h
    rbm = tiny_rbm()
    p, V, H = joint(rbm)
    conditional = p / p.sum(axis=1, keepdims=True)
    p_on = rbm.hidden_probabilities(V).detach().numpy()  # [2**4, 3]
    factorised = np.prod(np.where(H[None] == 1, p_on[:, None], 1 - p_on[:, None]), axis=2)
    np.testing.assert_allclose(factorised, conditional, rtol=RTOL)


def test_log_partition_matches_brute_force_both_ways():
    # n_visible <= n_hidden enumerates visible states, otherwise hidden states
    for n_visible, n_hidden in [(3, 5), (5, 3)]:
        rbm = tiny_rbm(n_visible, n_hidden)
        W, a, b = params(rbm)
        brute = logsumexp([-energy(v, h, W, a, b)
                           for v in states(n_visible) for h in states(n_hidden)])
        np.testing.assert_allclose(rbm.log_partition().item(), brute, rtol=RTOL)


def test_log_likelihood_is_log_of_the_marginal():
    rbm = tiny_rbm()
    p, V, _ = joint(rbm)
    np.testing.assert_allclose(rbm.log_likelihood(V).detach().numpy(), np.log(p.sum(axis=1)),
                               rtol=RTOL)


def test_log_partition_refuses_machines_too_large_to_enumerate():
    rbm = RBM(MAX_ENUMERATED_UNITS + 1, MAX_ENUMERATED_UNITS + 2)
    with pytest.raises(ValueError, match="MAX_ENUMERATED_UNITS"):
        rbm.log_partition()


# --- learning: the gradient and contrastive divergence --------------------------------------


def data_and_statistics(rbm, data):
    """M[v h]_data - M[v h]_model (and the bias analogues), by enumeration."""
    p, V, H = joint(rbm)
    W, _, b = params(rbm)
    p_h_data = expit(b + data @ W)  # E[h | v] for each data row, exact
    model_vh = np.einsum("vh,vi,hj->ij", p, V, H)
    return (data.T @ p_h_data / len(data) - model_vh,
            data.mean(axis=0) - p.sum(axis=1) @ V,
            p_h_data.mean(axis=0) - p.sum(axis=0) @ H)


@pytest.fixture
def tiny_data():
    return states(4)[[1, 3, 6, 12, 15, 9]]


def enumerated_log_likelihood(W, a, b, data):
    """Mean log p(v) over ``data``, by summing exp(-E) over every (v, h): no coursekit code."""
    V, H = states(len(a)), states(len(b))
    minus_energy = np.array([[-energy(v, h, W, a, b) for h in H] for v in V])
    log_z = logsumexp(minus_energy)
    rows = [int("".join(str(int(x)) for x in v), 2) for v in data]  # v's index in states()
    return np.mean(logsumexp(minus_energy[rows], axis=1)) - log_z


def test_hand_derived_statistics_equal_finite_differences_of_the_log_likelihood(tiny_data):
    # d mean log p(v) / d theta = data term - model term (the formula CD estimates), against
    # central differences of the enumerated log-likelihood, step 1e-5: error O(1e-10).
    rbm = tiny_rbm()
    parameters = [p.copy() for p in params(rbm)]
    for index, expected in enumerate(data_and_statistics(rbm, tiny_data)):
        numeric = np.zeros_like(expected)
        for position in np.ndindex(expected.shape):
            shifted = {}
            for sign in (1, -1):
                moved = [p.copy() for p in parameters]
                moved[index][position] += sign * 1e-5
                shifted[sign] = enumerated_log_likelihood(*moved, tiny_data)
            numeric[position] = (shifted[1] - shifted[-1]) / 2e-5
        np.testing.assert_allclose(numeric, expected, atol=1e-8)


def test_log_likelihood_gradient_is_data_minus_model_statistics(tiny_data):
    rbm = tiny_rbm()
    rbm.log_likelihood(tiny_data).mean().backward()
    for grad, expected in zip((rbm.W.grad, rbm.a.grad, rbm.b.grad),
                              data_and_statistics(rbm, tiny_data)):
        np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-8, atol=1e-12)


def test_cd_with_many_steps_approaches_the_exact_gradient(tiny_data):
    # M = 6 * 4000 chains, k = 30 steps. Each chain's v_i h_j is in [0, 1], so the sampled
    # model term has a standard error <= 0.5 / sqrt(M) = 0.0032; 0.02 is over 6 of them.
    # The Gibbs chain of a 4 x 3 machine mixes in a few steps, so the bias left after 30
    # steps is below that (measured: max error 0.003 with these seeds).
    rbm = tiny_rbm(scale=2.0, k=30)
    estimates = rbm.contrastive_divergence(np.repeat(tiny_data, 4000, axis=0))
    for estimate, expected in zip(estimates, data_and_statistics(rbm, tiny_data)):
        np.testing.assert_allclose(estimate.numpy(), expected, atol=0.02)


def test_cd1_is_biased_away_from_the_exact_gradient(tiny_data):
    # the same machine, k = 1: one step from the data has not mixed, and the error is larger
    # than 6 standard errors of the sampling (0.02, as above; measured: 0.04)
    rbm = tiny_rbm(scale=2.0, k=1)
    dW, _, _ = rbm.contrastive_divergence(np.repeat(tiny_data, 4000, axis=0))
    assert np.abs(dW.numpy() - data_and_statistics(rbm, tiny_data)[0]).max() > 0.02


def test_loss_gradient_is_minus_the_cd_estimate(tiny_data):
    generator = torch.Generator()
    rbm = tiny_rbm(k=3, random_state=generator)
    generator.manual_seed(0)
    rbm.loss(tiny_data).backward()
    generator.manual_seed(0)  # the same Gibbs chains again
    for grad, estimate in zip((rbm.W.grad, rbm.a.grad, rbm.b.grad),
                              rbm.contrastive_divergence(tiny_data)):
        np.testing.assert_allclose(-grad.numpy(), estimate.numpy(), rtol=1e-9, atol=1e-12)


def test_persistent_chains_continue_between_calls(tiny_data):
    generator = torch.Generator().manual_seed(0)
    rbm = tiny_rbm(persistent=True, k=2, random_state=generator)
    assert rbm.chains is None
    rbm.contrastive_divergence(tiny_data)
    first = rbm.chains.clone()
    generator.manual_seed(1)
    rbm.contrastive_divergence(tiny_data[:2])  # the chains keep their number, not the batch's
    generator.manual_seed(1)
    np.testing.assert_array_equal(rbm.chains.numpy(), rbm.gibbs(first, 2).numpy())


def test_visible_bias_starts_at_the_log_odds_of_the_pixels():
    data = np.array([[1, 0, 0, 1], [1, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    rbm = RBM(4, 3).init_visible_bias(data, clip=0.01)
    p = np.clip(data.mean(axis=0), 0.01, 0.99)  # column 3 is never on: clipped to 0.01
    np.testing.assert_allclose(rbm.a.detach().numpy(), np.log(p / (1 - p)), rtol=1e-6)
    np.testing.assert_allclose(expit(rbm.a.detach().numpy()), p, rtol=1e-6)


# --- sampling -------------------------------------------------------------------------------


def test_gibbs_samples_follow_the_exact_distribution():
    # 20000 chains, 50 steps each, from uniform noise; 16 visible states. Total variation
    # between the histogram and p(v): its expectation is ~ sum_v sqrt(p(1-p)/(2 pi M)) ~ 0.01
    # for M = 20000, so 0.03 is a wide margin that still catches a wrong conditional (TV > 0.1).
    rbm = tiny_rbm(seed=3)
    p, _, _ = joint(rbm)
    start = torch.bernoulli(torch.full((20000, 4), 0.5, dtype=torch.float64),
                            generator=torch.Generator().manual_seed(0))
    samples = rbm.gibbs(start, 50, generator=1).numpy()
    index = samples @ (2 ** np.arange(3, -1, -1))  # states(4) lists v as binary numbers
    frequencies = np.bincount(index.astype(int), minlength=16) / len(samples)
    assert 0.5 * np.abs(frequencies - p.sum(axis=1)).sum() < 0.03


def test_gibbs_keeps_the_chain_when_asked():
    rbm = tiny_rbm()
    start = states(4)
    chain = rbm.gibbs(start, 6, keep_every=2, generator=0)
    assert chain.shape == (4, 16, 4)
    np.testing.assert_array_equal(chain[0].numpy(), start)
    np.testing.assert_array_equal(chain[-1].numpy(), rbm.gibbs(start, 6, generator=0).numpy())
    means = rbm.gibbs(start, 6, generator=0, probabilities=True).numpy()
    assert ((means > 0) & (means < 1)).all()


def test_same_seed_gives_the_same_machine_and_samples():
    first, second = RBM(6, 4, random_state=7), RBM(6, 4, random_state=7)
    np.testing.assert_array_equal(first.W.detach().numpy(), second.W.detach().numpy())
    v = np.ones((3, 6))
    np.testing.assert_array_equal(first.gibbs(v, 5).numpy(), second.gibbs(v, 5).numpy())
    assert not torch.equal(RBM(6, 4, random_state=8).W, first.W)


def test_a_generator_argument_makes_sampling_repeatable():
    rbm = RBM(6, 4)
    v = np.ones((10, 6))
    draws = [rbm.sample_h(v, generator=torch.Generator().manual_seed(3))[1] for _ in range(2)]
    assert torch.equal(*draws)
    assert torch.equal(rbm.gibbs(v, 4, generator=5), rbm.gibbs(v, 4, generator=5))


# --- training -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def binary_digits():
    X = load_digits().data / 16.0
    return torch.as_tensor(X > 0.5, dtype=torch.float32)


def train(rbm, data, epochs=5):
    """CD learning by SGD with momentum 0.9 (Hinton's practical guide), seeded."""
    fit(rbm, data, epochs=epochs, batch_size=32, lr=0.05, progress=False, generator=0,
        optimizer=functools.partial(torch.optim.SGD, momentum=0.9), device="cpu")


def test_training_lowers_the_reconstruction_error_on_digits(binary_digits):
    # Reference: the best reconstruction that ignores the image, the mean image, whose error
    # is sum_i Var(v_i) (8.2 here). A trained machine must do clearly better (measured: 4.0).
    rbm = RBM(64, 32, random_state=0)
    before = rbm.reconstruction_error(binary_digits)
    train(rbm, binary_digits)
    after = rbm.reconstruction_error(binary_digits)
    mean_image_error = binary_digits.var(dim=0, unbiased=False).sum().item()
    assert after < min(before, 0.6 * mean_image_error), (before, after, mean_image_error)


def test_training_raises_the_exact_log_likelihood_on_digits(binary_digits):
    rbm = RBM(64, 8, random_state=0)  # 2**8 hidden states: exact log Z
    before = rbm.log_likelihood(binary_digits).mean().item()
    train(rbm, binary_digits)
    assert rbm.log_likelihood(binary_digits).mean().item() > before + 5  # nats per image


def test_training_is_deterministic_under_seeds(binary_digits):
    weights = []
    for _ in range(2):
        rbm = RBM(64, 16, random_state=1)
        train(rbm, binary_digits[:300], epochs=2)
        weights.append(rbm.W.detach().clone())
    assert torch.equal(*weights)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, message", [
    (np.ones(4), "2-D"),
    (np.ones((3, 5)), r"\[n_samples, 4\]"),
    (np.ones((2, 2, 2)), "flatten"),
    (np.empty((0, 4)), "empty"),
    (np.full((2, 4), np.nan), "NaN"),
    (np.full((2, 4), 2.0), r"\[0, 1\]"),
    (-np.ones((2, 4)), r"\[0, 1\]"),
])
def test_bad_visible_input_is_rejected_with_a_clear_message(bad, message):
    rbm = tiny_rbm()
    for method in (rbm.free_energy, rbm.sample_h, rbm.contrastive_divergence, rbm.loss,
                   rbm.reconstruction_error, lambda v: rbm.gibbs(v, 1)):
        with pytest.raises(ValueError, match=message):
            method(bad)


def test_bad_hidden_input_is_rejected():
    with pytest.raises(ValueError, match=r"h must be 2-D \[n_samples, 3\]"):
        tiny_rbm().sample_v(np.ones((2, 4)))


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="v must be"):
        tiny_rbm().free_energy("0101")


@pytest.mark.parametrize("kwargs, error", [
    ({"n_visible": 0}, ValueError), ({"n_hidden": 2.5}, TypeError), ({"k": 0}, ValueError),
    ({"persistent": "yes"}, TypeError), ({"init_std": -1.0}, ValueError),
    ({"random_state": -3}, ValueError),
])
def test_bad_hyper_parameters_are_rejected(kwargs, error):
    arguments = {"n_visible": 4, "n_hidden": 3} | kwargs
    with pytest.raises(error, match=next(iter(kwargs))):
        RBM(**arguments)


def test_bad_gibbs_steps_are_rejected():
    with pytest.raises(ValueError, match="steps"):
        tiny_rbm().gibbs(np.ones((1, 4)), -1)


# --- figures (coursekit.plots.rbm) ----------------------------------------------------------


def test_filters_are_the_weight_columns_scaled_to_unit_maximum(close_figures):
    rbm = tiny_rbm(4, 3)
    fig = plots.plot_rbm_filters(rbm, (2, 2), n=3, order="index")
    W = rbm.W.detach().numpy()
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(shown) == 3
    for j, image in enumerate(shown):
        np.testing.assert_allclose(image.ravel(), W[:, j] / np.abs(W[:, j]).max(), rtol=1e-12)
        assert image.max() <= 1 and image.min() >= -1


def test_filters_by_norm_come_largest_first(close_figures):
    rbm = tiny_rbm(4, 3)
    fig = plots.plot_rbm_filters(rbm, (2, 2), n=1)
    W = rbm.W.detach().numpy()
    largest = np.argmax(np.linalg.norm(W, axis=0))
    first = next(ax.images[0].get_array() for ax in fig.axes if ax.images)
    np.testing.assert_allclose(first.ravel(), W[:, largest] / np.abs(W[:, largest]).max())


def test_filters_reject_a_wrong_image_shape(close_figures):
    with pytest.raises(ValueError, match="image_shape"):
        plots.plot_rbm_filters(tiny_rbm(4, 3), (3, 3))


def test_gibbs_chain_figure_has_a_row_per_chain_and_a_column_per_step(close_figures):
    chain = tiny_rbm().gibbs(states(4)[:3], 4, keep_every=2)  # [3 steps, 3 chains, 4]
    fig = plots.plot_gibbs_chains(chain, [0, 2, 4], (2, 2))
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 9
    assert [ax.get_title() for ax in panels[:3]] == ["step 0", "step 2", "step 4"]
    np.testing.assert_array_equal(panels[3].images[0].get_array().ravel(), chain[0, 1].numpy())
    with pytest.raises(ValueError, match="len"):
        plots.plot_gibbs_chains(chain, [0, 2], (2, 2))


@pytest.mark.parametrize("n_hidden, restricted, links", [
    (0, True, 10),  # Hopfield: all 5 * 4 / 2 pairs of visible units
    (3, False, 21),  # Boltzmann machine: all 7 * 6 / 2 pairs of units
    (3, True, 12),  # RBM: only the 4 * 3 visible-hidden pairs
])
def test_unit_graph_draws_one_line_per_link(n_hidden, restricted, links, close_figures):
    n_visible = 5 if n_hidden == 0 else 4
    ax = plots.plot_unit_graph(n_visible, n_hidden, restricted=restricted)
    assert len(ax.lines) == links
