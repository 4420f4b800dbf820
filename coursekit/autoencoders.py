"""The autoencoder family of Part II (lecture: "Автокодировщики").

An autoencoder is a pair of models trained together: an encoder ``z = f(x, alpha)`` and a
decoder ``x_hat = g(z, beta)``, fitted so that ``g(f(x))`` reconstructs ``x``::

    L_AE(alpha, beta) = sum_i L(g(f(x_i, alpha), beta), x_i) -> min

Every model here is a ``torch.nn.Module`` with ``loss(batch)`` (a scalar: the criterion
averaged over the batch) and ``loss_parts(batch)`` (its terms, by name), so it trains with
:func:`coursekit.train.fit`. A batch is a tensor ``x`` ``[n, ...]`` or a pair ``(x, y)``;
the unsupervised models ignore ``y``. Regularised models add a penalty to the
reconstruction term: sparse (weights, codes, KL), denoising (corrupted inputs), contractive
(Jacobian norm), relational (pairwise similarities). ``StackedAutoEncoder`` trains a deep
encoder layer by layer; ``SemiSupervisedAutoEncoder`` adds a classifier on the codes.

Inputs are tensors or NumPy arrays alike (arrays become float tensors on the model's device);
the networks themselves come from :mod:`coursekit.blocks` (:func:`~coursekit.blocks.mlp`,
:func:`~coursekit.blocks.conv_encoder`, :func:`~coursekit.blocks.conv_decoder`) or any
``nn.Module``. The code size is ``code_size`` everywhere.
"""

import itertools

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.train import (
    _as_float_tensor,
    _as_generator,
    _as_model_tensor,
    fit,
    gaussian_noise,
    uniform_noise,
)
from coursekit.validation import (
    check_matrix,
    check_open_unit,
    check_positive_float,
    check_positive_int,
)

__all__ = [
    "AutoEncoder",
    "ContractiveAutoEncoder",
    "DenoisingAutoEncoder",
    "EncoderClassifier",
    "LinearAutoEncoder",
    "RelationalAutoEncoder",
    "SemiSupervisedAutoEncoder",
    "SparseAutoEncoder",
    "StackedAutoEncoder",
    "contractive_penalty_sigmoid",
    "jacobian_frobenius",
    "kl_sparsity",
    "principal_angles",
    "reconstruction_error",
    "relational_loss",
]

LOSSES = ("quadratic", "bce")
"""Reconstruction losses: ``||x_hat - x||^2`` and binary cross-entropy (for x in [0, 1])."""


# --- the autoencoder ----------------------------------------------------------------------


