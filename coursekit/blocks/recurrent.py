"""Recurrent cells written out gate by gate (lecture 004: "рекуррентные сети", LSTM, GRU).

Each cell computes one time step, ``state_t = cell(x_t, state_{t-1})``, with the parameter
names, shapes and gate order of ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell``: a torch
cell's ``state_dict`` loads into ours and gives the same outputs and gradients. With ``G``
gates, hidden size ``H`` and input size ``I``:

* ``weight_ih`` ``[G*H, I]`` and ``bias_ih`` ``[G*H]`` act on the input ``x_t``;
* ``weight_hh`` ``[G*H, H]`` and ``bias_hh`` ``[G*H]`` act on the previous state ``h_{t-1}``;
* the blocks of ``H`` rows are, in order: RNN (one block); LSTM ``i, f, g, o`` (input gate,
  forget gate, candidate, output gate); GRU ``r, z, n`` (reset gate, update gate, candidate).

Sequences are **batch-first**, ``[N, T, I]`` (as ``batch_first=True`` in ``torch.nn.LSTM``),
so a batch of Fashion-MNIST images ``[N, 28, 28]`` is 28 steps of 28 pixels as it is:
:func:`run_cell` unrolls a cell over the steps, :class:`SequenceClassifier` reads the last
hidden state with a linear head.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.validation import check_positive_int

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}
"""The activations ``sigma_h`` an :class:`RNNCell` knows by name (torch's two)."""


class RNNCell(nn.Module):
    """The simple (Elman) recurrent cell ``h_t = sigma_h(U x_t + W h_{t-1})``:

    ``h_t = sigma_h(weight_ih x_t + bias_ih + weight_hh h_{t-1} + bias_hh)``,

    ``U = weight_ih`` ``[H, I]``, ``W = weight_hh`` ``[H, H]``, ``sigma_h`` tanh or ReLU.
    ``forward(x, state=None)``: ``x`` ``[N, I]`` (or ``[I]``), ``state`` ``h_{t-1}``
    ``[N, H]`` (zeros when ``None``) → ``h_t`` ``[N, H]``.
    """

    n_gates = 1

    def __init__(self, input_size, hidden_size, nonlinearity="tanh"):
        super().__init__()
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"nonlinearity must be one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        _make_parameters(self, input_size, hidden_size)

    def forward(self, x, state=None):
        x, batched = _check_input(self, x)
        h = _check_state(self, state, "state", x)
        activation = NONLINEARITIES[self.nonlinearity]
        h = activation(F.linear(x, self.weight_ih, self.bias_ih)
                       + F.linear(h, self.weight_hh, self.bias_hh))
        return h if batched else h[0]

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"


class LSTMCell(nn.Module):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), with optional peepholes
    (Gers & Schmidhuber 2000). One step, gate by gate (``*`` is the element-wise product):

    ``i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi + w_ci * C_{t-1})``  input gate
    ``f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf + w_cf * C_{t-1})``  forget gate
    ``g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)``                      candidate
    ``C_t = f_t * C_{t-1} + i_t * g_t``                                        cell state
    ``o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho + w_co * C_t)``      output gate
    ``h_t = o_t * tanh(C_t)``                                                  output

    The four blocks of ``weight_ih`` ``[4H, I]`` and ``weight_hh`` ``[4H, H]`` are ``i, f, g,
    o``, as in ``torch.nn.LSTMCell``. With ``peephole=True`` the diagonal peephole weights
    ``weight_ci``, ``weight_cf``, ``weight_co`` ``[H]`` let the gates see the cell state;
    without them (or with them zero) the cell is torch's.
    ``forward(x, state=None)``: ``x`` ``[N, I]`` (or ``[I]``), ``state`` a pair
    ``(h_{t-1}, C_{t-1})`` of ``[N, H]`` (zeros when ``None``) → ``(h_t, C_t)``.
    """

    n_gates = 4

    def __init__(self, input_size, hidden_size, peephole=False):
        super().__init__()
        _make_parameters(self, input_size, hidden_size)
        self.peephole = bool(peephole)
        if self.peephole:  # one weight per unit: gate j sees only cell j (a diagonal matrix)
            bound = 1 / math.sqrt(self.hidden_size)
            for name in ("weight_ci", "weight_cf", "weight_co"):
                weight = torch.empty(self.hidden_size).uniform_(-bound, bound)
                self.register_parameter(name, nn.Parameter(weight))

    def forward(self, x, state=None):
        x, batched = _check_input(self, x)
        h, c = _check_pair(self, state, x)
        x_i, x_f, x_g, x_o = F.linear(x, self.weight_ih, self.bias_ih).chunk(4, dim=1)
        h_i, h_f, h_g, h_o = F.linear(h, self.weight_hh, self.bias_hh).chunk(4, dim=1)
        # Peepholes: the input and forget gates see the old cell state C_{t-1} ...
        peep_i, peep_f = (self.weight_ci * c, self.weight_cf * c) if self.peephole else (0, 0)
        input_gate = torch.sigmoid(x_i + h_i + peep_i)
        forget_gate = torch.sigmoid(x_f + h_f + peep_f)
        candidate = torch.tanh(x_g + h_g)
        c = forget_gate * c + input_gate * candidate
        # ... and the output gate sees the new one, C_t.
        peep_o = self.weight_co * c if self.peephole else 0
        output_gate = torch.sigmoid(x_o + h_o + peep_o)
        h = output_gate * torch.tanh(c)
        return (h, c) if batched else (h[0], c[0])

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, peephole={self.peephole}"


class GRUCell(nn.Module):
    """Gated recurrent unit (Cho et al. 2014), in torch's form:

    ``r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)``          reset gate
    ``z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)``          update gate
    ``n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))``     candidate
    ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}``

    The three blocks of ``weight_ih`` ``[3H, I]`` and ``weight_hh`` ``[3H, H]`` are ``r, z,
    n``. The lecture writes ``h_t = (1 - z_t) * h_{t-1} + z_t * n_t`` (``z`` swapped for
    ``1 - z``) and applies ``r_t`` before ``W_hn``; both are the same family of models.
    ``forward(x, state=None)``: ``x`` ``[N, I]`` (or ``[I]``), ``state`` ``h_{t-1}``
    ``[N, H]`` (zeros when ``None``) → ``h_t`` ``[N, H]``.
    """

    n_gates = 3

    def __init__(self, input_size, hidden_size):
        super().__init__()
        _make_parameters(self, input_size, hidden_size)

    def forward(self, x, state=None):
        x, batched = _check_input(self, x)
        h = _check_state(self, state, "state", x)
        x_r, x_z, x_n = F.linear(x, self.weight_ih, self.bias_ih).chunk(3, dim=1)
        h_r, h_z, h_n = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, dim=1)
        reset_gate = torch.sigmoid(x_r + h_r)
        update_gate = torch.sigmoid(x_z + h_z)
        candidate = torch.tanh(x_n + reset_gate * h_n)
        h = (1 - update_gate) * candidate + update_gate * h
        return h if batched else h[0]

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


# --- sequences ----------------------------------------------------------------------------


def run_cell(cell, x, state=None):
    """Unroll ``cell`` over a batch-first sequence ``x`` ``[N, T, I]``, starting from
    ``state`` (zeros when ``None``). Returns ``(outputs, state)``: ``outputs`` ``[N, T, H]``
    holds ``h_1, ..., h_T`` and ``state`` is the last state (``(h_T, C_T)`` for an LSTM).
    """
    _check_sequence(x)
    outputs = []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state)
        outputs.append(_hidden(state))
    return torch.stack(outputs, dim=1), state


def initial_state_gradient_norms(cell, x, direction=None):
    """BPTT made visible: ``||dL_t / dh_0||`` for ``t = 1, ..., T``, where
    ``L_t = <u, h_t>`` reads the hidden state after ``t`` steps of ``x`` ``[N, T, I]`` along
    a unit vector ``u`` (``direction`` ``[H]``; default ``1/sqrt(H)`` in every coordinate).

    ``h_0`` is zero (for an LSTM also ``C_0``); the gradient of each ``L_t`` flows back through
    the unrolled cell to ``h_0``, a product of ``t`` Jacobians ``dh_i / dh_{i-1}``. Returns a
    tensor ``[N, T]`` of per-sequence norms.
    """
    n, steps, _ = _check_sequence(x).shape
    h0 = torch.zeros(n, cell.hidden_size, dtype=x.dtype, device=x.device, requires_grad=True)
    state = (h0, torch.zeros_like(h0)) if isinstance(cell, (LSTMCell, nn.LSTMCell)) else h0
    outputs, _ = run_cell(cell, x, state)
    if direction is None:
        direction = torch.ones(cell.hidden_size)
    direction = _check_direction(direction, cell.hidden_size).to(x.dtype).to(x.device)
    norms = torch.empty(n, steps, dtype=x.dtype, device=x.device)
    for t in range(steps):  # sequences are independent: summing over N keeps rows apart
        (grad,) = torch.autograd.grad(outputs[:, t] @ direction, h0,
                                      grad_outputs=torch.ones_like(outputs[:, t, 0]),
                                      retain_graph=True)
        norms[:, t] = grad.norm(dim=1)
    return norms


class SequenceClassifier(nn.Module):
    """A recurrent cell read to the end, then a linear head on the last hidden state:
    ``y_hat(x) = softmax(V h_T + c)`` (the lecture's ``y_t = sigma_y(V h_t)`` at ``t = T``).

    ``forward(x)``: ``x`` ``[N, T, I]`` → class scores (logits) ``[N, n_classes]``;
    ``loss((x, y))`` is the mean cross-entropy, so :func:`coursekit.train.fit` trains it.
    """

    def __init__(self, cell, n_classes):
        super().__init__()
        if not all(hasattr(cell, name) for name in ("input_size", "hidden_size")):
            raise TypeError(f"cell must be a recurrent cell, got {type(cell).__name__}")
        self.cell = cell
        self.head = nn.Linear(cell.hidden_size, check_positive_int(n_classes, "n_classes",
                                                                   minimum=2))

    def forward(self, x):
        """Class scores (logits) ``[N, n_classes]`` of the sequences ``x`` ``[N, T, I]``."""
        _, state = run_cell(self.cell, x)
        return self.head(_hidden(state))

    def loss(self, batch):
        """Mean cross-entropy of a batch ``(x, y)``: ``x`` ``[N, T, I]``, ``y`` ``[N]``."""
        x, y = batch
        return F.cross_entropy(self(x), y)

    @torch.no_grad()
    def predict(self, x):
        """The most probable class ``[N]``."""
        return self(x).argmax(dim=1)


# --- helpers: parameters and input checks -------------------------------------------------


def _make_parameters(cell, input_size, hidden_size):
    """torch's parameters and initialisation: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    cell.input_size = check_positive_int(input_size, "input_size")
    cell.hidden_size = check_positive_int(hidden_size, "hidden_size")
    rows = cell.n_gates * cell.hidden_size
    cell.weight_ih = nn.Parameter(torch.empty(rows, cell.input_size))
    cell.weight_hh = nn.Parameter(torch.empty(rows, cell.hidden_size))
    cell.bias_ih = nn.Parameter(torch.empty(rows))
    cell.bias_hh = nn.Parameter(torch.empty(rows))
    bound = 1 / math.sqrt(cell.hidden_size)
    for parameter in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh):
        nn.init.uniform_(parameter, -bound, bound)


