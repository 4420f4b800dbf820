"""The fully connected network (multilayer perceptron, многослойный персептрон) that the
models of Parts II and III are built from: encoders, decoders, heads, small generators."""

import itertools

from torch import nn

from coursekit.train import _seeded_weights
from coursekit.validation import check_positive_int

__all__ = ["mlp"]


def mlp(sizes, activation=nn.ReLU, final=None, *, random_state=None):
    """A fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Every layer but the last is ``Linear`` followed by ``activation()``; the last is followed
    by ``final()`` when ``final`` is given (e.g. ``nn.Sigmoid`` for pixels in [0, 1], or the
    ``activation`` itself for a hidden block). Inputs ``[n, ...]`` are flattened to
    ``[n, sizes[0]]`` first. ``random_state`` (None, an int, or a ``torch.Generator``) seeds
    the initial weights without touching torch's global generator; ``None`` uses it.
    """
    sizes = [check_positive_int(size, "sizes[i]") for size in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, got {sizes}")
    layers = [nn.Flatten()]
    with _seeded_weights(random_state):
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(activation())
    if final is not None:
        layers.append(final())
    return nn.Sequential(*layers)
