"""Generative adversarial networks (GAN, генеративная состязательная сеть) of lectures 001 and 003.

A generator G(z, alpha) turns noise z ~ p(z) = N(0, I) into objects; a discriminator
D(x, beta) = p(1 | x, beta) = sigmoid(logit(x)) estimates the probability that x is real.
They are trained in turns (Goodfellow et al., 2014):

    D:  sum_i ln D(x_i) + ln(1 - D(G(z_i)))  -> max_beta      (:func:`discriminator_loss`)
    G:  sum_i ln(1 - D(G(z_i)))               -> min_alpha     (the min-max form), or
        sum_i -ln D(G(z_i))                   -> min_alpha     (non-saturating, the default)

(:func:`generator_loss`). :func:`train_gan` alternates one step of each per batch::

    gan = GAN(dcgan_generator(64), dcgan_discriminator(), code_size=64)
    history = train_gan(gan, X, epochs=5, progress=False)   # X: [n, 1, 28, 28] in [0, 1]
    images = gan.sample(16)                                  # [16, 1, 28, 28]

Quality measures: :func:`mode_coverage` for data with known modes (the ring of Gaussians of
:func:`ring_of_gaussians`) and :func:`frechet_distance` between two sets of features.
"""

import numpy as np
import scipy.linalg
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import trange

from coursekit.train import (
    _as_generator,
    _batches,
    _n_samples,
    _seeded_weights,
    _to_device,
    gaussian_noise,
    resolve_device,
)
from coursekit.validation import (
    check_matrix,
    check_positive_float,
    check_positive_int,
    check_same_features,
)

__all__ = [
    "GAN",
    "ConditionalGAN",
    "dcgan_discriminator",
    "dcgan_generator",
    "discriminator_loss",
    "frechet_distance",
    "generator_loss",
    "mode_coverage",
    "ring_of_gaussians",
    "train_gan",
]


# --- the two criteria ---------------------------------------------------------------------


def discriminator_loss(real_logits, fake_logits):
    """Minus the discriminator's log-likelihood, averaged over each batch:

    mean_i -ln sigmoid(real_i) + mean_j -ln(1 - sigmoid(fake_j)),

    the binary cross-entropy of real objects labelled 1 plus generated ones labelled 0.
    ``real_logits``, ``fake_logits``: logits of D ``[n]`` (same shape) -> scalar.
    """
    _check_same_shape(real_logits, fake_logits)
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits, *, non_saturating=True):
    """The generator's criterion on the logits of D for generated objects ``[n]`` -> scalar.

    non-saturating (default):  mean -ln sigmoid(fake)     = mean softplus(-fake)
    min-max form:              mean ln(1 - sigmoid(fake)) = mean -softplus(fake)

    Both are minimised by making D call fakes real; the min-max form has a vanishing
    gradient where D rejects the fakes confidently (sigmoid(fake) -> 0), early in training.
    """
    if not torch.is_tensor(fake_logits):
        raise TypeError(f"fake_logits must be a tensor, got {type(fake_logits).__name__}")
    if non_saturating:
        return F.softplus(-fake_logits).mean()
    return -F.softplus(fake_logits).mean()


def _check_same_shape(real_logits, fake_logits):
    for name, logits in (("real_logits", real_logits), ("fake_logits", fake_logits)):
        if not torch.is_tensor(logits):
            raise TypeError(f"{name} must be a tensor, got {type(logits).__name__}")
    if real_logits.shape != fake_logits.shape:
        raise ValueError(f"real_logits and fake_logits must have the same shape, got "
                         f"real_logits {tuple(real_logits.shape)} and fake_logits "
                         f"{tuple(fake_logits.shape)}")


# --- models -------------------------------------------------------------------------------