class AutoEncoder(nn.Module):
    """``x_hat = g(f(x))`` with the reconstruction criterion (lecture's ``L_AE``).

    ``loss(batch)`` is the mean over the batch of ``L(x_hat_i, x_i)``, where ``L`` is
    ``"quadratic"`` ``||x_hat - x||^2`` (summed over features) or ``"bce"``
    ``-sum_d [x_d log x_hat_d + (1 - x_d) log(1 - x_hat_d)]`` (needs x, x_hat in [0, 1]).
    ``encoder`` maps ``[n, ...] -> [n, m]``, ``decoder`` maps ``[n, m] -> [n, ...]``;
    ``forward`` returns the reconstruction in the shape of ``x``. ``x`` and ``z`` are tensors
    or arrays (an array becomes a float tensor on the model's device).
    """

    def __init__(self, encoder, decoder, *, loss="quadratic"):
        super().__init__()
        for name, module in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(module, nn.Module):
                raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.reconstruction = loss
        self.n_features = _first_in_features(encoder)  # None when it cannot be read off

    def encode(self, x):
        """Codes ``z = f(x)`` ``[n, m]``."""
        return self.encoder(self._check_input(x))

    def decode(self, z):
        """Reconstructions ``g(z)`` in the decoder's output shape."""
        return self.decoder(_as_model_tensor(self, z, "z"))

    def forward(self, x):
        """``g(f(x))`` in the shape of ``x``."""
        x = _as_model_tensor(self, x, "x")
        return self.decode(self.encode(x)).reshape(x.shape)

    def reconstruction_loss(self, x_hat, x):
        """Per-sample loss ``L(x_hat_i, x_i)`` ``[n]`` (summed over the features)."""
        x_hat, x = x_hat.reshape(len(x), -1), x.reshape(len(x), -1)
        if self.reconstruction == "bce":
            return F.binary_cross_entropy(x_hat, x, reduction="none").sum(dim=1)
        return ((x_hat - x) ** 2).sum(dim=1)

    def loss_parts(self, batch):
        """The terms of the criterion, each a scalar averaged over the batch."""
        x = self._batch_inputs(batch)
        return {"reconstruction": self.reconstruction_loss(self(x), x).mean()}

    def loss(self, batch):
        """The criterion minimised by :func:`coursekit.train.fit`: the sum of the parts."""
        return sum(self.loss_parts(batch).values())

    def _batch_inputs(self, batch):
        """The inputs ``x`` of a batch that is ``x`` or ``(x, y)``, as a tensor."""
        return _as_model_tensor(self, _inputs(batch), "x")

    def _check_input(self, x):
        x = _as_model_tensor(self, x, "x")
        if not torch.is_floating_point(x) or x.ndim < 2:
            raise ValueError(f"x must be a float tensor [n, ...], got {x.dtype} {tuple(x.shape)}")
        n_features = x[0].numel()
        if self.n_features is not None and n_features != self.n_features:
            raise ValueError(
                f"x has {n_features} features per sample but the encoder expects "
                f"{self.n_features}"
            )
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or infinite values")
        return x


def reconstruction_error(model, X, batch_size=1024):
    """Mean over samples of ``||g(f(x_i)) - x_i||^2`` for a trained ``model``, as a float;
    ``X`` ``[N, ...]`` is a tensor or an array."""
    weight = next(model.parameters())
    X = _as_float_tensor(X, "X", torch.empty(0, dtype=weight.dtype))  # batches move to the device
    batch_size = check_positive_int(batch_size, "batch_size")
    total = 0.0
    with torch.no_grad():
        for xb in X.split(batch_size):
            xb = xb.to(weight.device)
            total += ((model(xb) - xb) ** 2).reshape(len(xb), -1).sum().item()
    return total / len(X)


# --- the linear autoencoder and PCA -------------------------------------------------------


class LinearAutoEncoder(AutoEncoder):
    """``f(x) = Ax``, ``g(z) = Bz`` with ``A`` ``[m, n]``, ``B`` ``[n, m]``; no activations.

    Minimising ``sum_i ||BAx_i - x_i||^2`` gives the same subspace as PCA's top ``m``
    components (for centred data, or with ``bias=True``), but ``A`` and ``B`` need not be
    orthogonal or transposes of each other.
    """

    def __init__(self, n_features, code_size, *, bias=False):
        n_features = check_positive_int(n_features, "n_features")
        code_size = check_positive_int(code_size, "code_size")
        if code_size > n_features:
            raise ValueError(f"code_size ({code_size}) must not exceed n_features ({n_features})")
        super().__init__(nn.Linear(n_features, code_size, bias=bias),
                         nn.Linear(code_size, n_features, bias=bias))
        self.code_size = code_size

    @property
    def A(self):
        """The encoder matrix ``[m, n]`` (a copy, as NumPy)."""
        return self.encoder.weight.detach().cpu().numpy().copy()

    @property
    def B(self):
        """The decoder matrix ``[n, m]``: its columns span the reconstructions (NumPy copy)."""
        return self.decoder.weight.detach().cpu().numpy().copy()


