"""The variational autoencoder (VAE, вариационный автокодировщик) of lectures 000/001 and 003.

A probabilistic encoder q_alpha(z|x) = N(mu(x), diag(sigma^2(x))) and a probabilistic decoder
p_beta(x|z) are trained together by maximising the evidence lower bound (ELBO)

    log p(x) >= E_{z ~ q(z|x)} log p_beta(x|z) - KL(q_alpha(z|x) || p(z)),

with the prior p(z) = N(0, prior_std^2 I). The expectation is estimated with the
reparameterisation z = mu + sigma * eps, eps ~ N(0, I), so that gradients flow to mu and sigma;
the KL term has a closed form (:func:`kl_divergence`). Train with ``coursekit.train.fit``::

    model = VAE(784, code_size=2)
    fit(model, torch.as_tensor(X), epochs=10, progress=False)   # X: [n, 28, 28] in [0, 1]
    images = model.sample(16)                                   # [16, 784]

Everything is per sample and in nats (natural logarithms). Images come in as ``[n, 784]``,
``[n, 28, 28]`` or ``[n, 1, 28, 28]``; every output image is flat, ``[..., n_features]``.
"""

import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from coursekit.blocks import conv_decoder, conv_encoder, mlp
from coursekit.train import (
    _as_float_tensor,
    _as_generator,
    _seeded_weights,
    bernoulli,
    gaussian_noise,
)
from coursekit.validation import check_choice, check_positive_float, check_positive_int

__all__ = ["VAE", "kl_divergence"]

LIKELIHOODS = ("bernoulli", "gaussian")
"""Decoder distributions p_beta(x|z) that :class:`VAE` knows."""

MIN_DECODER_STD = 1e-2
"""Floor of a learned Gaussian decoder std: pixels that are always 0 would otherwise drive
sigma to 0 and the likelihood to infinity."""


def kl_divergence(mu, logvar, prior_std=1.0):
    """KL(N(mu, diag(exp(logvar))) || N(0, prior_std^2 I)) per sample, in closed form.

    KL = 1/2 sum_j [ (sigma_j^2 + mu_j^2) / s^2 - 1 - log sigma_j^2 + log s^2 ],  s = prior_std.
    Shapes: ``mu``, ``logvar`` ``[n, d]`` -> ``[n]``.
    """
    prior_var = float(prior_std) ** 2
    terms = (logvar.exp() + mu**2) / prior_var - 1.0 - logvar + math.log(prior_var)
    return 0.5 * terms.sum(dim=-1)


