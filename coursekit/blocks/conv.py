"""Convolution and max pooling written out, a small CNN, and the convolutional encoder and
decoder of Parts II and III (lecture 004: "свёрточные сети").

A convolutional layer slides one small kernel of weights ``w`` over the image ``x``; the
output at position ``(i, j)`` is the weighted sum of the window that starts there::

    (x * w)[i, j] = sum_a sum_b w[a, b] x[i + a, j + b]

summed also over the input channels, one kernel per output channel. Like
``torch.nn.functional.conv2d`` (and every deep-learning library), this is a
*cross-correlation*: the kernel is not flipped as in the convolution of signal processing.
Since the kernel is learnt, the two are the same model. A max-pooling layer replaces each
window by its largest value.

Shapes follow torch: images ``x`` ``[N, C, H, W]``, kernels ``weight`` ``[C_out, C_in, kH,
kW]``, ``bias`` ``[C_out]``; ``stride`` and ``padding`` are an int or a pair ``(rows,
columns)``. :func:`conv2d` and :func:`max_pool2d` give the same numbers (and gradients) as
torch's; they loop over the ``kH * kW`` kernel offsets, not over pixels, so they are slower
but not slow. :func:`small_cnn` builds the classifier of the lab from torch's own layers,
with dropout, batch normalisation and data augmentation as switches.

:func:`conv_encoder` and :func:`conv_decoder` are the one convolutional stack of Parts II and
III (the autoencoders, the VAE, transfer, self-supervised learning, distillation): two
stride-2 convolutions (28 -> 14 -> 7) and their mirror image.
"""

import torch
from torch import nn

from coursekit.autoencoders import EncoderClassifier
from coursekit.train import _seeded_weights
from coursekit.validation import check_positive_float, check_positive_int

__all__ = ["Augmentation", "conv2d", "conv_decoder", "conv_encoder", "conv_output_size",
           "max_pool2d", "small_cnn"]


