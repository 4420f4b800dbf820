"""coursekit.blocks.recurrent against torch's own cells, hand-written formulas and bad input.

Comparisons with torch run in float64 with tolerance 1e-10: a step is a few dozen float64
operations on O(1) numbers, so agreement far below that means the same computation (the
gate order, the bias placement and the update formula all have to match).
"""

import math

import pytest
import torch
from torch import nn

from coursekit.blocks import GRUCell, LSTMCell, RNNCell
from coursekit.blocks.recurrent import (
    SequenceClassifier,
    initial_state_gradient_norms,
    run_cell,
)
from coursekit.train import fit, seed_everything

TOL = {"rtol": 1e-10, "atol": 1e-10}
INPUT, HIDDEN, BATCH = 5, 7, 4

PAIRS = {
    "rnn-tanh": (lambda: RNNCell(INPUT, HIDDEN), lambda: nn.RNNCell(INPUT, HIDDEN)),
    "rnn-relu": (lambda: RNNCell(INPUT, HIDDEN, nonlinearity="relu"),
                 lambda: nn.RNNCell(INPUT, HIDDEN, nonlinearity="relu")),
    "lstm": (lambda: LSTMCell(INPUT, HIDDEN), lambda: nn.LSTMCell(INPUT, HIDDEN)),
    "gru": (lambda: GRUCell(INPUT, HIDDEN), lambda: nn.GRUCell(INPUT, HIDDEN)),
}


def loaded_pair(name, seed=0):
    """Our cell with the weights of a freshly initialised torch cell, both in float64."""
    make_ours, make_torch = PAIRS[name]
    torch.manual_seed(seed)
    reference = make_torch().double()
    ours = make_ours().double()
    ours.load_state_dict(reference.state_dict())
    return ours, reference


def random_state(name, generator, batch=BATCH):
    h = torch.randn(batch, HIDDEN, dtype=torch.float64, generator=generator)
    if name == "lstm":
        return h, torch.randn(batch, HIDDEN, dtype=torch.float64, generator=generator)
    return h


def as_tuple(output):
    return output if isinstance(output, tuple) else (output,)


# --- the same parameters as torch -----------------------------------------------------------


@pytest.mark.parametrize("name", PAIRS)
def test_parameter_names_and_shapes_are_torchs(name):
    make_ours, make_torch = PAIRS[name]
    ours = {key: value.shape for key, value in make_ours().state_dict().items()}
    theirs = {key: value.shape for key, value in make_torch().state_dict().items()}
    assert ours == theirs


@pytest.mark.parametrize("name", PAIRS)
def test_initialisation_is_uniform_within_one_over_sqrt_hidden(name):
    torch.manual_seed(0)
    cell = PAIRS[name][0]()
    bound = 1 / math.sqrt(HIDDEN)
    for parameter in cell.parameters():
        assert parameter.abs().max() <= bound
        assert parameter.std() > bound / 3  # U(-b, b) has sd b/sqrt(3); zeros would fail


# --- the same outputs and gradients as torch -----------------------------------------------


@pytest.mark.parametrize("name", PAIRS)
def test_one_step_equals_torch_with_a_given_state(name):
    ours, reference = loaded_pair(name)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, INPUT, dtype=torch.float64, generator=g)
    state = random_state(name, g)
    for mine, theirs in zip(as_tuple(ours(x, state)), as_tuple(reference(x, state))):
        torch.testing.assert_close(mine, theirs, **TOL)