class GAN(nn.Module):
    """A generator and a discriminator trained against each other (:func:`train_gan`).

    ``generator`` maps noise ``[n, code_size]`` to objects ``[n, ...]``; ``discriminator``
    maps objects to logits ``[n]`` or ``[n, 1]`` (D(x) = sigmoid(logit)). A batch is a tensor
    of real objects shaped as the generator's output.

    ``random_state`` (None, an int, or a ``torch.Generator``) seeds every noise vector drawn
    when a method (or :func:`train_gan`) is given no ``generator``; ``None`` uses torch's
    global generator. (The weights are the networks', seeded where they are built:
    ``dcgan_generator(..., random_state=...)``, ``mlp(..., random_state=...)``.)
    """

    def __init__(self, generator, discriminator, code_size, *, random_state=None):
        super().__init__()
        for name, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, nn.Module):
                raise TypeError(f"{name} must be a torch.nn.Module, got {type(net).__name__}")
        self.generator, self.discriminator = generator, discriminator
        self.code_size = check_positive_int(code_size, "code_size")
        self.random_state = random_state
        self._generator = _as_generator(random_state, "random_state")

    def noise(self, n, generator=None):
        """z ~ N(0, I), ``[n, code_size]``, on the model's device, drawn with ``generator``
        (default: the model's ``random_state``)."""
        like = next(self.generator.parameters())
        generator = _as_generator(generator, default=self._generator)
        return gaussian_noise((check_positive_int(n, "n"), self.code_size), like, generator)

    def sample(self, n, *, generator=None):
        """``n`` generated objects G(z), z ~ N(0, I), without gradients."""
        with torch.no_grad():
            return self.generator(self.noise(n, generator))

    def discriminate(self, x, labels=None):
        """The logits of D(x) ``[n]``."""
        return self.discriminator(x).reshape(len(x))

    def split_batch(self, batch):
        """A batch as ``(real objects, conditions)``; a plain GAN has no conditions."""
        return batch, None

    def generate(self, z, labels=None):
        """G(z) with gradients (the training steps need them)."""
        return self.generator(z)

    def discriminator_step_loss(self, batch, *, generator=None):
        """:func:`discriminator_loss` on a batch of real objects and as many fakes."""
        real, labels = self.split_batch(batch)
        with torch.no_grad():  # D's step must not train G
            fake = self.generate(self.noise(len(real), generator), labels)
        return discriminator_loss(self.discriminate(real, labels),
                                  self.discriminate(fake, labels))

    def generator_step_loss(self, batch, *, non_saturating=True, generator=None):
        """:func:`generator_loss` on as many fakes as the batch holds real objects."""
        real, labels = self.split_batch(batch)
        fake = self.generate(self.noise(len(real), generator), labels)
        return generator_loss(self.discriminate(fake, labels), non_saturating=non_saturating)


class ConditionalGAN(GAN):
    """A conditional GAN (Mirza & Osindero, 2014): G(z, y) and D(x, y) both see the class y.

    The one-hot code of y is concatenated to z (the generator's input is
    ``[n, code_size + n_classes]``) and to the discriminator's input: to the features of a
    flat object ``[n, d]``, or as ``n_classes`` constant channels of an image ``[n, c, h, w]``
    (so D takes ``c + n_classes`` channels). A batch is a pair ``(x, y)``; the fakes of a
    training step get the labels of the real batch.
    """

    def __init__(self, generator, discriminator, code_size, n_classes, *, random_state=None):
        super().__init__(generator, discriminator, code_size, random_state=random_state)
        self.n_classes = check_positive_int(n_classes, "n_classes", minimum=2)

    def split_batch(self, batch):
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("a ConditionalGAN batch must be a pair (x, y) of objects and labels")
        return batch[0], self._one_hot(batch[1])

    def _one_hot(self, labels):
        labels = torch.as_tensor(labels, device=next(self.parameters()).device)
        if labels.ndim != 1 or labels.dtype.is_floating_point:
            raise ValueError(f"labels must be a 1-D integer tensor, got {tuple(labels.shape)} "
                             f"{labels.dtype}")
        if len(labels) and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise ValueError(f"labels must lie in 0..{self.n_classes - 1}")
        return F.one_hot(labels, self.n_classes).float()

    def generate(self, z, labels=None):
        """G(z, y) = G([z, one-hot y]); ``labels`` is one-hot ``[n, n_classes]``."""
        return self.generator(torch.cat([z, labels], dim=1))

    def discriminate(self, x, labels=None):
        """The logits of D(x, y) ``[n]``; ``labels`` is one-hot ``[n, n_classes]``."""
        if x.ndim == 2:
            conditioned = torch.cat([x, labels], dim=1)
        else:  # images: one constant channel per class
            maps = labels[:, :, None, None].expand(-1, -1, *x.shape[2:])
            conditioned = torch.cat([x, maps], dim=1)
        return self.discriminator(conditioned).reshape(len(x))

    def sample(self, labels, *, generator=None):
        """Generated objects G(z, y), one per requested class in ``labels`` ``[n]``."""
        one_hot = self._one_hot(labels)
        with torch.no_grad():
            return self.generate(self.noise(len(one_hot), generator), one_hot)


