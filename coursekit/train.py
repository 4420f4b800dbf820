"""The one training loop for the course's neural models, plus seeding and device choice.

A model is a ``torch.nn.Module`` with a method ``loss(batch)`` returning a scalar tensor;
:func:`fit` does the rest (batches, optimizer, device, progress bar, history)::

    history = fit(model, X, epochs=20, lr=1e-3)      # batches are tensors X[idx]
    history = fit(model, (X, y), epochs=20)          # batches are tuples (X[idx], y[idx])
    history = fit(model, (X, t, y), epochs=20)       # any tuple of same-length tensors
    history["loss"]                                  # mean training loss per epoch
"""

import contextlib
import random

import numpy as np
import torch
from tqdm.auto import trange

from coursekit.validation import check_positive_float, check_positive_int

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
"""Optimizers :func:`fit` knows by name."""


def seed_everything(seed):
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU)."""
    seed = check_positive_int(seed, "seed", minimum=0)
    if seed >= 2**32:  # NumPy's legacy seeding accepts 32-bit seeds only
        raise ValueError(f"seed must be < 2**32, got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA on every device
    return seed


def default_device():
    """``cuda`` when a GPU is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def fit(
    model,
    data,
    *,
    epochs,
    batch_size=128,
    lr=1e-3,
    optimizer="adam",
    device=None,
    progress=True,
    validation=None,
    shuffle=True,
    generator=None,
):
    """Train ``model`` by minimising ``model.loss(batch)`` with mini-batch gradient descent.

    ``data`` (and ``validation``) is a tensor ``[N, ...]`` (batches are tensors), a pair
    ``(X, y)`` of tensors with the same length (batches are tuples ``(xb, yb)``; a longer tuple
    such as ``(X, teacher_logits, y)`` is sliced the same way) or a
    ``DataLoader`` (batches as it yields them; ``batch_size``, ``shuffle`` and ``generator``
    are then the loader's business). ``optimizer`` is ``"adam"``, ``"adamw"``, ``"sgd"``, a
    factory called as ``optimizer(model.parameters(), lr=lr)`` (an optimizer class, a
    ``functools.partial``), or a ready optimizer instance (``lr`` is then ignored).
    ``generator`` (a ``torch.Generator`` or an int seed) drives the shuffling; ``None`` uses
    torch's global generator, which :func:`seed_everything` seeds.

    The model trains on ``device`` (default: :func:`default_device`, a GPU when there is one)
    and then goes back to the device it came from, normally the CPU, in evaluation mode: code
    written for the CPU runs unchanged after ``fit`` whether or not a GPU did the training.
    A model moved to the GPU before ``fit`` stays there. Returns the history ``{"loss": [...]}``, one mean loss per
    epoch (the mean over samples of the batch losses seen during the epoch), plus
    ``"val_loss"`` (the mean loss on ``validation`` after each epoch) when it is given.
    """
    _check_model(model)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive_float(lr, "lr")
    device = resolve_device(device)
    train_batches = _batches(data, "data", batch_size, shuffle, _as_generator(generator))
    val_batches = None
    if validation is not None:
        val_batches = _batches(validation, "validation", batch_size, False, None)

    home = next(model.parameters()).device
    model.to(device)
    optimizer = _make_optimizer(optimizer, model, lr)
    history = {"loss": []} | ({"val_loss": []} if val_batches is not None else {})
    bar = trange(epochs, desc="fit", unit="epoch", disable=not progress)
    for epoch in bar:
        history["loss"].append(train_epoch(model, train_batches(), optimizer, device, epoch))
        if val_batches is not None:
            history["val_loss"].append(evaluate(model, val_batches(), device))
        bar.set_postfix({name: f"{values[-1]:.4g}" for name, values in history.items()})
    model.to(home).eval()
    return history


def gaussian_noise(shape, like, generator=None):
    """Standard normal noise of ``shape`` with ``like``'s dtype and device. ``generator``
    draws it on the generator's own device, so a seeded CPU generator serves a model on the
    GPU too (the draws are then the same on every machine)."""
    return _drawn(torch.randn, shape, like, generator)


def uniform_noise(shape, like, generator=None):
    """Uniform noise on ``[0, 1)`` of ``shape``, otherwise as :func:`gaussian_noise`."""
    return _drawn(torch.rand, shape, like, generator)