def principal_angles(A, B):
    """Principal angles (radians, ascending) between the column spaces of ``A`` ``[d, p]`` and
    ``B`` ``[d, q]``; ``min(rank A, rank B)`` of them.

    With orthonormal bases ``Q_A``, ``Q_B`` (the smaller one ``Q_B``), the cosines are the
    singular values of ``Q_A^T Q_B`` and the sines those of ``Q_B - Q_A Q_A^T Q_B``; the angle
    is ``arctan2(sin, cos)``, accurate for small angles too (Bjorck and Golub, 1973).
    """
    A, B = check_matrix(A, "A"), check_matrix(B, "B")
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must have the same number of rows, got {A.shape} and {B.shape}")
    QA, QB = scipy.linalg.orth(A), scipy.linalg.orth(B)
    if QA.shape[1] < QB.shape[1]:
        QA, QB = QB, QA
    overlap = QA.T @ QB
    cosines = np.linalg.svd(overlap, compute_uv=False)               # descending
    sines = np.linalg.svd(QB - QA @ overlap, compute_uv=False)[::-1]  # ascending
    return np.arctan2(sines, np.clip(cosines, 0.0, 1.0))


# --- sparse autoencoder ---------------------------------------------------------------------


def kl_sparsity(mean_activation, target):
    """``sum_j KL(eps || f_j) = sum_j eps log(eps/f_j) + (1-eps) log((1-eps)/(1-f_j))``.

    ``mean_activation`` ``[m]`` holds the mean code ``f_j`` of each unit over the sample (in
    (0, 1)); ``target`` is ``eps`` in (0, 1). Returns a scalar tensor.
    """
    target = check_open_unit(target, "target")
    rho = torch.as_tensor(mean_activation)
    if ((rho < 0) | (rho > 1)).any() or not torch.isfinite(rho).all():
        raise ValueError("mean_activation must lie in [0, 1]; use codes in [0, 1] (a sigmoid)")
    rho = rho.clamp(1e-7, 1 - 1e-7)  # a unit that never (or always) fires: large, not infinite
    return (target * torch.log(target / rho)
            + (1 - target) * torch.log((1 - target) / (1 - rho))).sum()


class SparseAutoEncoder(AutoEncoder):
    """An autoencoder with sparsity penalties added to the reconstruction term:

    * ``weight_l1 * sum |w|`` and ``weight_l2 * sum w^2`` over the weight matrices of the
      encoder and decoder (biases are not penalised);
    * ``code_l1 * mean_i sum_j |f_j(x_i)|``, the L1 norm of the codes;
    * ``kl * sum_j KL(target || f_j)`` with ``f_j`` the mean code of unit ``j`` over the
      batch (:func:`kl_sparsity`; needs codes in [0, 1], e.g. a sigmoid encoder).
    """

    def __init__(self, encoder, decoder, *, weight_l1=0.0, weight_l2=0.0, code_l1=0.0,
                 kl=0.0, target=0.05, loss="quadratic"):
        super().__init__(encoder, decoder, loss=loss)
        self.weight_l1 = check_positive_float(weight_l1, "weight_l1", allow_zero=True)
        self.weight_l2 = check_positive_float(weight_l2, "weight_l2", allow_zero=True)
        self.code_l1 = check_positive_float(code_l1, "code_l1", allow_zero=True)
        self.kl = check_positive_float(kl, "kl", allow_zero=True)
        self.target = check_open_unit(target, "target")

    def loss_parts(self, batch):
        """Reconstruction plus each non-zero penalty, all averaged over the batch."""
        x = self._batch_inputs(batch)
        z = self.encode(x)
        parts = {"reconstruction": self.reconstruction_loss(self.decode(z), x).mean()}
        weights = [p for p in self.parameters() if p.ndim >= 2]
        if self.weight_l1:
            parts["weight_l1"] = self.weight_l1 * sum(w.abs().sum() for w in weights)
        if self.weight_l2:
            parts["weight_l2"] = self.weight_l2 * sum((w ** 2).sum() for w in weights)
        if self.code_l1:
            parts["code_l1"] = self.code_l1 * z.abs().sum(dim=1).mean()
        if self.kl:
            parts["kl"] = self.kl * kl_sparsity(z.mean(dim=0), self.target)
        return parts