def dcgan_generator(code_size, *, channels=64, out_channels=1, random_state=None):
    """A DCGAN generator (Radford et al., 2016) for 28 x 28 images in [0, 1]:

    z [n, code_size] -> linear -> [n, 2c, 7, 7] -> BN, ReLU -> transposed conv (stride 2)
    -> [n, c, 14, 14] -> BN, ReLU -> transposed conv (stride 2) -> [n, out_channels, 28, 28]
    -> sigmoid, with c = ``channels``. No pooling: the transposed convolutions learn the
    upsampling. ``random_state`` seeds the initial weights as in :func:`coursekit.blocks.mlp`.
    """
    c = check_positive_int(channels, "channels")
    code_size = check_positive_int(code_size, "code_size")
    out_channels = check_positive_int(out_channels, "out_channels")
    with _seeded_weights(random_state):
        return nn.Sequential(
            nn.Linear(code_size, 2 * c * 7 * 7, bias=False),
            nn.Unflatten(1, (2 * c, 7, 7)),
            nn.BatchNorm2d(2 * c), nn.ReLU(),
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c), nn.ReLU(),
            nn.ConvTranspose2d(c, out_channels, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )


def dcgan_discriminator(in_channels=1, *, channels=64, random_state=None):
    """A DCGAN discriminator (Radford et al., 2016) for 28 x 28 images:

    [n, in_channels, 28, 28] -> conv (stride 2) -> [n, c, 14, 14] -> LeakyReLU(0.2) -> conv
    (stride 2) -> [n, 2c, 7, 7] -> BN, LeakyReLU(0.2) -> linear -> logits [n, 1]. Strided
    convolutions replace pooling; no batch norm on the input layer, as in the paper.
    ``random_state`` seeds the initial weights as in :func:`coursekit.blocks.mlp`.
    """
    c = check_positive_int(channels, "channels")
    in_channels = check_positive_int(in_channels, "in_channels")
    with _seeded_weights(random_state):
        return nn.Sequential(
            nn.Conv2d(in_channels, c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(2 * c * 7 * 7, 1),
        )


# --- training -----------------------------------------------------------------------------


def train_gan(gan, data, *, epochs, batch_size=64, lr=2e-4, betas=(0.5, 0.999),
              non_saturating=True, device=None, progress=True, generator=None, on_epoch=None):
    """Train ``gan`` by alternating, on each batch, one Adam step of D on
    :meth:`GAN.discriminator_step_loss` and one of G on :meth:`GAN.generator_step_loss`.

    ``data`` is a tensor of real objects (a pair ``(X, y)`` for a :class:`ConditionalGAN`).
    ``generator`` (a ``torch.Generator`` or an int seed) drives the shuffling and the noise;
    ``None`` shuffles with torch's global generator and draws the noise with the model's
    ``random_state``. Device handling is :func:`coursekit.train.fit`'s:
    training on ``device`` (default: a GPU when there is one), then back home, in eval mode.
    ``on_epoch(gan, epoch)``, when given, is called after each epoch (in eval mode) and its
    results are kept in ``history["on_epoch"]``. Returns the history ``{"d_loss": [...],
    "g_loss": [...]}``: the mean losses of the steps of each epoch.
    """
    if not isinstance(gan, GAN):
        raise TypeError(f"gan must be a coursekit.gan.GAN, got {type(gan).__name__}")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive_float(lr, "lr")
    device = resolve_device(device)
    noise = _as_generator(generator)  # None: GAN.noise draws with the model's random_state
    batches = _batches(data, "data", batch_size, True, noise)

    home = next(gan.parameters()).device
    gan.to(device).eval()
    _check_shapes(gan, next(batches()), device)
    d_optimizer = torch.optim.Adam(gan.discriminator.parameters(), lr=lr, betas=betas)
    g_optimizer = torch.optim.Adam(gan.generator.parameters(), lr=lr, betas=betas)
    history = {"d_loss": [], "g_loss": []} | ({"on_epoch": []} if on_epoch else {})
    bar = trange(epochs, desc="train_gan", unit="epoch", disable=not progress)
    for epoch in bar:
        gan.train()
        totals, count = np.zeros(2), 0
        for batch in batches():
            batch = _to_device(batch, device)
            d_loss = _step(d_optimizer, gan.discriminator_step_loss(batch, generator=noise))
            g_loss = _step(g_optimizer, gan.generator_step_loss(
                batch, non_saturating=non_saturating, generator=noise))
            size = _n_samples(batch)
            totals, count = totals + size * np.array([d_loss, g_loss]), count + size
        history["d_loss"].append(float(totals[0] / count))
        history["g_loss"].append(float(totals[1] / count))
        if on_epoch:
            gan.eval()
            history["on_epoch"].append(on_epoch(gan, epoch))
        bar.set_postfix(d_loss=f"{totals[0] / count:.3g}", g_loss=f"{totals[1] / count:.3g}")
    gan.to(home).eval()
    return history


def _step(optimizer, loss):
    """One gradient step on ``loss``; returns its value (a float)."""
    if not torch.isfinite(loss):
        raise ValueError(f"a GAN loss became {loss.item()}; try a smaller lr")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _check_shapes(gan, batch, device):
    """Fail early, with a clear message, when G's objects are not shaped like the data."""
    real, labels = gan.split_batch(_to_device(batch, device))
    with torch.no_grad():
        probe = gan.noise(1, torch.Generator().manual_seed(0))  # no draw from the model's seed
        fake = gan.generate(probe, None if labels is None else labels[:1])
    if fake.shape[1:] != real.shape[1:]:
        raise ValueError(f"the generator makes objects of shape {tuple(fake.shape[1:])} but "
                         f"data holds objects of shape {tuple(real.shape[1:])}; reshape data")


# --- quality measures and data --------------------------------------------------------------


def mode_coverage(samples, centers, radius, *, min_share=0.01):
    """How well ``samples`` ``[n, d]`` cover the modes ``centers`` ``[k, d]``.

    A sample is near a mode when it lies within ``radius`` of it (Euclidean distance); a mode
    is covered when at least ``min_share`` of the samples (1 % by default) are near it.
    Returns ``(modes_covered, share_of_samples_near_a_mode)``: an int in 0..k and a float.
    """
    samples, centers = check_matrix(samples, "samples"), check_matrix(centers, "centers")
    check_same_features(samples, centers, "samples", "centers")
    radius = check_positive_float(radius, "radius")
    min_share = check_positive_float(min_share, "min_share")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)  # [n, k]
    near = distances <= radius
    covered = near.sum(axis=0) >= min_share * len(samples)
    return int(covered.sum()), float(near.any(axis=1).mean())