@pytest.mark.parametrize("name", PAIRS)
def test_missing_state_means_zeros_as_in_torch(name):
    ours, reference = loaded_pair(name)
    x = torch.randn(BATCH, INPUT, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    for mine, theirs in zip(as_tuple(ours(x)), as_tuple(reference(x))):
        torch.testing.assert_close(mine, theirs, **TOL)


@pytest.mark.parametrize("name", PAIRS)
def test_an_unbatched_sample_gives_torchs_unbatched_output(name):
    ours, reference = loaded_pair(name)
    x = torch.randn(INPUT, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for mine, theirs in zip(as_tuple(ours(x)), as_tuple(reference(x))):
        assert mine.shape == theirs.shape == (HIDDEN,)
        torch.testing.assert_close(mine, theirs, **TOL)


@pytest.mark.parametrize("name", PAIRS)
def test_gradients_through_a_sequence_equal_torchs(name):
    ours, reference = loaded_pair(name)
    x = torch.randn(BATCH, 6, INPUT, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    losses = []
    for cell in (ours, reference):
        state = None
        for t in range(x.shape[1]):  # a plain loop, independent of run_cell
            state = cell(x[:, t], state)
        losses.append((as_tuple(state)[0] ** 2).sum())
        losses[-1].backward()
    torch.testing.assert_close(losses[0], losses[1], **TOL)
    theirs = dict(reference.named_parameters())
    for key, parameter in ours.named_parameters():
        torch.testing.assert_close(parameter.grad, theirs[key].grad, **TOL)


def test_run_cell_equals_torchs_multi_layer_lstm_with_one_layer():
    ours, _ = loaded_pair("lstm")
    lstm = nn.LSTM(INPUT, HIDDEN, batch_first=True).double()
    with torch.no_grad():
        for key, parameter in ours.named_parameters():
            getattr(lstm, f"{key}_l0").copy_(parameter)
    x = torch.randn(BATCH, 9, INPUT, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    outputs, (h, c) = run_cell(ours, x)
    expected, (h_ref, c_ref) = lstm(x)
    torch.testing.assert_close(outputs, expected, **TOL)
    torch.testing.assert_close(h, h_ref[0], **TOL)
    torch.testing.assert_close(c, c_ref[0], **TOL)


# --- the peephole LSTM ---------------------------------------------------------------------


def test_peephole_lstm_with_zero_peepholes_equals_torch():
    _, reference = loaded_pair("lstm")
    cell = LSTMCell(INPUT, HIDDEN, peephole=True).double()
    missing, unexpected = cell.load_state_dict(reference.state_dict(), strict=False)
    assert sorted(missing) == ["weight_cf", "weight_ci", "weight_co"] and not unexpected
    with torch.no_grad():
        for name in missing:
            getattr(cell, name).zero_()
    g = torch.Generator().manual_seed(6)
    x, state = torch.randn(BATCH, INPUT, dtype=torch.float64, generator=g), random_state("lstm", g)
    for mine, theirs in zip(cell(x, state), reference(x, state)):
        torch.testing.assert_close(mine, theirs, **TOL)


def test_peephole_lstm_step_equals_the_hand_written_formula():
    torch.manual_seed(7)
    cell = LSTMCell(INPUT, HIDDEN, peephole=True).double()
    g = torch.Generator().manual_seed(8)
    x = torch.randn(BATCH, INPUT, dtype=torch.float64, generator=g)
    h, c = random_state("lstm", g)
    # Gers & Schmidhuber (2000), one unit at a time: gate j of each kind sees only cell j.
    w_ih, w_hh, b = cell.weight_ih, cell.weight_hh, cell.bias_ih + cell.bias_hh
    expected_h, expected_c = torch.empty_like(h), torch.empty_like(c)
    sigmoid = torch.sigmoid
    for n in range(BATCH):
        for j in range(HIDDEN):
            # gates 0..3 = i, f, g, o: unit j of gate k is row k*H + j of the stacked weights
            pre = [w_ih[k * HIDDEN + j] @ x[n] + w_hh[k * HIDDEN + j] @ h[n] + b[k * HIDDEN + j]
                   for k in range(4)]
            i = sigmoid(pre[0] + cell.weight_ci[j] * c[n, j])
            f = sigmoid(pre[1] + cell.weight_cf[j] * c[n, j])
            new_c = f * c[n, j] + i * torch.tanh(pre[2])
            o = sigmoid(pre[3] + cell.weight_co[j] * new_c)
            expected_c[n, j], expected_h[n, j] = new_c, o * torch.tanh(new_c)
    new_h, new_c = cell(x, (h, c))
    torch.testing.assert_close(new_c, expected_c, **TOL)
    torch.testing.assert_close(new_h, expected_h, **TOL)


def test_peepholes_change_the_output():
    torch.manual_seed(9)
    cell = LSTMCell(INPUT, HIDDEN, peephole=True).double()
    plain = LSTMCell(INPUT, HIDDEN).double()
    plain.load_state_dict(cell.state_dict(), strict=False)
    g = torch.Generator().manual_seed(10)
    x, state = torch.randn(BATCH, INPUT, dtype=torch.float64, generator=g), random_state("lstm", g)
    assert (cell(x, state)[0] - plain(x, state)[0]).abs().max() > 1e-3


# --- unrolling and BPTT --------------------------------------------------------------------


def test_run_cell_returns_every_hidden_state_and_the_last_state():
    torch.manual_seed(11)
    cell = GRUCell(INPUT, HIDDEN).double()
    x = torch.randn(BATCH, 6, INPUT, dtype=torch.float64)
    outputs, last = run_cell(cell, x)
    assert outputs.shape == (BATCH, 6, HIDDEN)
    h = torch.zeros(BATCH, HIDDEN, dtype=torch.float64)
    for t in range(6):
        h = cell(x[:, t], h)
        torch.testing.assert_close(outputs[:, t], h, **TOL)
    torch.testing.assert_close(last, h, **TOL)


def test_gradient_norms_equal_the_norm_of_the_jacobian_product():
    # For the RNN, dh_t/dh_{t-1} = diag(1 - h_t^2) W: the gradient of <u, h_t> w.r.t. h_0 is
    # u^T J_t ... J_1, multiplied out by hand here.
    torch.manual_seed(12)
    cell = RNNCell(INPUT, HIDDEN).double()
    x = torch.randn(BATCH, 8, INPUT, dtype=torch.float64)
    u = torch.randn(HIDDEN, dtype=torch.float64)
    norms = initial_state_gradient_norms(cell, x, direction=u)
    outputs, _ = run_cell(cell, x)
    u = u / u.norm()
    for n in range(BATCH):
        row = u.clone()
        for t in range(8, 0, -1):
            row = (row * (1 - outputs[n, t - 1] ** 2)) @ cell.weight_hh
            if t == 1:
                assert norms[n, 7] == pytest.approx(row.norm().item(), rel=1e-10)
        product = u.clone()
        for t in range(3, 0, -1):
            product = (product * (1 - outputs[n, t - 1] ** 2)) @ cell.weight_hh
        assert norms[n, 2] == pytest.approx(product.norm().item(), rel=1e-10)


def test_gradient_norms_agree_with_finite_differences_for_an_lstm():
    torch.manual_seed(13)
    cell = LSTMCell(INPUT, HIDDEN).double()
    x = torch.randn(1, 5, INPUT, dtype=torch.float64)
    norm = initial_state_gradient_norms(cell, x)[0, -1]
    u = torch.full((HIDDEN,), 1 / math.sqrt(HIDDEN), dtype=torch.float64)

    def readout(h0):
        _, (h, _) = run_cell(cell, x, (h0, torch.zeros_like(h0)))
        return (h[0] @ u).item()

    eps, gradient = 1e-6, torch.empty(HIDDEN, dtype=torch.float64)
    for j in range(HIDDEN):
        step = torch.zeros(1, HIDDEN, dtype=torch.float64)
        step[0, j] = eps
        gradient[j] = (readout(step) - readout(-step)) / (2 * eps)
    assert norm.item() == pytest.approx(gradient.norm().item(), rel=1e-6)


def test_tanh_rnn_gradients_vanish_with_small_recurrent_weights():
    torch.manual_seed(14)
    cell = RNNCell(INPUT, 32).double()  # default init: spectral radius of W well below 1
    x = torch.randn(8, 40, INPUT, dtype=torch.float64)
    norms = initial_state_gradient_norms(cell, x).mean(dim=0)
    assert norms[-1] < 1e-6 * norms[0]


# --- the sequence classifier ---------------------------------------------------------------


def test_sequence_classifier_reads_the_last_hidden_state():
    torch.manual_seed(15)
    model = SequenceClassifier(LSTMCell(INPUT, HIDDEN), n_classes=3).double()
    x = torch.randn(BATCH, 6, INPUT, dtype=torch.float64)
    _, (h, _) = run_cell(model.cell, x)
    torch.testing.assert_close(model(x), model.head(h), **TOL)
    y = torch.tensor([0, 1, 2, 1])
    torch.testing.assert_close(model.loss((x, y)),
                               nn.functional.cross_entropy(model.head(h), y), **TOL)


def test_sequence_classifier_learns_which_input_came_first():
    # A task that needs memory: the class is the sign of the first step's input; the other
    # steps are noise. Chance is 50%; a learnt memory gets nearly every sequence right.
    g = torch.Generator().manual_seed(16)
    x = torch.randn(512, 6, 1, generator=g)
    y = (x[:, 0, 0] > 0).long()
    seed_everything(16)
    model = SequenceClassifier(GRUCell(1, 8), n_classes=2)
    fit(model, (x, y), epochs=15, batch_size=64, lr=1e-2, progress=False)
    assert (model.predict(x) == y).float().mean() > 0.9


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [RNNCell, LSTMCell, GRUCell])
def test_wrong_input_width_names_input_size(make):
    with pytest.raises(ValueError, match="input_size"):
        make(INPUT, HIDDEN)(torch.randn(BATCH, INPUT + 1))


@pytest.mark.parametrize("make", [RNNCell, LSTMCell, GRUCell])
def test_a_sequence_given_to_a_cell_is_refused_naming_x(make):
    with pytest.raises(ValueError, match="x must be"):
        make(INPUT, HIDDEN)(torch.randn(BATCH, 3, INPUT))


@pytest.mark.parametrize("make", [RNNCell, GRUCell])
def test_state_of_the_wrong_shape_names_state(make):
    with pytest.raises(ValueError, match="state"):
        make(INPUT, HIDDEN)(torch.randn(BATCH, INPUT), torch.zeros(BATCH, HIDDEN + 1))
    with pytest.raises(ValueError, match="state"):
        make(INPUT, HIDDEN)(torch.randn(BATCH, INPUT), torch.zeros(BATCH + 1, HIDDEN))


def test_lstm_state_must_be_a_pair_of_the_right_shapes():
    cell, x = LSTMCell(INPUT, HIDDEN), torch.randn(BATCH, INPUT)
    with pytest.raises(ValueError, match="pair"):
        cell(x, torch.zeros(BATCH, HIDDEN))
    with pytest.raises(ValueError, match=r"state\[1\] \(c\)"):
        cell(x, (torch.zeros(BATCH, HIDDEN), torch.zeros(BATCH, HIDDEN + 1)))


@pytest.mark.parametrize("kwargs, name", [
    ({"input_size": 0, "hidden_size": 3}, "input_size"),
    ({"input_size": 3, "hidden_size": 0}, "hidden_size"),
])
def test_sizes_must_be_positive(kwargs, name):
    for make in (RNNCell, LSTMCell, GRUCell):
        with pytest.raises(ValueError, match=name):
            make(**kwargs)


def test_unknown_nonlinearity_is_named():
    with pytest.raises(ValueError, match="nonlinearity"):
        RNNCell(INPUT, HIDDEN, nonlinearity="sigmoid")


def test_run_cell_refuses_a_two_dimensional_sequence():
    with pytest.raises(ValueError, match=r"x must be a batch-first sequence"):
        run_cell(GRUCell(INPUT, HIDDEN), torch.randn(BATCH, INPUT))


def test_gradient_direction_of_the_wrong_size_is_named():
    with pytest.raises(ValueError, match="direction"):
        initial_state_gradient_norms(RNNCell(INPUT, HIDDEN), torch.randn(2, 3, INPUT),
                                     direction=torch.ones(HIDDEN + 1))


def test_a_zero_gradient_direction_is_refused():
    with pytest.raises(ValueError, match="direction"):
        initial_state_gradient_norms(RNNCell(INPUT, HIDDEN), torch.randn(2, 3, INPUT),
                                     direction=torch.zeros(HIDDEN))


def test_gradient_norms_of_our_lstm_equal_those_of_torchs():
    ours, reference = loaded_pair("lstm")
    x = torch.randn(3, 10, INPUT, dtype=torch.float64, generator=torch.Generator().manual_seed(17))
    torch.testing.assert_close(initial_state_gradient_norms(ours, x),
                               initial_state_gradient_norms(reference, x), **TOL)