def _hidden(state):
    """``h`` of a state: the state itself, or the first of an LSTM's ``(h, C)``."""
    return state[0] if isinstance(state, tuple) else state


def _check_input(cell, x):
    """``x`` as ``[N, input_size]`` and whether it came batched (2-D) or as one sample (1-D)."""
    if not torch.is_tensor(x):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")
    if x.ndim not in (1, 2):
        raise ValueError(f"x must be [N, input_size] or [input_size], got shape {tuple(x.shape)}"
                         " (unroll a sequence [N, T, I] with run_cell)")
    if x.shape[-1] != cell.input_size:
        raise ValueError(f"x has {x.shape[-1]} features but input_size is {cell.input_size}")
    return (x, True) if x.ndim == 2 else (x[None], False)


def _check_state(cell, state, name, x):
    """A state tensor ``[N, H]`` matching the (batched) input ``x``; zeros when ``None``."""
    if state is None:
        return torch.zeros(x.shape[0], cell.hidden_size, dtype=x.dtype, device=x.device)
    if not torch.is_tensor(state):
        raise TypeError(f"{name} must be a tensor, got {type(state).__name__}")
    state = state if state.ndim == 2 else state[None]
    if state.shape != (x.shape[0], cell.hidden_size):
        raise ValueError(f"{name} must have shape {(x.shape[0], cell.hidden_size)} "
                         f"[N, hidden_size] to match x, got {tuple(state.shape)}")
    return state