def frechet_distance(features_a, features_b):
    """The Fréchet distance between Gaussians fitted to two feature sets ``[n_a, d]``,
    ``[n_b, d]`` (Heusel et al., 2017, use Inception features and call it FID):

    d^2 = ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^{1/2}),

    with the means mu and the sample covariances S (ddof = 1). The matrix square root is
    SciPy's ``sqrtm``; its tiny imaginary parts (round-off: the eigenvalues of S_a S_b are
    real and >= 0) are dropped. Returns a float >= 0.
    """
    a, b = check_matrix(features_a, "features_a"), check_matrix(features_b, "features_b")
    check_same_features(a, b, "features_a", "features_b")
    for name, features in (("features_a", a), ("features_b", b)):
        if len(features) < 2:
            raise ValueError(f"{name} needs at least 2 samples for a covariance, "
                             f"got {len(features)}")
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.all(np.isfinite(root)):  # singular product: nudge both, as pytorch-fid does
        nudge = 1e-6 * np.eye(len(cov_a))
        root = scipy.linalg.sqrtm((cov_a + nudge) @ (cov_b + nudge))
    shift = np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2)
    value = shift + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(np.real(root))
    return max(float(value), 0.0)


def ring_of_gaussians(n, *, n_modes=8, radius=2.0, std=0.05, random_state=None):
    """``n`` points from an equal mixture of ``n_modes`` Gaussians N(c_j, std^2 I) whose
    centres c_j lie evenly on a circle of ``radius`` (the test set of Metz et al., 2017).
    Returns ``(samples float32 [n, 2], centers float32 [n_modes, 2])``."""
    n, n_modes = check_positive_int(n, "n"), check_positive_int(n_modes, "n_modes")
    radius, std = check_positive_float(radius, "radius"), check_positive_float(std, "std")
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    rng = np.random.default_rng(random_state)
    modes = rng.integers(n_modes, size=n)
    samples = centers[modes] + std * rng.standard_normal((n, 2))
    return samples.astype(np.float32), centers.astype(np.float32)
