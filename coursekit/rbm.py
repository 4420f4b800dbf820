"""Restricted Boltzmann machines (ограниченная машина Больцмана): chapter 5.

A Bernoulli restricted Boltzmann machine has ``n_visible`` binary visible units ``v``, ``n_hidden``
binary hidden units ``h``, and links only between the two layers. Its energy and distribution::

    E(v, h) = -a.v - b.h - v.W.h,          p(v, h) = exp(-E(v, h)) / Z,
    p(v) = exp(-F(v)) / Z,                 F(v) = -a.v - sum_k softplus(b_k + (v W)_k),

with weights ``W`` ``[n_visible, n_hidden]``, visible biases ``a`` and hidden biases ``b``.
No links inside a layer make the conditionals factorise into independent sigmoids::

    P(h_k = 1 | v) = sigma(b_k + sum_i v_i w_ik),   P(v_i = 1 | h) = sigma(a_i + sum_k w_ik h_k).

The log-likelihood gradient is ``M[v h]_data - M[v h]_model``; contrastive divergence (CD-k)
replaces the model term by statistics after ``k`` steps of Gibbs sampling started at the data
(:meth:`RBM.contrastive_divergence`, the lecture's six steps). :meth:`RBM.loss` is the
surrogate ``mean F(v_data) - mean F(v_k)`` whose autograd gradient is minus that estimate, so
:func:`coursekit.train.fit` trains the machine like any other model of the course.
"""

import torch
from torch import nn
from torch.nn import functional as F

from coursekit.train import _as_generator, bernoulli
from coursekit.validation import check_positive_float, check_positive_int

MAX_ENUMERATED_UNITS = 20
""":meth:`RBM.log_partition` enumerates ``2**m`` states of the smaller layer, ``m`` at most this."""

ENUMERATION_CHUNK = 4096
"""States of the enumerated layer processed at once by :meth:`RBM.log_partition`."""