# --- denoising autoencoder ------------------------------------------------------------------


class DenoisingAutoEncoder(AutoEncoder):
    """Reconstruct the clean ``x`` from a corrupted copy ``x~ ~ q(x~ | x)``:

    ``L_DAE = sum_i E_{x~ ~ q(x~|x_i)} L(g(f(x~)), x_i)``, estimated with one fresh
    corruption per sample and step. ``noise="gaussian"``: ``x~ = x + sigma * N(0, I)``;
    ``noise="mask"``: each component is set to 0 with probability ``p0``.
    ``random_state`` (None, an int, or a ``torch.Generator``) seeds every corruption drawn
    when :meth:`corrupt` is given no ``generator`` (training included); ``None`` uses torch's
    global generator. (The weights are the encoder's and decoder's, seeded where they are
    built: ``mlp(..., random_state=...)``.)
    """

    def __init__(self, encoder, decoder, *, noise="gaussian", sigma=0.3, p0=0.3,
                 loss="quadratic", random_state=None):
        super().__init__(encoder, decoder, loss=loss)
        self.random_state = random_state
        self._generator = _as_generator(random_state, "random_state")
        if noise not in ("gaussian", "mask"):
            raise ValueError(f"noise must be 'gaussian' or 'mask', got {noise!r}")
        self.noise = noise
        self.sigma = check_positive_float(sigma, "sigma")
        self.p0 = check_positive_float(p0, "p0", allow_zero=True)
        if self.p0 >= 1:
            raise ValueError(f"p0 must be in [0, 1), got {p0}")

    def corrupt(self, x, generator=None):
        """A corrupted copy ``x~`` of ``x`` (same shape); ``generator`` (default: the model's
        ``random_state``) draws the noise."""
        x = _as_model_tensor(self, x, "x")
        generator = _as_generator(generator, default=self._generator)
        if self.noise == "gaussian":
            return x + self.sigma * gaussian_noise(x.shape, x, generator)
        keep = uniform_noise(x.shape, x, generator) >= self.p0
        return x * keep.to(x.dtype)

    def loss_parts(self, batch):
        x = self._batch_inputs(batch)
        x_hat = self.decode(self.encode(self.corrupt(x)))
        return {"reconstruction": self.reconstruction_loss(x_hat, x).mean()}


# --- contractive autoencoder ----------------------------------------------------------------


def contractive_penalty_sigmoid(x, weight, bias):
    """``||J_f(x)||_F^2 = sum_j sum_d (w_jd f_j (1 - f_j))^2`` per sample, for the sigmoid
    encoder ``f(x) = sigmoid(Wx + b)``; ``x`` ``[n, d]``, ``weight`` ``[m, d]``, ``bias``
    ``[m]``. Returns ``[n]``. (``df_j/dx_d = f_j (1 - f_j) w_jd``.)
    """
    f = torch.sigmoid(x @ weight.T + bias)               # [n, m]
    return ((f * (1 - f)) ** 2) @ (weight ** 2).sum(dim=1)  # sum_j (f_j(1-f_j))^2 sum_d w_jd^2


def jacobian_frobenius(f, x, create_graph=False):
    """``||J_f(x_i)||_F^2 = sum_j sum_d (df_j/dx_d)^2`` per sample ``[n]``, by autograd.

    ``f`` maps ``[n, d] -> [n, m]`` sample by sample (no mixing across the batch, e.g. no
    batch norm), so the gradient of ``sum_i f_j(x_i)`` holds every sample's row ``j``;
    one backward pass per code unit. ``create_graph=True`` keeps the result differentiable.
    """
    with torch.enable_grad():  # also under torch.no_grad(), e.g. a validation pass
        x = x.detach().requires_grad_(True)
        z = f(x)
        total = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for j in range(z.shape[1]):
            (row,) = torch.autograd.grad(z[:, j].sum(), x, create_graph=create_graph,
                                         retain_graph=True)
            total = total + (row.reshape(len(x), -1) ** 2).sum(dim=1)
    return total