class VAE(nn.Module):
    """Variational autoencoder with a Bernoulli or Gaussian decoder (Kingma & Welling, 2014).

    Encoder:  x -> hidden layers -> (mu, logvar), each ``[n, code_size]``; q(z|x) = N(mu, e^logvar).
    Decoder:  z -> hidden layers (reversed) -> ``[n, n_features]`` outputs:
      * ``likelihood="bernoulli"``: logits l, p(x|z) = prod_j p_j^x_j (1 - p_j)^(1 - x_j),
        p = sigmoid(l); ``decode`` returns the probabilities p (the mean image).
      * ``likelihood="gaussian"``: the mean m, p(x|z) = N(x; m, diag(s^2)). The std s is fixed
        when ``decoder_std`` is a number, else learned: one parameter per feature, shared by
        all z, kept above ``MIN_DECODER_STD``.
    Prior:    p(z) = N(0, prior_std^2 I).

    ``hidden`` lists the hidden layer widths of the encoder (the decoder mirrors them);
    ``activation`` is ``"elu"`` (the default), ``"relu"``, ``"softplus"`` or ``"tanh"``. The
    default, 784 -> 240 -> 240 -> 20 and back with ELU (0.51M parameters), has fewer weights
    than the classic PyTorch-examples VAE (784 -> 400 -> 20, ReLU, 0.65M) and, trained the
    same way on Fashion-MNIST, reaches a lower test -ELBO while training faster on a CPU
    (``bench/results/vae.md``).
    The hidden layers are :func:`coursekit.blocks.mlp`. With ``conv=True`` the input must be
    a square one-channel image whose side is divisible by 4 (28 x 28): the stride-2
    convolutions of :func:`coursekit.blocks.conv_encoder` (32 and 64 channels, 4 x 4 kernels)
    come before the hidden layers and :func:`coursekit.blocks.conv_decoder` after them.

    ``random_state`` (None, an int, or a ``torch.Generator``) seeds the initial weights and
    every random draw the model makes when a method is given no ``generator`` (:meth:`sample`,
    the reparameterisation in :meth:`loss` and :meth:`elbo`, :meth:`importance_log_likelihood`);
    ``None`` uses torch's global generator. Seeding never touches torch's global generator.
    """

    def __init__(self, n_features, code_size, hidden=(240, 240), likelihood="bernoulli", *,
                 conv=False, activation="elu", prior_std=1.0, decoder_std=None,
                 random_state=None):
        super().__init__()
        self.n_features = check_positive_int(n_features, "n_features")
        self.code_size = check_positive_int(code_size, "code_size")
        self.hidden = _check_hidden(hidden)
        self.likelihood = check_choice(likelihood, "likelihood", LIKELIHOODS)
        self.conv = bool(conv)
        self.activation = check_choice(activation, "activation", tuple(ACTIVATIONS))
        self.prior_std = check_positive_float(prior_std, "prior_std")
        self.side = _image_side(self.n_features) if self.conv else None
        if decoder_std is not None:
            decoder_std = check_positive_float(decoder_std, "decoder_std")
        self.decoder_std = decoder_std
        self.random_state = random_state
        with _seeded_weights(random_state):  # checks random_state
            self._build()
        self._generator = _as_generator(random_state, "random_state")

    def _build(self):
        act = ACTIVATIONS[self.activation]
        widths = list(self.hidden)
        if self.conv:  # [n, 1, s, s] -> [n, widths[0]] (or the flat maps) and back
            stack = {"kernel_size": 4, "image_size": self.side, "activation": act}
            code = widths[0] if widths else None
            self.encoder_body = nn.Sequential(
                conv_encoder(code, (32, 64), **stack, final=act if widths else None),
                _hidden_layers(widths, act))
            self.decoder_body = nn.Sequential(
                _hidden_layers([self.code_size] + widths[::-1], act),
                conv_decoder(code or self.code_size, (64, 32), **stack, final=None),
                nn.Flatten())
            features = widths[-1] if widths else 64 * (self.side // 4) ** 2
        else:
            self.encoder_body = _hidden_layers([self.n_features] + widths, act)
            self.decoder_body = mlp([self.code_size] + widths[::-1] + [self.n_features], act)
            features = widths[-1] if widths else self.n_features
        self.to_mu = nn.Linear(features, self.code_size)
        self.to_logvar = nn.Linear(features, self.code_size)
        if self.likelihood == "gaussian" and self.decoder_std is None:
            self.decoder_log_std = nn.Parameter(torch.zeros(self.n_features))

    # --- the model: encoder, reparameterisation, decoder ---------------------------------

    def encode(self, x):
        """Parameters of q_alpha(z|x) = N(mu, diag(exp(logvar))): ``x`` -> (mu, logvar) ``[n, d]``."""
        features = self.encoder_body(self._as_input(x))
        return self.to_mu(features), self.to_logvar(features)

    def reparameterize(self, mu, logvar, generator=None):
        """z = mu + sigma * eps, eps ~ N(0, I), sigma = exp(logvar / 2): a sample of q(z|x)
        that is differentiable in mu and logvar. Shapes ``[..., d]`` -> ``[..., d]``."""
        eps = gaussian_noise(mu.shape, mu, _as_generator(generator, default=self._generator))
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z, *, logits=False):
        """The mean of p_beta(x|z) ``[..., n_features]`` for codes ``z`` ``[..., d]``: pixel
        probabilities (Bernoulli; the logits with ``logits=True``) or the Gaussian mean."""
        z = self._as_code(z)
        output = self.decoder_body(z.reshape(-1, self.code_size))
        output = output.reshape(*z.shape[:-1], self.n_features)
        if self.likelihood == "bernoulli" and not logits:
            return torch.sigmoid(output)
        return output

    def log_likelihood(self, x, z):
        """log p_beta(x|z) per sample, summed over features: ``x`` ``[n, F]``, ``z`` ``[..., n, d]``
        -> ``[..., n]``. Bernoulli: -BCE(logits, x); Gaussian: log N(x; mean, diag(s^2))."""
        output = self.decode(z, logits=True)
        if self.likelihood == "bernoulli":
            x = x.expand_as(output)
            return -F.binary_cross_entropy_with_logits(output, x, reduction="none").sum(-1)
        log_std = self._decoder_log_std(output)
        log_density = (-0.5 * ((x - output) / log_std.exp()) ** 2 - log_std
                       - 0.5 * math.log(2 * math.pi))
        return log_density.sum(-1)

    def _decoder_log_std(self, like):
        if self.decoder_std is not None:
            return torch.full_like(like[..., :1], math.log(self.decoder_std))
        return self.decoder_log_std.clamp(min=math.log(MIN_DECODER_STD))

    # --- the criterion --------------------------------------------------------------------

    def elbo_parts(self, x, n_samples=1, generator=None):
        """The ELBO of each sample and its two parts, in nats: a dict of ``[n]`` tensors

        reconstruction = (1/K) sum_k log p_beta(x | z_k),  z_k = mu + sigma * eps_k,
        kl             = KL(q_alpha(z|x) || p(z))  (closed form),
        elbo           = reconstruction - kl.
        """
        n_samples = check_positive_int(n_samples, "n_samples")
        mu, logvar = self.encode(x)  # checks x
        x = self._as_input(x, check=False)  # the same x, as a flat tensor [n, n_features]
        z = self.reparameterize(mu.expand(n_samples, *mu.shape),
                                logvar.expand(n_samples, *logvar.shape), generator)
        reconstruction = self.log_likelihood(x, z).mean(0)
        kl = kl_divergence(mu, logvar, self.prior_std)
        return {"elbo": reconstruction - kl, "reconstruction": reconstruction, "kl": kl}

    def elbo(self, x, n_samples=1, generator=None):
        """The evidence lower bound of each sample ``[n]`` in nats (see :meth:`elbo_parts`)."""
        return self.elbo_parts(x, n_samples, generator)["elbo"]

    def loss(self, batch):
        """Mean negative ELBO over the batch (a tensor ``x`` or a pair ``(x, y)``; ``y`` unused)."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return -self.elbo(x).mean()

    @torch.no_grad()
    def importance_log_likelihood(self, x, n_samples=100, generator=None, chunk=50):
        """Importance-sampled estimate of log p(x) per sample ``[n]`` (the IWAE bound):

        log p(x) ~ log (1/K) sum_k p_beta(x|z_k) p(z_k) / q_alpha(z_k|x),  z_k ~ q_alpha(z|x).

        Its expectation is a lower bound of log p(x) that does not fall as K grows and equals
        the ELBO at K = 1 (Burda et al., 2016). ``chunk`` samples are drawn at a time.
        """
        x = self._as_input(x)
        n_samples = check_positive_int(n_samples, "n_samples")
        chunk = check_positive_int(chunk, "chunk")
        mu, logvar = self.encode(x)
        std = torch.exp(0.5 * logvar)
        log_weights = []
        for start in range(0, n_samples, chunk):
            k = min(chunk, n_samples - start)
            z = self.reparameterize(mu.expand(k, *mu.shape), logvar.expand(k, *mu.shape),
                                    generator)
            log_q = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
            log_prior = torch.distributions.Normal(0.0, self.prior_std).log_prob(z).sum(-1)
            log_weights.append(self.log_likelihood(x, z) + log_prior - log_q)
        return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(n_samples)

    # --- generation and exploration of the latent space -----------------------------------

    @torch.no_grad()
    def sample(self, n, generator=None, *, mean=True):
        """Generate ``n`` objects ``[n, n_features]``: z ~ p(z) = N(0, prior_std^2 I), then the
        mean of p_beta(x|z) (``mean=True``) or a draw x ~ p_beta(x|z) (``mean=False``)."""
        n = check_positive_int(n, "n")
        generator = _as_generator(generator, default=self._generator)
        z = self.prior_std * gaussian_noise((n, self.code_size), self.to_mu.weight, generator)
        means = self.decode(z)
        if mean:
            return means
        if self.likelihood == "bernoulli":
            return bernoulli(means, generator)
        noise = gaussian_noise(means.shape, means, generator)
        return means + self._decoder_log_std(means).exp() * noise

    @torch.no_grad()
    def latent_grid(self, x_or_z, dims, values, *, is_code=None):
        """Codes that start at one point and move along latent coordinates ``dims``.

        The start is a code ``z`` ``[d]`` or the posterior mean mu(x) of one object ``x``
        (``is_code`` says which; by default it is read from the size). One coordinate
        (``dims`` an int, ``values`` ``[m]``) gives ``[m, d]``; two coordinates (``dims`` a
        pair, ``values`` one array for both or a pair of arrays ``[m1]``, ``[m2]``) give
        ``[m1, m2, d]`` with ``z[i, j, dims[0]] = values[0][i]``, ``z[i, j, dims[1]] =
        values[1][j]``; every other coordinate keeps the start's value.
        """
        start = self._start_code(x_or_z, is_code)
        dims, values = self._check_traversal(dims, values, start)
        if len(dims) == 1:
            grid = start.repeat(len(values[0]), 1)
            grid[:, dims[0]] = values[0]
            return grid
        grid = start.repeat(len(values[0]), len(values[1]), 1)
        grid[:, :, dims[0]] = values[0][:, None]
        grid[:, :, dims[1]] = values[1][None, :]
        return grid

    @torch.no_grad()
    def traverse(self, x_or_z, dims, values, *, is_code=None):
        """Decodings while one or two latent coordinates move: ``decode(latent_grid(...))``,
        ``[m, n_features]`` for one coordinate and ``[m1, m2, n_features]`` for two."""
        return self.decode(self.latent_grid(x_or_z, dims, values, is_code=is_code))

    # --- input checks ---------------------------------------------------------------------

    def _as_input(self, x, check=True):
        """``x`` as a finite float tensor ``[n, n_features]`` on the model's device; with
        ``check=False`` (for an ``x`` checked already) only the shape is checked."""
        x = _as_float_tensor(x, "x", self.to_mu.weight)
        if x.ndim >= 3 and math.prod(x.shape[1:]) == self.n_features:
            x = x.reshape(len(x), self.n_features)  # images [n, h, w] or [n, 1, h, w]
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"x must have shape [n, {self.n_features}] (or [n, h, w] images "
                             f"with h * w = {self.n_features}), got {tuple(x.shape)}")
        if not check:
            return x
        if len(x) == 0:
            raise ValueError("x must not be empty")
        # One pass over x for all the checks below (they run on every training batch).
        low, high = _extremes(x)
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError("x contains NaN or infinite values")
        if self.likelihood == "bernoulli" and (low < 0 or high > 1):
            raise ValueError("x must lie in [0, 1] for a Bernoulli decoder")
        return x

    def _as_code(self, z):
        z = _as_float_tensor(z, "z", self.to_mu.weight)
        if z.ndim == 0 or z.shape[-1] != self.code_size:
            raise ValueError(f"z must have shape [..., {self.code_size}], got {tuple(z.shape)}")
        if z.numel() and not all(math.isfinite(value) for value in _extremes(z)):
            raise ValueError("z contains NaN or infinite values")
        return z

    def _start_code(self, x_or_z, is_code):
        point = _as_float_tensor(x_or_z, "x_or_z", self.to_mu.weight)
        size = point.numel()
        if is_code is None:
            if self.code_size == self.n_features:
                raise ValueError("code_size equals n_features: pass is_code=True or False")
            if size not in (self.code_size, self.n_features):
                raise ValueError(f"x_or_z must be one code ({self.code_size} numbers) or one "
                                 f"object ({self.n_features} numbers), got shape "
                                 f"{tuple(point.shape)}")
            is_code = size == self.code_size
        if is_code:
            return self._as_code(point.reshape(-1))
        return self.encode(point.reshape(1, -1))[0][0]

    def _check_traversal(self, dims, values, start):
        dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
        if len(dims) not in (1, 2) or not all(isinstance(d, numbers.Integral) for d in dims):
            raise ValueError(f"dims must be one latent coordinate or two, got {dims!r}")
        if any(not 0 <= d < self.code_size for d in dims) or len(set(dims)) != len(dims):
            raise ValueError(f"dims must be distinct coordinates in [0, {self.code_size}), "
                             f"got {dims!r}")
        if len(dims) == 2 and _is_pair_of_arrays(values):
            values = [_as_float_tensor(v, "values", start) for v in values]
        else:
            values = [_as_float_tensor(values, "values", start)] * len(dims)
        for v in values:
            if v.ndim != 1 or len(v) == 0 or not torch.isfinite(v).all():
                raise ValueError("values must be a non-empty 1-D array of finite numbers "
                                 "(or, for two dims, a pair of them)")
        return dims, values


# --- helpers ------------------------------------------------------------------------------

ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "softplus": nn.Softplus, "tanh": nn.Tanh}


def _hidden_layers(widths, act):
    """Linear layers widths[0] -> widths[1] -> ..., each followed by ``act`` (an
    :func:`~coursekit.blocks.mlp` ending in ``act``); none when there is one width or none."""
    if len(widths) < 2:
        return nn.Identity()
    return mlp(widths, act, final=act)


def _check_hidden(hidden):
    if isinstance(hidden, numbers.Integral):
        hidden = (hidden,)
    if not isinstance(hidden, (tuple, list)):
        raise TypeError(f"hidden must be a tuple of layer widths, got {type(hidden).__name__}")
    return tuple(check_positive_int(width, "hidden width") for width in hidden)


def _image_side(n_features):
    side = math.isqrt(n_features)
    if side * side != n_features or side % 4:
        raise ValueError("conv=True needs square images whose side is divisible by 4 "
                         f"(n_features = 784 for 28 x 28), got n_features={n_features}")
    return side


def _extremes(tensor):
    """(min, max) of a non-empty tensor as Python floats, in one pass over it. A NaN anywhere
    makes both NaN and an infinity makes one of them infinite, so both are finite exactly
    when every element is."""
    low, high = torch.aminmax(tensor)
    return low.item(), high.item()


def _is_pair_of_arrays(values):
    return (isinstance(values, (tuple, list)) and len(values) == 2
            and all(hasattr(v, "__len__") for v in values))


