"""Self-supervised learning of Part III (lecture: "Самообучение", self-supervised learning).

An encoder ``z = f(x, alpha)`` learns from unlabelled images by solving a *pretext task*
whose labels come from the images themselves:

* **relative patch position** (Doersch et al. 2015): cut the centre patch and one of its 8
  neighbours out of an image; a shared encoder codes both, and a classifier on the two codes
  predicts which neighbour it was (:func:`relative_patch_position_pairs`,
  :class:`PatchPositionNet`);
* **contrastive learning**, SimCLR (Chen et al. 2020): two random augmentations of the same
  image must have close codes, codes of different images far apart (:func:`augment`,
  :func:`nt_xent_loss`, :class:`SimCLR`).

The learned encoder is judged by a **linear probe** (:func:`linear_probe`): a logistic
regression trained on its frozen features with few labels. Both models have ``loss(batch)``
and train with :func:`coursekit.train.fit`.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from coursekit.autoencoders import _code_size, _inputs, _labelled
from coursekit.blocks.mlp import mlp
from coursekit.train import _as_generator, _as_model_tensor, gaussian_noise, uniform_noise
from coursekit.validation import check_matrix, check_positive_float, check_positive_int

__all__ = [
    "NEIGHBOURS",
    "PatchPositionNet",
    "SimCLR",
    "augment",
    "linear_probe",
    "nt_xent_loss",
    "relative_patch_position_pairs",
]

NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
"""Grid offsets ``(row, col)`` of the 8 neighbours of the centre patch, by position label:
0 top-left, 1 top, 2 top-right, 3 right, 4 bottom-right, 5 bottom, 6 bottom-left, 7 left
(clockwise from the top-left)."""


# --- pretext task 1: the relative position of two patches ----------------------------------


def relative_patch_position_pairs(images, *, patch, gap=0, random_state=None):
    """One (centre patch, neighbour patch) pair per image and the neighbour's position.

    A 3x3 grid of ``patch x patch`` squares separated by ``gap`` pixels (it spans
    ``3 * patch + 2 * gap`` pixels; the gap stops the task from being solved by matching
    the pixels along a shared edge) is placed at a random offset in each image; the
    centre square and a random one of its 8 neighbours are cut out. ``images`` is
    ``[N, H, W]`` or ``[N, C, H, W]`` (array or tensor). Returns ``(pairs, positions)``:
    ``pairs`` a float tensor ``[N, 2, patch, patch]`` (``[N, 2, C, patch, patch]`` for 4-D
    input), ``pairs[:, 0]`` the centre and ``pairs[:, 1]`` the neighbour, and
    ``positions`` an int64 tensor ``[N]`` of labels 0-7 as in :data:`NEIGHBOURS`.
    """
    images = _check_images(images)
    patch = check_positive_int(patch, "patch")
    gap = check_positive_int(gap, "gap", minimum=0)
    height, width = images.shape[-2:]
    span = 3 * patch + 2 * gap
    if span > min(height, width):
        raise ValueError(f"patch: a 3x3 grid of patch={patch} with gap={gap} spans {span} "
                         f"pixels, more than the images ({height}x{width})")
    rng = np.random.default_rng(random_state)
    n = len(images)
    positions = rng.integers(0, 8, size=n)
    top = rng.integers(0, height - span + 1, size=n)   # the grid's top-left corner
    left = rng.integers(0, width - span + 1, size=n)
    step = patch + gap                                 # from one grid square to the next
    offsets = np.asarray(NEIGHBOURS)[positions]
    rows = np.stack([top + step, top + step + offsets[:, 0] * step], axis=1)  # [N, 2]
    cols = np.stack([left + step, left + step + offsets[:, 1] * step], axis=1)
    pairs = torch.stack([
        torch.stack([images[i, ..., r:r + patch, c:c + patch] for r, c in zip(rows[i], cols[i])])
        for i in range(n)
    ])
    return pairs, torch.as_tensor(positions, dtype=torch.int64)


class PatchPositionNet(nn.Module):
    """The relative-position pretext model: ``p(position | a, b) = softmax(h([f(a), f(b)]))``.

    The same encoder ``f`` codes the centre patch ``a`` and the neighbour ``b`` (each is
    first resized to ``side x side``, the encoder's input size, so the encoder can later
    code whole images); the classifier ``h`` (a one-hidden-layer MLP) reads the two codes
    side by side and scores the 8 positions. ``loss((pairs, positions))`` is the mean
    cross-entropy; pairs ``[n, 2, p, p]`` come from :func:`relative_patch_position_pairs`.
    ``random_state`` (None, an int, or a ``torch.Generator``) seeds the initial weights of
    ``h`` (the encoder's are seeded where it is built); ``None`` uses torch's global
    generator.
    """

    def __init__(self, encoder, *, code_size=None, hidden=128, side=28, random_state=None):
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
        code_size = _code_size(encoder) if code_size is None else code_size
        code_size = check_positive_int(code_size, "code_size")
        self.side = check_positive_int(side, "side")
        self.encoder = encoder
        self.random_state = random_state
        self.classifier = mlp([2 * code_size, check_positive_int(hidden, "hidden"), 8],
                              random_state=random_state)

    def forward(self, pairs):
        """Position scores (logits) ``[n, 8]`` for pairs ``[n, 2, p, p]`` (a tensor or an
        array)."""
        pairs = _as_model_tensor(self, pairs, "pairs")
        if pairs.ndim != 4 or pairs.shape[1] != 2:
            raise ValueError(f"pairs must be [n, 2, patch, patch], got {tuple(pairs.shape)}")
        n, _, height, width = pairs.shape
        patches = pairs.reshape(2 * n, 1, height, width)          # both patches in one batch
        patches = F.interpolate(patches, size=(self.side, self.side), mode="bilinear",
                                align_corners=False)
        codes = self.encoder(patches).reshape(n, 2, -1)            # the shared encoder f
        return self.classifier(codes.flatten(start_dim=1))         # h([f(a), f(b)])

    def loss(self, batch):
        pairs, positions = _labelled(batch)
        return F.cross_entropy(self(pairs), positions)

    @torch.no_grad()
    def predict(self, pairs):
        """The most probable position ``[n]`` (0-7)."""
        return self(pairs).argmax(dim=1)


# --- pretext task 2: contrastive learning (SimCLR) -----------------------------------------


def augment(images, *, generator=None, scale=(0.3, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5,
            noise=0.05):
    """A random view of each image: crop-and-resize, horizontal flip, Gaussian noise.

    For each image independently: a crop covering a share ``U(scale)`` of the area with
    aspect ratio ``ratio`` (log-uniform) at a random place is resized back to the full size
    (bilinear), mirrored left-right with probability ``flip``, and ``noise * N(0, 1)`` is
    added per pixel; values are clipped to [0, 1]. ``images`` is a float tensor
    ``[N, H, W]`` or ``[N, C, H, W]``; the result has the same shape, dtype and device.
    ``generator`` (a ``torch.Generator``) makes the views reproducible.
    """
    if not torch.is_tensor(images) or not images.is_floating_point():
        raise TypeError(f"images must be a float tensor, got {type(images).__name__} "
                        f"{getattr(images, 'dtype', '')}")
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be [N, H, W] or [N, C, H, W], got {tuple(images.shape)}")
    low, high = _check_range(scale, "scale", upper=1.0)
    log_ratio = [math.log(r) for r in _check_range(ratio, "ratio")]
    flip = check_positive_float(flip, "flip", allow_zero=True)
    if flip > 1:
        raise ValueError(f"flip is a probability in [0, 1], got {flip}")
    noise = check_positive_float(noise, "noise", allow_zero=True)

    x = images if images.ndim == 4 else images.unsqueeze(1)
    n = len(x)
    u = uniform_noise((5, n), x, generator)
    area = low + (high - low) * u[0]
    aspect = torch.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * u[1])
    width = torch.sqrt(area * aspect).clamp(max=1.0)     # crop size as a share of the side
    height = torch.sqrt(area / aspect).clamp(max=1.0)
    # affine_grid works in [-1, 1] coordinates: the crop's centre may move by 1 - size
    centre_x = (2 * u[2] - 1) * (1 - width)
    centre_y = (2 * u[3] - 1) * (1 - height)
    mirror = torch.where(u[4] < flip, -1.0, 1.0).to(x.dtype)
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = width * mirror
    theta[:, 0, 2] = centre_x
    theta[:, 1, 1] = height
    theta[:, 1, 2] = centre_y
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    views = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    views = views + noise * gaussian_noise(views.shape, views, generator)
    return views.clamp(0.0, 1.0).reshape(images.shape)


def nt_xent_loss(z1, z2, temperature=0.5):
    """The normalised temperature-scaled cross-entropy of SimCLR (Chen et al. 2020).

    The 2N codes ``z = [z1; z2]`` (``z1``, ``z2`` ``[N, d]``: two views of N objects) are
    compared by cosine similarity ``s_ij = z_i^T z_j / (||z_i|| ||z_j||)``. Anchor ``i`` has
    one positive ``j(i)`` (the other view of its object) and 2N - 2 negatives:

        l_i = -log( exp(s_{i,j(i)} / tau) / sum_{k != i} exp(s_ik / tau) )

    Returns the mean of ``l_i`` over all 2N anchors (a scalar tensor).
    """
    for name, z in (("z1", z1), ("z2", z2)):
        if not torch.is_tensor(z) or z.ndim != 2:
            raise ValueError(f"{name} must be a 2-D tensor [N, d], got "
                             f"{tuple(z.shape) if torch.is_tensor(z) else type(z).__name__}")
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape (two views of the same N "
                         f"objects), got z1 {tuple(z1.shape)} and z2 {tuple(z2.shape)}")
    temperature = check_positive_float(temperature, "temperature")
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    itself = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(itself, float("-inf"))              # k != i
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, positive)


class SimCLR(nn.Module):
    """SimCLR (Chen et al. 2020): an encoder ``f`` and a projection head ``g`` trained so that
    two augmented views of an image agree.

    ``loss(batch)`` draws two views ``augment(x)`` of every image of the batch (labels, if
    any, are ignored), codes them ``z = g(f(view))`` and returns :func:`nt_xent_loss` at
    ``temperature``. ``g`` is the paper's MLP ``code -> hidden -> projection_dim`` with a
    ReLU; the features for later tasks are ``f(x)`` (``forward``), not ``g(f(x))``.
    ``augmentation`` holds keyword options of :func:`augment`. ``random_state`` (None, an
    int, or a ``torch.Generator``) seeds the initial weights of ``g`` and every view drawn
    (the encoder's weights are seeded where it is built); ``None`` uses torch's global
    generator.
    """

    def __init__(self, encoder, projection_dim=64, temperature=0.5, *, code_size=None,
                 hidden=None, augmentation=None, random_state=None):
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
        code_size = _code_size(encoder) if code_size is None else code_size
        code_size = check_positive_int(code_size, "code_size")
        hidden = code_size if hidden is None else check_positive_int(hidden, "hidden")
        self.encoder = encoder
        self.random_state = random_state
        self.projection = mlp([code_size, hidden,
                               check_positive_int(projection_dim, "projection_dim")],
                              random_state=random_state)  # checks random_state
        self.temperature = check_positive_float(temperature, "temperature")
        self.augmentation = dict(augmentation or {})
        # bad options fail here, not later; a throwaway generator keeps every seed untouched
        augment(torch.zeros(1, 4, 4), generator=torch.Generator(), **self.augmentation)
        self._generator = _as_generator(random_state, "random_state")

    def forward(self, x):
        """The representation ``f(x)`` ``[n, code_size]``; ``x`` is a tensor or an array."""
        return self.encoder(_as_model_tensor(self, x, "x"))

    def loss(self, batch):
        x = _inputs(batch)
        view1 = augment(x, generator=self._generator, **self.augmentation)
        view2 = augment(x, generator=self._generator, **self.augmentation)
        both = self.projection(self.encoder(torch.cat([view1, view2])))  # one pass, 2N views
        z1, z2 = both.split(len(x))
        return nt_xent_loss(z1, z2, self.temperature)


# --- evaluation: the linear probe ----------------------------------------------------------


def linear_probe(features_train, y_train, features_test, y_test, *, C=1.0, max_iter=1000):
    """Test accuracy of a logistic regression fitted on frozen features (the linear probe).

    The features are standardised (mean 0, variance 1, from the training features), then
    scikit-learn's ``LogisticRegression(C=C, max_iter=max_iter)`` (multinomial, L2) is
    fitted on ``(features_train [n, d], y_train [n])``; returns its accuracy on
    ``(features_test [m, d], y_test [m])``, a float in [0, 1].
    """
    features_train = check_matrix(features_train, "features_train")
    features_test = check_matrix(features_test, "features_test")
    if features_train.shape[1] != features_test.shape[1]:
        raise ValueError(f"features_train has {features_train.shape[1]} features but "
                         f"features_test has {features_test.shape[1]}; they must match")
    y_train = _check_labels(y_train, "y_train", len(features_train), "features_train")
    y_test = _check_labels(y_test, "y_test", len(features_test), "features_test")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    probe.fit(features_train, y_train)
    return float(probe.score(features_test, y_test))


# --- helpers --------------------------------------------------------------------------------


def _check_images(images):
    """``images`` as a float32 tensor ``[N, H, W]`` or ``[N, C, H, W]`` with N >= 1."""
    if isinstance(images, (str, bytes)) or images is None:
        raise TypeError(f"images must be an array or tensor, got {type(images).__name__}")
    images = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be 3-D [N, H, W] or 4-D [N, C, H, W], got shape "
                         f"{tuple(images.shape)}")
    if len(images) == 0:
        raise ValueError("images must hold at least one image, got 0")
    return images.float()


def _check_range(bounds, name, upper=None):
    """A pair ``(low, high)`` with ``0 < low <= high`` (``<= upper`` when given)."""
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {bounds!r}") from None
    if not 0 < low <= high or (upper is not None and high > upper):
        limit = f" <= {upper}" if upper is not None else ""
        raise ValueError(f"{name} must satisfy 0 < low <= high{limit}, got {bounds!r}")
    return low, high


def _check_labels(y, name, n, features_name):
    y = np.asarray(y.detach().cpu() if torch.is_tensor(y) else y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D [n], got shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"{name} has {len(y)} labels but {features_name} has {n} rows")
    return y