def _check_pair(cell, state, x):
    """An LSTM state ``(h, C)``, each checked by :func:`_check_state`; zeros when ``None``."""
    if state is None:
        return _check_state(cell, None, "state", x), _check_state(cell, None, "state", x)
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise ValueError(f"state of an LSTMCell must be a pair (h, c), got {type(state).__name__}")
    return _check_state(cell, state[0], "state[0] (h)", x), _check_state(cell, state[1],
                                                                          "state[1] (c)", x)


def _check_sequence(x):
    """``x`` if it is a batch-first sequence ``[N, T, I]`` with ``T >= 1``; raise otherwise."""
    if not torch.is_tensor(x) or x.ndim != 3:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"x must be a batch-first sequence [N, T, input_size], got {shape}")
    if x.shape[1] == 0:
        raise ValueError("x must have at least one time step, got T = 0")
    return x


def _check_direction(direction, hidden_size):
    """``direction`` scaled to a unit vector ``[hidden_size]`` (float64); raise otherwise."""
    direction = torch.as_tensor(direction, dtype=torch.float64)
    if direction.shape != (hidden_size,):
        raise ValueError(f"direction must have shape ({hidden_size},) [hidden_size], "
                         f"got {tuple(direction.shape)}")
    if not torch.isfinite(direction).all() or direction.norm() == 0:
        raise ValueError("direction must be a finite, non-zero vector")
    return direction / direction.norm()