def conv_output_size(size, kernel, stride=1, padding=0):
    """The output length along one axis: ``floor((size + 2 * padding - kernel) / stride) + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """The 2-D convolution layer (cross-correlation, as in torch) of images ``x`` with kernels
    ``weight``:

        y[n, o, i, j] = bias[o] + sum_c sum_a sum_b weight[o, c, a, b]
                                                    * x_pad[n, c, s_h i + a, s_w j + b],

    where ``x_pad`` is ``x`` with ``padding`` zeros on every side and ``(s_h, s_w)`` is
    ``stride``. ``x`` ``[N, C_in, H, W]``, ``weight`` ``[C_out, C_in, kH, kW]``, ``bias``
    ``[C_out]`` or ``None`` → ``[N, C_out, H_out, W_out]`` with the sizes of
    :func:`conv_output_size`. Equal to ``torch.nn.functional.conv2d``, gradients included.
    """
    _check_images(x, "x")
    _check_images(weight, "weight")
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    c_out, c_in, kh, kw = weight.shape
    if x.shape[1] != c_in:
        raise ValueError(f"weight expects {c_in} input channels (weight.shape[1]) but x has "
                         f"{x.shape[1]} (x.shape[1]); they must match")
    if bias is not None and (not torch.is_tensor(bias) or tuple(bias.shape) != (c_out,)):
        raise ValueError(f"bias must be a tensor of shape [{c_out}] (one per output channel), "
                         f"got {tuple(bias.shape) if torch.is_tensor(bias) else bias!r}")
    out_h, out_w = _output_sizes(x, (kh, kw), stride, padding, "weight")

    x = nn.functional.pad(x, (padding[1], padding[1], padding[0], padding[0]))  # zeros around
    out = 0
    for a in range(kh):
        for b in range(kw):
            # x_pad[n, c, s_h i + a, s_w j + b] for every output position (i, j) at once
            shifted = x[:, :, a : a + stride[0] * out_h : stride[0],
                        b : b + stride[1] * out_w : stride[1]]
            # weight[o, c, a, b] times it, summed over the input channels c
            out = out + torch.einsum("oc,nchw->nohw", weight[:, :, a, b], shifted)
    if bias is not None:
        out = out + bias.reshape(1, c_out, 1, 1)
    return out


def max_pool2d(x, kernel_size, stride=None):
    """Max pooling: each ``kH x kW`` window, taken every ``stride`` pixels (default: the
    kernel size, windows that do not overlap), is replaced by its maximum:

        y[n, c, i, j] = max_{a < kH, b < kW} x[n, c, s_h i + a, s_w j + b].

    ``x`` ``[N, C, H, W]`` → ``[N, C, H_out, W_out]`` (no padding). Equal to
    ``torch.nn.functional.max_pool2d``; the gradient reaches the maximum of each window (on
    exact ties torch sends it to one of them, this version splits it among them).
    """
    _check_images(x, "x")
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)
    out_h, out_w = _output_sizes(x, kernel, stride, (0, 0), "kernel_size")

    out = None
    for a in range(kernel[0]):
        for b in range(kernel[1]):
            shifted = x[:, :, a : a + stride[0] * out_h : stride[0],
                        b : b + stride[1] * out_w : stride[1]]
            out = shifted if out is None else torch.maximum(out, shifted)
    return out


class Augmentation(nn.Module):
    """Data augmentation as a layer: in training mode each image is replaced by a random view
    of it (:func:`coursekit.selfsupervised.augment`: a crop of a share ``scale`` of the area,
    its aspect ratio within 10% of square, resized back to the full size, then a left-right
    flip with probability ``flip``; no noise). In evaluation mode the layer passes images
    through unchanged, like dropout. The views keep the class of a Fashion-MNIST image: a
    small shift and zoom, a mirrored shirt is still a shirt. Images ``[N, C, H, W]``.
    """

    def __init__(self, scale=(0.7, 1.0), flip=0.5):
        super().__init__()
        self.scale = tuple(scale)
        self.flip = flip

    def forward(self, x):
        if not self.training:
            return x
        from coursekit.selfsupervised import augment  # here: selfsupervised imports blocks

        return augment(x, scale=self.scale, ratio=(0.9, 1 / 0.9), flip=self.flip, noise=0.0)

    def extra_repr(self):
        return f"scale={self.scale}, flip={self.flip}"


def small_cnn(n_classes=10, channels=(16, 32), hidden=128, *, in_channels=1, image_size=28,
              dropout=0.0, batch_norm=False, augmentation=False):
    """A LeNet-like classifier for ``[N, in_channels, image_size, image_size]`` images:

        [augmentation] → (conv 3x3 → [batch norm] → ReLU → max-pool 2x2) × 2
        → flatten → [dropout] → linear → ReLU → [dropout] → linear to ``n_classes``

    The convolutions keep the size (padding 1) and each pooling halves it, so 28x28 images
    give ``channels[1]`` maps of 7x7. ``dropout`` is the share of units zeroed in training
    (0: no dropout layers), ``batch_norm`` adds ``BatchNorm2d`` after each convolution,
    ``augmentation`` (``True`` or an :class:`Augmentation`) puts random views first.
    Returns an :class:`~coursekit.autoencoders.EncoderClassifier`: ``model(x)`` gives the
    logits, ``model.loss((x, y))`` the mean cross-entropy, so it trains with
    :func:`coursekit.train.fit`; ``model.encoder`` holds the layers above.
    """
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    c1, c2 = (check_positive_int(c, "channels[i]") for c in channels)
    hidden = check_positive_int(hidden, "hidden")
    in_channels = check_positive_int(in_channels, "in_channels")
    image_size = check_positive_int(image_size, "image_size", minimum=4)
    dropout = check_positive_float(dropout, "dropout", allow_zero=True)
    if dropout >= 1:
        raise ValueError(f"dropout is the share of units dropped, in [0, 1), got {dropout}")

    def block(n_in, n_out):
        norm = [nn.BatchNorm2d(n_out)] if batch_norm else []
        return [nn.Conv2d(n_in, n_out, 3, padding=1), *norm, nn.ReLU(), nn.MaxPool2d(2)]

    def drop():
        return [nn.Dropout(dropout)] if dropout > 0 else []

    if augmentation is True:
        augmentation = Augmentation()
    side = image_size // 2 // 2
    layers = [
        *([augmentation] if augmentation else []),
        *block(in_channels, c1),
        *block(c1, c2),
        nn.Flatten(),
        *drop(),
        nn.Linear(c2 * side * side, hidden), nn.ReLU(),
        *drop(),
    ]
    return EncoderClassifier(nn.Sequential(*layers), n_classes)


# --- the convolutional encoder and decoder of Parts II and III --------------------------------


class _AsImages(nn.Module):
    """Reshape ``[n, side*side]``, ``[n, side, side]`` or ``[n, 1, side, side]`` to the last."""

    def __init__(self, side):
        super().__init__()
        self.side = side
        self.in_features = side * side  # lets models check the feature count of their input

    def forward(self, x):
        return x.reshape(len(x), 1, self.side, self.side)


def conv_encoder(code_size, channels=(16, 32), *, kernel_size=3, image_size=28,
                 activation=nn.ReLU, final=None, random_state=None):
    """A convolutional encoder for one-channel square images:
    ``[n, image_size, image_size]`` (or flat, or ``[n, 1, ...]``) ``-> [n, code_size]``.

        two stride-2 convolutions, each followed by ``activation()``
        (28 -> 14 -> 7, ``channels`` filters of ``kernel_size`` x ``kernel_size``)
        -> flatten -> linear to the code -> ``final()`` when given (e.g. ``nn.Sigmoid``)

    The padding ``(kernel_size - 1) // 2`` halves the side exactly (kernel 3 or 4 alike), so
    ``image_size`` must be divisible by 4. ``code_size=None`` leaves out the linear layer: the
    output is then the flattened maps ``[n, channels[1] * (image_size // 4) ** 2]``.
    ``random_state`` (None, an int, or a ``torch.Generator``) seeds the initial weights
    without touching torch's global generator; ``None`` uses it.
    """
    c1, c2, kernel, side = _check_stack(channels, kernel_size, image_size)
    padding = (kernel - 1) // 2
    with _seeded_weights(random_state):
        layers = [
            _AsImages(side),
            nn.Conv2d(1, c1, kernel, stride=2, padding=padding), activation(),   # side -> side/2
            nn.Conv2d(c1, c2, kernel, stride=2, padding=padding), activation(),  # -> side/4
            nn.Flatten(),
        ]
        if code_size is not None:
            code_size = check_positive_int(code_size, "code_size")
            layers.append(nn.Linear(c2 * (side // 4) ** 2, code_size))
    if final is not None:
        layers.append(final())
    return nn.Sequential(*layers)


def conv_decoder(code_size, channels=(32, 16), *, kernel_size=3, image_size=28,
                 activation=nn.ReLU, final=nn.Sigmoid, random_state=None):
    """The mirror of :func:`conv_encoder`: ``[n, code_size] -> [n, 1, image_size, image_size]``.

        linear to ``channels[0]`` maps of ``image_size // 4`` squared -> ``activation()``
        -> two stride-2 transposed convolutions (7 -> 14 -> 28; ``activation()`` between)
        -> ``final()`` (default ``nn.Sigmoid``: pixels in [0, 1]; ``None`` for none)

    The output padding ``2 + 2 * padding - kernel_size`` makes each transposed convolution
    double the side exactly. ``random_state`` as in :func:`conv_encoder`.
    """
    code_size = check_positive_int(code_size, "code_size")
    c1, c2, kernel, side = _check_stack(channels, kernel_size, image_size)
    padding = (kernel - 1) // 2
    doubling = {"stride": 2, "padding": padding, "output_padding": 2 + 2 * padding - kernel}
    with _seeded_weights(random_state):
        layers = [
            nn.Linear(code_size, c1 * (side // 4) ** 2), activation(),
            nn.Unflatten(1, (c1, side // 4, side // 4)),
            nn.ConvTranspose2d(c1, c2, kernel, **doubling), activation(),  # side/4 -> side/2
            nn.ConvTranspose2d(c2, 1, kernel, **doubling),                 # -> side
        ]
    if final is not None:
        layers.append(final())
    return nn.Sequential(*layers)


def _check_stack(channels, kernel_size, image_size):
    """``(c1, c2, kernel_size, image_size)`` of a conv stack, checked."""
    channels = tuple(channels)
    if len(channels) != 2:
        raise ValueError(f"channels must be a pair (first, second), got {channels!r}")
    c1, c2 = (check_positive_int(c, "channels[i]") for c in channels)
    kernel = check_positive_int(kernel_size, "kernel_size")
    side = check_positive_int(image_size, "image_size", minimum=4)
    if side % 4:
        raise ValueError(f"image_size must be divisible by 4 (two halvings), got {side}")
    return c1, c2, kernel, side


# --- input checks ---------------------------------------------------------------------------


def _check_images(tensor, name):
    if not torch.is_tensor(tensor) or not tensor.is_floating_point():
        raise TypeError(f"{name} must be a float tensor, got {type(tensor).__name__} "
                        f"{getattr(tensor, 'dtype', '')}")
    if tensor.ndim != 4:
        layout = "[N, C, H, W]" if name == "x" else "[C_out, C_in, kH, kW]"
        raise ValueError(f"{name} must be 4-D {layout}, got {tensor.ndim}-D shape "
                         f"{tuple(tensor.shape)}")


def _pair(value, name, minimum):
    """``value`` (an int or a pair of ints, each ``>= minimum``) as a pair ``(rows, columns)``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2:
        raise ValueError(f"{name} must be an int or a pair (rows, columns), got {value!r}")
    return tuple(check_positive_int(v, name, minimum=minimum) for v in values)


def _output_sizes(x, kernel, stride, padding, kernel_name):
    """The output height and width, or a ``ValueError`` when the kernel does not fit."""
    height, width = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    if kernel[0] > height or kernel[1] > width:
        raise ValueError(f"{kernel_name}: the kernel {kernel[0]}x{kernel[1]} is larger than "
                         f"the padded input {height}x{width}")
    return (conv_output_size(x.shape[2], kernel[0], stride[0], padding[0]),
            conv_output_size(x.shape[3], kernel[1], stride[1], padding[1]))