class ContractiveAutoEncoder(AutoEncoder):
    """Reconstruction plus ``lam * mean_i ||J_f(x_i)||_F^2``: codes that change little when
    the input moves. For the encoder ``nn.Sequential(nn.Linear, nn.Sigmoid)`` the penalty is
    the closed form :func:`contractive_penalty_sigmoid`; otherwise autograd
    (:func:`jacobian_frobenius`, one backward pass per code unit).
    """

    def __init__(self, encoder, decoder, *, lam=0.1, loss="quadratic"):
        super().__init__(encoder, decoder, loss=loss)
        self.lam = check_positive_float(lam, "lam", allow_zero=True)

    def contraction(self, x):
        """``||J_f(x_i)||_F^2`` per sample ``[n]`` (differentiable)."""
        x = _as_model_tensor(self, x, "x")
        if _is_sigmoid_layer(self.encoder):
            linear = self.encoder[0]
            return contractive_penalty_sigmoid(x.reshape(len(x), -1), linear.weight, linear.bias)
        return jacobian_frobenius(self.encoder, x, create_graph=True)

    def loss_parts(self, batch):
        x = self._batch_inputs(batch)
        parts = {"reconstruction": self.reconstruction_loss(self(x), x).mean()}
        if self.lam:
            parts["contraction"] = self.lam * self.contraction(x).mean()
        return parts


# --- relational autoencoder -----------------------------------------------------------------


def relational_loss(x_hat, x, threshold=0.0):
    """Mean over pairs ``i < j`` of ``(sigma(x_hat_i . x_hat_j) - sigma(x_i . x_j))^2`` with
    ``sigma(s) = (s - s0)_+`` (``s0 = threshold``: weaker similarities do not count).
    ``x_hat``, ``x`` ``[n, ...]`` (flattened per sample); needs ``n >= 2``.
    """
    x_hat, x = x_hat.reshape(len(x_hat), -1), x.reshape(len(x), -1)
    if len(x) < 2:
        raise ValueError("the relational loss needs at least 2 samples in a batch")
    i, j = torch.triu_indices(len(x), len(x), offset=1, device=x.device)
    similarity = F.relu(x @ x.T - threshold)[i, j]
    reconstructed = F.relu(x_hat @ x_hat.T - threshold)[i, j]
    return ((reconstructed - similarity) ** 2).mean()


class RelationalAutoEncoder(AutoEncoder):
    """Reconstruct the objects and their relations:
    ``L_AE + lam * sum_{i<j} L(sigma(x_hat_i^T x_hat_j), sigma(x_i^T x_j))`` with
    ``sigma(s) = (s - s0)_+`` and ``L(s_hat, s) = (s_hat - s)^2`` over the pairs of a batch
    (averaged over samples and pairs, so ``lam`` does not depend on the batch size).
    """

    def __init__(self, encoder, decoder, *, lam=1.0, threshold=0.0, loss="quadratic"):
        super().__init__(encoder, decoder, loss=loss)
        self.lam = check_positive_float(lam, "lam", allow_zero=True)
        if isinstance(threshold, bool) or not np.isfinite(float(threshold)):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}")
        self.threshold = float(threshold)

    def loss_parts(self, batch):
        x = self._batch_inputs(batch)
        x_hat = self(x)
        parts = {"reconstruction": self.reconstruction_loss(x_hat, x).mean()}
        if self.lam and len(x) > 1:
            parts["relational"] = self.lam * relational_loss(x_hat, x, self.threshold)
        return parts


# --- stacked autoencoder --------------------------------------------------------------------