class RBM(nn.Module):
    """A restricted Boltzmann machine with Bernoulli visible and hidden units, trained by CD-k.

    ``RBM(n_visible, n_hidden, k=1)``: parameters ``W`` ``[n_visible, n_hidden]`` (initialised
    from N(0, ``init_std``²)), ``a`` ``[n_visible]`` and ``b`` ``[n_hidden]`` (zeros); ``k`` is
    the number of Gibbs steps of contrastive divergence. ``persistent=True`` turns CD-k into
    persistent CD (PCD-k): the Gibbs chains continue from where the previous batch left them
    instead of restarting at the data. ``random_state`` (an int or a ``torch.Generator``) seeds
    the initial weights and every sample the machine draws when a method is given no
    ``generator``; ``None`` uses torch's global generator (see
    :func:`coursekit.train.seed_everything`).

    Inputs ``v`` are ``[n, n_visible]`` and ``h`` are ``[n, n_hidden]``, arrays or tensors with
    values in [0, 1] (binary for sampling; probabilities are accepted as data, as usual).
    """

    def __init__(self, n_visible, n_hidden, k=1, *, persistent=False, init_std=0.01,
                 random_state=None, dtype=None):
        super().__init__()
        self.n_visible = check_positive_int(n_visible, "n_visible")
        self.n_hidden = check_positive_int(n_hidden, "n_hidden")
        self.k = check_positive_int(k, "k")
        if not isinstance(persistent, bool):
            raise TypeError(f"persistent must be True or False, got {persistent!r}")
        self.persistent = persistent
        self.init_std = check_positive_float(init_std, "init_std", allow_zero=True)
        self.random_state = random_state
        self._generator = _as_generator(random_state, "random_state")
        dtype = dtype or torch.get_default_dtype()
        weights = torch.randn(n_visible, n_hidden, generator=self._generator, dtype=dtype)
        self.W = nn.Parameter(weights * self.init_std)
        self.a = nn.Parameter(torch.zeros(n_visible, dtype=dtype))
        self.b = nn.Parameter(torch.zeros(n_hidden, dtype=dtype))
        self.register_buffer("chains", None, persistent=False)  # PCD's chains, [m, n_visible]

    def extra_repr(self):
        return (f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, k={self.k}"
                + (", persistent=True" if self.persistent else ""))

    # --- the model: energy, free energy, conditionals ---------------------------------------

    def energy(self, v, h):
        """``E(v, h) = -a.v - b.h - v.W.h`` per pair of rows: ``v`` ``[n, n_visible]``,
        ``h`` ``[n, n_hidden]`` -> ``[n]``."""
        v = self._check_units(v, self.n_visible, "v")
        h = self._check_units(h, self.n_hidden, "h")
        if len(v) != len(h):
            raise ValueError(f"v and h must have the same number of rows, got {len(v)} and {len(h)}")
        return -(v @ self.a) - (h @ self.b) - ((v @ self.W) * h).sum(dim=1)

    def free_energy(self, v):
        """``F(v) = -log sum_h exp(-E(v, h)) = -a.v - sum_k softplus(b_k + (v W)_k)``,
        so that ``p(v) = exp(-F(v)) / Z``. ``v`` ``[n, n_visible]`` -> ``[n]``."""
        return self._free_energy(self._check_units(v, self.n_visible, "v"))

    def _free_energy(self, v):
        return -(v @ self.a) - F.softplus(self.b + v @ self.W).sum(dim=1)

    def hidden_probabilities(self, v):
        """``P(h_k = 1 | v) = sigma(b_k + sum_i v_i w_ik)``: ``[n, n_visible]`` -> ``[n, n_hidden]``."""
        return self._hidden(self._check_units(v, self.n_visible, "v"))

    def _hidden(self, v):
        return torch.sigmoid(self.b + v @ self.W)

    def visible_probabilities(self, h):
        """``P(v_i = 1 | h) = sigma(a_i + sum_k w_ik h_k)``: ``[n, n_hidden]`` -> ``[n, n_visible]``."""
        return self._visible(self._check_units(h, self.n_hidden, "h"))

    def _visible(self, h):
        return torch.sigmoid(self.a + h @ self.W.T)

    def forward(self, v):
        """The hidden representation of ``v``: ``P(h = 1 | v)`` ``[n, n_hidden]``."""
        return self.hidden_probabilities(v)

    def sample_h(self, v, generator=None):
        """``(P(h = 1 | v), h)`` with ``h ~ P(h | v)``, each unit an independent coin:
        ``[n, n_visible]`` -> two ``[n, n_hidden]`` tensors."""
        probabilities = self.hidden_probabilities(v)
        return probabilities, bernoulli(probabilities, _as_generator(generator, default=self._generator))

    def sample_v(self, h, generator=None):
        """``(P(v = 1 | h), v)`` with ``v ~ P(v | h)``: ``[n, n_hidden]`` -> two
        ``[n, n_visible]`` tensors."""
        probabilities = self.visible_probabilities(h)
        return probabilities, bernoulli(probabilities, _as_generator(generator, default=self._generator))

    @torch.no_grad()
    def init_visible_bias(self, v, clip=0.01):
        """Set ``a_i = log(p_i / (1 - p_i))``, ``p_i`` the mean of ``v_i`` over the rows of ``v``
        clipped to ``[clip, 1 - clip]``: the machine starts with the data's pixel frequencies
        (Hinton's practical guide). Returns ``self``."""
        v = self._check_units(v, self.n_visible, "v")
        if not 0 < clip < 0.5:
            raise ValueError(f"clip must be in (0, 0.5), got {clip}")
        p = v.mean(dim=0).clamp(clip, 1 - clip)
        self.a.copy_(torch.log(p / (1 - p)))
        return self

    # --- sampling ----------------------------------------------------------------------------

    @torch.no_grad()
    def gibbs(self, v, steps, *, generator=None, keep_every=None, probabilities=False):
        """Block Gibbs sampling: ``steps`` times ``h ~ P(h | v)``, then ``v ~ P(v | h)``.

        ``v`` ``[n, n_visible]`` starts ``n`` independent chains. Returns the visible states
        after the last step ``[n, n_visible]``; with ``keep_every=m``, the states at steps
        0, m, 2m, ... as ``[steps // m + 1, n, n_visible]`` (step 0 is ``v``). With
        ``probabilities=True`` the returned states are ``P(v = 1 | h)`` of the step instead of
        the binary samples (smoother pictures; the chain itself always carries samples).
        """
        v = self._check_units(v, self.n_visible, "v")
        steps = check_positive_int(steps, "steps", minimum=0)
        if keep_every is not None:
            keep_every = check_positive_int(keep_every, "keep_every")
        generator = _as_generator(generator, default=self._generator)
        chain = [v]  # checked once above: the steps below run on valid states only
        for step in range(1, steps + 1):
            h = bernoulli(self._hidden(v), generator)  # CD's steps 2-3: P(h | v), h ~ P(h | v)
            p_v = self._visible(h)  # step 4: P(v | h), then v ~ P(v | h)
            v = bernoulli(p_v, generator)
            if keep_every is not None and step % keep_every == 0:
                chain.append(p_v if probabilities else v)
        if keep_every is None:
            return p_v if probabilities and steps > 0 else v
        return torch.stack(chain)

    # --- learning: contrastive divergence ----------------------------------------------------

    @torch.no_grad()
    def contrastive_divergence(self, v, generator=None):
        """CD-k estimates ``(dW, da, db)`` of the gradient of the mean log-likelihood of ``v``.

        The lecture's six steps: (1) the visible units take the data ``v``; (2) compute
        ``P(h | v)``; (3) sample ``h`` from it; (4) compute ``P(v | h)`` and sample ``v``;
        (5) repeat 2-4 until ``k`` steps are done; (6) compute ``P(h | v_k)``. Then::

            dW = M[v h]_data - M[v h]_model,  da = M[v]_data - M[v]_model,
            db = M[h]_data - M[h]_model,

        means over the rows, with ``h`` replaced by its probabilities. Add ``lr * dW`` to ``W``
        (gradient ascent). ``v`` ``[n, n_visible]`` -> ``[n_visible, n_hidden]``,
        ``[n_visible]``, ``[n_hidden]``.
        """
        v_data = self._check_units(v, self.n_visible, "v")          # 1. clamp the data
        v_model = self._negative_samples(v_data, generator)          # 2-5. k Gibbs steps
        p_h_data = self._hidden(v_data)
        p_h_model = self._hidden(v_model)                            # 6. P(h | v_k)
        dW = v_data.T @ p_h_data / len(v_data) - v_model.T @ p_h_model / len(v_model)
        da = v_data.mean(dim=0) - v_model.mean(dim=0)
        db = p_h_data.mean(dim=0) - p_h_model.mean(dim=0)
        return dW, da, db

    def loss(self, v):
        """The CD-k surrogate loss ``mean F(v_data) - mean F(v_k)``, ``v_k`` held constant.

        Its autograd gradient is minus the CD-k estimate of :meth:`contrastive_divergence`
        (since ``-dF(v)/dW = v P(h = 1 | v)``), so minimising it with
        :func:`coursekit.train.fit` is CD-k learning. Its value is not a log-likelihood:
        watch :meth:`reconstruction_error` or :meth:`log_likelihood` instead.
        """
        v_data = self._check_units(v, self.n_visible, "v")
        v_model = self._negative_samples(v_data, None)  # no gradient flows through sampling
        return self._free_energy(v_data).mean() - self._free_energy(v_model).mean()

    @torch.no_grad()
    def _negative_samples(self, v_data, generator):
        """``v_k``: ``k`` Gibbs steps from the data (CD-k) or from the persistent chains (PCD-k)."""
        generator = _as_generator(generator, default=self._generator)
        if not self.persistent:
            return self.gibbs(v_data, self.k, generator=generator)
        if self.chains is None or self.chains.device != v_data.device:
            self.chains = bernoulli(v_data, generator)  # start PCD's chains at the first batch
        self.chains = self.gibbs(self.chains, self.k, generator=generator)
        return self.chains

    # --- measures ----------------------------------------------------------------------------

    @torch.no_grad()
    def reconstruction_error(self, v):
        """Mean over rows of ``sum_i (v_i - v̂_i)^2`` with the deterministic reconstruction
        ``v̂ = P(v = 1 | h = P(h = 1 | v))`` (one mean-field up-down pass). ``v`` -> a float."""
        v = self._check_units(v, self.n_visible, "v")
        reconstruction = self._visible(self._hidden(v))
        return ((v - reconstruction) ** 2).sum(dim=1).mean().item()

    def log_partition(self):
        """``log Z = log sum_{v, h} exp(-E(v, h))``, exactly, by enumerating the smaller layer.

        Over visible states ``log Z = logsumexp_v -F(v)``; over hidden states
        ``log Z = logsumexp_h [b.h + sum_i softplus(a_i + (W h)_i)]``. Costs ``2**m`` terms
        for ``m = min(n_visible, n_hidden)``; raises ``ValueError`` when ``m`` exceeds
        :data:`MAX_ENUMERATED_UNITS`. Differentiable (a scalar tensor).
        """
        m = min(self.n_visible, self.n_hidden)
        if m > MAX_ENUMERATED_UNITS:
            raise ValueError(
                f"log_partition enumerates 2**min(n_visible, n_hidden) states; "
                f"min({self.n_visible}, {self.n_hidden}) = {m} exceeds "
                f"MAX_ENUMERATED_UNITS = {MAX_ENUMERATED_UNITS}"
            )
        terms = []
        for states in _binary_states(m, self.W.dtype, self.W.device):
            if self.n_visible <= self.n_hidden:
                terms.append(-self._free_energy(states))
            else:
                terms.append(states @ self.b + F.softplus(self.a + states @ self.W.T).sum(dim=1))
        return torch.logsumexp(torch.cat(terms), dim=0)

    def log_likelihood(self, v):
        """``log p(v) = -F(v) - log Z`` per row, exact (see :meth:`log_partition`):
        ``[n, n_visible]`` -> ``[n]``, differentiable."""
        return -self.free_energy(v) - self.log_partition()

    # --- helpers -----------------------------------------------------------------------------

    def _check_units(self, x, size, name):
        """``x`` as a tensor ``[n, size]`` of the parameters' dtype and device, values in [0, 1]."""
        if isinstance(x, (str, bytes)) or x is None:
            raise TypeError(f"{name} must be an array or tensor of numbers, got {type(x).__name__}")
        try:
            x = torch.as_tensor(x, dtype=self.W.dtype, device=self.W.device)
        except (TypeError, ValueError, RuntimeError) as error:
            raise TypeError(f"{name} must be an array or tensor of numbers: {error}") from None
        if x.ndim != 2 or x.shape[1] != size:
            hint = " (flatten images with X.reshape(len(X), -1))" if x.ndim > 2 else ""
            raise ValueError(f"{name} must be 2-D [n_samples, {size}], got shape "
                             f"{tuple(x.shape)}{hint}")
        if x.shape[0] == 0:
            raise ValueError(f"{name} must not be empty")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"{name} must have values in [0, 1] (binary units), got values in "
                             f"[{x.min().item():.3g}, {x.max().item():.3g}]")
        return x


def _binary_states(m, dtype, device):
    """All ``2**m`` binary vectors of length ``m``, in chunks ``[<= ENUMERATION_CHUNK, m]``."""
    bits = torch.arange(m, device=device)
    for start in range(0, 2**m, ENUMERATION_CHUNK):
        index = torch.arange(start, min(start + ENUMERATION_CHUNK, 2**m), device=device)
        yield ((index[:, None] >> bits) & 1).to(dtype)