def bernoulli(probabilities, generator=None):
    """A 0/1 tensor with ``P(1) = probabilities`` (its dtype and device), drawn with
    ``generator`` as :func:`uniform_noise`."""
    uniform = uniform_noise(probabilities.shape, probabilities, generator)
    return (uniform < probabilities).to(probabilities.dtype)


def _drawn(draw, shape, like, generator):
    device = like.device if generator is None else generator.device
    return draw(shape, generator=generator, dtype=like.dtype, device=device).to(like.device)


def train_epoch(model, batches, optimizer, device, epoch=0):
    """One pass over ``batches``: a gradient step per batch. Returns the mean loss per sample."""
    model.train()
    total, count = 0.0, 0
    for number, batch in enumerate(batches):
        loss = _checked_loss(model, _to_device(batch, device), epoch, number)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        size = _n_samples(batch)
        total, count = total + loss.item() * size, count + size
    return _mean(total, count)


@torch.no_grad()
def evaluate(model, batches, device):
    """Mean loss per sample over ``batches``, in evaluation mode and without gradients."""
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        size = _n_samples(batch)
        total += model.loss(_to_device(batch, device)).item() * size
        count += size
    return _mean(total, count)


@torch.no_grad()
def predict(model, X, *, batch_size=1024):
    """``model(x)`` for every object of ``X`` ``[n, ...]``, flattened to ``[n, d]``: codes of
    an encoder, logits of a classifier or a teacher. Runs in evaluation mode, without
    gradients, ``batch_size`` objects at a time on the device of the model's parameters;
    restores the model's training mode and returns a float tensor on the CPU."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    batch_size = check_positive_int(batch_size, "batch_size")
    parameter = next(model.parameters(), None)  # a parameter-free model, e.g. nn.Flatten()
    device = torch.device("cpu") if parameter is None else parameter.device
    was_training = model.training
    model.eval()
    outputs = [model(part.to(device)).cpu() for part in torch.as_tensor(X).split(batch_size)]
    model.train(was_training)
    return torch.cat(outputs).reshape(len(X), -1)


def accuracy(model, X, y, *, batch_size=1024):
    """Share of objects whose largest score ``model(x)`` is at their class index ``y``."""
    scores = predict(model, X, batch_size=batch_size)
    y = torch.as_tensor(y)
    if y.shape != (len(scores),) or y.dtype.is_floating_point:
        raise ValueError(f"y must hold {len(scores)} class indices (one per object of X), "
                         f"got shape {tuple(y.shape)} of {y.dtype}")
    return (scores.argmax(dim=1) == y).float().mean().item()


# --- helpers: validation, batching, devices ----------------------------------------------


def _check_model(model):
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(getattr(model, "loss", None)):
        raise TypeError(
            f"model ({type(model).__name__}) must have a method loss(batch) returning "
            "a scalar tensor"
        )
    if not any(parameter.requires_grad for parameter in model.parameters()):
        raise ValueError(f"model ({type(model).__name__}) has no trainable parameters")


def _checked_loss(model, batch, epoch, number):
    """``model.loss(batch)``, or a clear error if it is not a finite scalar with a gradient."""
    loss = model.loss(batch)
    where = f"at epoch {epoch + 1}, batch {number + 1}"
    if not torch.is_tensor(loss) or loss.ndim != 0:
        shape = tuple(loss.shape) if torch.is_tensor(loss) else type(loss).__name__
        raise ValueError(f"model.loss(batch) must return a scalar tensor, got {shape} {where}")
    if not torch.isfinite(loss):
        raise ValueError(f"the loss became {loss.item()} {where}; try a smaller lr")
    if not loss.requires_grad:
        raise ValueError(f"model.loss(batch) does not depend on any trainable parameter {where}")
    return loss


def _batches(data, name, batch_size, shuffle, generator):
    """A function returning a fresh iterator over the batches of ``data`` (one per epoch)."""
    if isinstance(data, torch.utils.data.DataLoader):
        return lambda: iter(data)
    tensors = _check_tensors(data, name)

    def batches():
        n = len(tensors[0])
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for index in order.split(batch_size):
            parts = tuple(tensor[index.to(tensor.device)] for tensor in tensors)
            yield parts[0] if torch.is_tensor(data) else parts

    return batches


def _check_tensors(data, name):
    """``data`` as a tuple of tensors of the same non-zero length, or a clear error."""
    tensors = (data,) if torch.is_tensor(data) else data
    if not isinstance(tensors, (tuple, list)) or not all(torch.is_tensor(t) for t in tensors):
        raise TypeError(
            f"{name} must be a tensor, a pair (X, y) of tensors or a DataLoader, got "
            f"{type(data).__name__} (convert arrays with torch.as_tensor(X, dtype=torch.float32))"
        )
    if not tensors:
        raise ValueError(f"{name} must hold at least one tensor, got an empty {type(data).__name__}")
    if any(t.ndim == 0 for t in tensors):
        raise ValueError(f"{name} must have a first (sample) dimension, got a 0-d tensor")
    lengths = [len(t) for t in tensors]
    if len(set(lengths)) > 1:
        raise ValueError(f"{name}: its tensors must have the same length, got {lengths}")
    if lengths[0] == 0:
        raise ValueError(f"{name} must not be empty")
    return tuple(tensors)


def _mean(total, count):
    if count == 0:
        raise ValueError("the data yielded no batches")
    return total / count


def _n_samples(batch):
    """The number of samples in a batch: the length of its first tensor."""
    while not torch.is_tensor(batch):
        batch = next(iter(batch.values())) if isinstance(batch, dict) else batch[0]
    return len(batch) if batch.ndim else 1


def _to_device(batch, device):
    """Move a tensor, or the tensors inside a tuple, list or dict, to ``device``."""
    if torch.is_tensor(batch):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: _to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(item, device) for item in batch)
    return batch


def resolve_device(device):
    """``device`` as a ``torch.device``: ``None`` is :func:`default_device`; a CUDA device
    without a GPU, or anything torch cannot parse, raises a ``ValueError`` naming it."""
    if device is None:
        return default_device()
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be like 'cpu' or 'cuda', got {device!r}: {error}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device is {str(device)!r} but CUDA is not available here")
    return device


def _as_generator(generator, name="generator", *, default=None):
    """A ``torch.Generator`` as it is, a new CPU generator seeded with the int ``generator``, or
    ``default`` for ``None`` (a model's own ``random_state``); an error naming ``name``
    otherwise."""
    if generator is None:
        return default
    if isinstance(generator, torch.Generator):
        return generator
    return torch.Generator().manual_seed(check_positive_int(generator, name, minimum=0))


@contextlib.contextmanager
def _seeded_weights(random_state):
    """Layers built inside this block draw their initial weights from ``random_state``
    without touching torch's global generator: an int seeds them as ``torch.manual_seed``
    would, a ``torch.Generator`` gives the seed (one draw from it), ``None`` leaves them to
    torch's global generator. A bad value raises an error naming ``random_state``."""
    generator = _as_generator(random_state, "random_state")
    if generator is None:
        yield
        return
    if random_state is generator:
        seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
    else:
        seed = random_state
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _as_float_tensor(value, name, like):
    """``value`` (a tensor or an array-like of numbers) as a tensor with the dtype and device
    of the tensor ``like``; anything else (a string, ``None``) is a ``TypeError`` naming
    ``name``."""
    if torch.is_tensor(value):
        return value.to(dtype=like.dtype, device=like.device)
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array or tensor of numbers, got "
                        f"{type(value).__name__}")
    try:
        array = np.array(value, dtype=np.float64)  # a copy: reversed views are fine too
        return torch.as_tensor(array, dtype=like.dtype, device=like.device)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} must be an array or tensor of numbers: {error}") from None


def _as_model_tensor(model, x, name):
    """An array ``x`` as a float tensor on ``model``'s device with its parameters' dtype; a
    tensor ``x`` as it is (its checks are the model's). Strings and ``None``: ``TypeError``."""
    if torch.is_tensor(x):
        return x
    like = next(model.parameters(), None)
    if like is None:
        like = torch.empty(0)
    return _as_float_tensor(x, name, like)


def _make_optimizer(optimizer, model, lr):
    if isinstance(optimizer, torch.optim.Optimizer):
        ours = {id(p) for p in model.parameters()}
        if not any(id(p) in ours for group in optimizer.param_groups for p in group["params"]):
            raise ValueError("optimizer does not hold any of the model's parameters")
        return optimizer
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, a factory or an "
                f"optimizer instance, got {optimizer!r}"
            )
        return OPTIMIZERS[optimizer.lower()](model.parameters(), lr=lr)
    if callable(optimizer):
        return optimizer(model.parameters(), lr=lr)
    raise TypeError(
        f"optimizer must be a name, a factory or an optimizer instance, "
        f"got {type(optimizer).__name__}"
    )