class StackedAutoEncoder(AutoEncoder):
    """A deep autoencoder ``sizes[0] -> ... -> sizes[-1]`` trained greedily, layer by layer.

    ``x^h = f^h(x^{h-1}) = activation(W_h x^{h-1} + b_h)``, ``x^0 = x``, ``z = x^H``.
    :meth:`pretrain` fits each pair ``(f^h, g^h)`` as a one-layer autoencoder on the codes
    ``x^{h-1}`` of the layers below, then moves up. The lecture discards the decoders
    ``g^h``: :meth:`classifier` puts a head on ``encoder`` alone for fine-tuning by
    backpropagation. The decoders are kept as ``decoder`` (``g^1 o ... o g^H``) only so the
    stack also works as a deep autoencoder (fine-tuned on reconstruction with ``fit``).
    ``output`` is the activation of ``g^1`` (``nn.Sigmoid`` for data in [0, 1]; ``None`` for
    unbounded data); ``g^h`` for ``h > 1`` ends in ``activation``, the range of the codes.
    """

    def __init__(self, sizes, *, activation=nn.Sigmoid, output=nn.Sigmoid, loss="quadratic"):
        sizes = [check_positive_int(size, "sizes[i]") for size in sizes]
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and a code size, got {sizes}")
        encoders, decoders = [], []
        for h, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            encoders.append(nn.Sequential(nn.Linear(n_in, n_out), activation()))
            last = output if h == 0 else activation
            decoders.append(nn.Sequential(nn.Linear(n_out, n_in),
                                          *([last()] if last is not None else [])))
        super().__init__(nn.Sequential(nn.Flatten(), *encoders),
                         nn.Sequential(*reversed(decoders)), loss=loss)
        self.sizes = sizes
        self.n_features = sizes[0]
        self.layers = encoders                       # plain lists: the modules are registered
        self.layer_decoders = decoders               # once, inside encoder and decoder

    def pretrain(self, X, *, epochs, **fit_options):
        """Greedy layer-wise training: for ``h = 1..H`` fit ``(f^h, g^h)`` on ``x^{h-1}`` with
        :func:`coursekit.train.fit` (``epochs`` and ``fit_options`` go to it, e.g.
        ``batch_size``, ``lr``, ``progress=False``). ``X`` is a tensor ``[N, ...]``.
        Returns the list of per-layer histories.
        """
        codes = self._check_input(_inputs(X))
        codes = codes.reshape(len(codes), -1)
        histories = []
        for encoder, decoder in zip(self.layers, self.layer_decoders):
            layer = AutoEncoder(encoder, decoder, loss=self.reconstruction)
            histories.append(fit(layer, codes, epochs=epochs, **fit_options))
            with torch.no_grad():                    # x^h = f^h(x^{h-1}), the next layer's data
                device = next(encoder.parameters()).device
                codes = torch.cat([encoder(xb.to(device)) for xb in codes.split(4096)])
        return histories

    def classifier(self, n_classes):
        """``EncoderClassifier(self.encoder, n_classes)``: the pretrained encoder (shared, not
        copied) with a linear softmax head, for supervised fine-tuning."""
        return EncoderClassifier(self.encoder, n_classes, code_size=self.sizes[-1])


# --- autoencoders with labels ---------------------------------------------------------------


class EncoderClassifier(nn.Module):
    """``y_hat(x) = softmax(head(f(x)))``; ``loss((x, y))`` is the mean cross-entropy.

    ``head`` is ``nn.Linear(code_size, n_classes)``; ``code_size`` defaults to the
    ``out_features`` of the encoder's last linear layer. ``x`` is a tensor or an array.
    """

    def __init__(self, encoder, n_classes, *, code_size=None):
        super().__init__()
        self.n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
        code_size = _code_size(encoder) if code_size is None else code_size
        self.code_size = check_positive_int(code_size, "code_size")
        self.encoder = encoder
        self.head = nn.Linear(self.code_size, self.n_classes)

    def forward(self, x):
        """Class scores (logits) ``[n, n_classes]``."""
        return self.head(self.encoder(_as_model_tensor(self, x, "x")))

    def loss(self, batch):
        x, y = _labelled(batch)
        return F.cross_entropy(self(x), y)

    @torch.no_grad()
    def predict(self, x):
        """The most probable class ``[n]``."""
        return self(x).argmax(dim=1)


class SemiSupervisedAutoEncoder(AutoEncoder):
    """An autoencoder and a classifier on its codes, trained together on labelled and
    unlabelled objects (lecture: "автокодировщики для обучения с учителем"):

    ``sum_{i<=l} L(g(f(x_i)), x_i) + lam * sum_{i<=k} L~(y_hat(f(x_i)), y_i)``,

    with ``L~`` the cross-entropy of the head ``y_hat(z) = softmax(Wz + c)``. A batch is
    ``(x, y)`` with ``y = -1`` for unlabelled objects; both sums are divided by the batch
    size, so unlabelled objects add nothing to the second term.
    """

    def __init__(self, encoder, decoder, n_classes, lam=1.0, *, code_size=None,
                 loss="quadratic"):
        super().__init__(encoder, decoder, loss=loss)
        self.n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
        self.lam = check_positive_float(lam, "lam", allow_zero=True)
        code_size = _code_size(encoder) if code_size is None else code_size
        self.code_size = check_positive_int(code_size, "code_size")
        self.head = nn.Linear(self.code_size, self.n_classes)

    def loss_parts(self, batch):
        x, y = _labelled(batch, allow_unlabelled=True)
        x = _as_model_tensor(self, x, "x")
        if y.min() < -1 or y.max() >= self.n_classes:
            raise ValueError(f"labels must be -1 (unlabelled) or in [0, {self.n_classes}), "
                             f"got values in [{y.min().item()}, {y.max().item()}]")
        z = self.encode(x)
        parts = {"reconstruction": self.reconstruction_loss(self.decode(z), x).mean()}
        labelled = y >= 0
        cross_entropy = F.cross_entropy(self.head(z[labelled]), y[labelled], reduction="sum")
        parts["classification"] = self.lam * cross_entropy / len(x)
        return parts

    @torch.no_grad()
    def predict_proba(self, x):
        """Class probabilities ``softmax(head(f(x)))`` ``[n, n_classes]``."""
        return torch.softmax(self.head(self.encode(x)), dim=1)

    @torch.no_grad()
    def predict(self, x):
        """The most probable class ``[n]``."""
        return self.predict_proba(x).argmax(dim=1)


# --- helpers --------------------------------------------------------------------------------


def _inputs(batch):
    """The inputs ``x`` of a batch that is ``x`` or ``(x, y)``."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def _labelled(batch, allow_unlabelled=False):
    """``(x, y)`` from a batch, with ``y`` an integer tensor of class indices."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError("a labelled batch must be a pair (x, y); train with fit(model, (X, y))")
    x, y = batch
    if not torch.is_tensor(y) or y.dtype not in (torch.int64, torch.int32, torch.int16,
                                                  torch.uint8):
        raise TypeError(f"y must be an integer tensor of class indices, got "
                        f"{getattr(y, 'dtype', type(y).__name__)}")
    if not allow_unlabelled and y.min() < 0:
        raise ValueError("y holds negative labels; every object here must be labelled")
    return x, y.long()


def _first_in_features(encoder):
    """The input size of the first layer that declares one (``Linear``), if it comes first."""
    for module in encoder.modules():
        if hasattr(module, "in_features"):
            return module.in_features
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            return None
    return None


def _code_size(encoder):
    sizes = [m.out_features for m in encoder.modules() if hasattr(m, "out_features")]
    if not sizes:
        raise ValueError("cannot read the code size off the encoder; pass code_size=")
    return sizes[-1]


def _is_sigmoid_layer(encoder):
    return (isinstance(encoder, nn.Sequential) and len(encoder) == 2
            and isinstance(encoder[0], nn.Linear) and isinstance(encoder[1], nn.Sigmoid))
