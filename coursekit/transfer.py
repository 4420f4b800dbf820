"""Transfer learning, pretraining, multi-task heads and few-shot prototypes (chapter 9).

The lecture splits a model into a universal part ``z = f(x, alpha)`` (the *encoder*) and a
task-specific part ``y = g(z, beta)`` (the *head*). This module trains such pairs:

* :func:`fine_tune` trains a new head ``g'(z, beta')`` on a target task, either alone on a
  frozen, pretrained encoder (``min over beta'``) or together with it (``min over alpha,
  beta'``);
* :class:`MultiTaskNet` shares one encoder between several heads ``g_t(z, beta_t)`` and
  minimises the weighted sum of their losses;
* :func:`prototype_predict` classifies by the nearest class mean of a few labelled codes
  (prototypical networks, Snell et al. 2017), and :func:`few_shot_accuracy` measures it on
  random N-way K-shot episodes.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.train import OPTIMIZERS, _as_model_tensor, fit
from coursekit.validation import check_matrix, check_positive_float, check_positive_int

# --- transfer: a new head on a pretrained encoder --------------------------------------------


class EncoderWithHead(nn.Module):
    """``a(x) = g(f(x))`` with the mean cross-entropy as ``loss((x, y))``.

    With ``freeze=True`` the encoder is a fixed feature extractor: it runs without gradients
    and stays in evaluation mode even while the model trains, so neither its weights nor its
    BatchNorm statistics can change.
    """

    def __init__(self, encoder, head, *, freeze=False):
        super().__init__()
        _check_module(encoder, "encoder")
        _check_module(head, "head")
        self.encoder = encoder
        self.head = head
        self.freeze = bool(freeze)

    def train(self, mode=True):
        """As ``nn.Module.train``, but a frozen encoder always stays in evaluation mode."""
        super().train(mode)
        if self.freeze:
            self.encoder.eval()
        return self

    def forward(self, x):
        """Class scores (logits) ``[n, n_classes]``; ``x`` is a tensor or an array."""
        x = _as_model_tensor(self, x, "x")
        if self.freeze:
            with torch.no_grad():
                z = self.encoder(x)
        else:
            z = self.encoder(x)
        return self.head(z)

    def loss(self, batch):
        x, y = _pair(batch, "batch")
        return F.cross_entropy(self(x), y)


def fine_tune(encoder, head, data, *, freeze=True, epochs, lr=1e-3, batch_size=128,
              optimizer="adam", device=None, progress=True, generator=None, validation=None):
    """Train ``head`` on the codes of ``encoder`` for a target task; return the history.

    ``freeze=True``: only the head learns, ``sum_i L(g'(f(x_i, alpha), beta'), y_i) -> min
    over beta'``; the encoder's tensors (weights and BatchNorm statistics) stay bit-identical.
    ``freeze=False``: both learn, ``-> min over alpha, beta'``, from the encoder's current
    weights (fine-tuning) or from a fresh encoder (training from scratch). ``data`` is a pair
    ``(X, y)`` of tensors (``y`` class indices ``[n]``) or a DataLoader of such pairs; the
    loss is the mean cross-entropy. The other arguments go to :func:`coursekit.train.fit`,
    which returns the history ``{"loss": [...]}``.
    """
    model = EncoderWithHead(encoder, head, freeze=freeze)
    lr = check_positive_float(lr, "lr")
    # The optimizer holds only what may change: a frozen encoder is not even shown to it.
    trainable = model.head if freeze else model
    return fit(model, data, epochs=epochs, batch_size=batch_size, lr=lr,
               optimizer=_optimizer(optimizer, trainable.parameters(), lr), device=device,
               progress=progress, generator=generator, validation=validation)


def _optimizer(optimizer, parameters, lr):
    """An optimizer over ``parameters``, named or built by a factory as in :func:`fit`."""
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)} or a factory, "
                             f"got {optimizer!r}")
        optimizer = OPTIMIZERS[optimizer.lower()]
    if not callable(optimizer):
        raise TypeError(f"optimizer must be a name or a factory, got {type(optimizer).__name__}")
    return optimizer(parameters, lr=lr)


# --- multi-task learning: one encoder, several heads ----------------------------------------


class MultiTaskNet(nn.Module):
    """A shared encoder ``z = f(x, alpha)`` and one head ``g_t(z, beta_t)`` per task ``t``:

    ``loss = sum_t w_t * (1/n) * sum_{i labelled for t} L_t(g_t(f(x_i)), y_ti) -> min over
    alpha, {beta_t}`` (the lecture's multi-task criterion, averaged over a batch of ``n``).

    ``heads`` is a dict ``name -> module``; ``weights`` a dict ``name -> w_t >= 0`` (missing
    names weigh 1); ``losses`` a dict ``name -> L_t(outputs, targets)`` returning per-sample
    losses ``[n]`` (default: cross-entropy, for class-index targets). A batch is ``(x, Y)``
    with ``Y`` ``[n, T]`` (column ``t`` for the ``t``-th head, in the order of ``heads``) or
    ``(x, {name: y_t})``; a class index of ``-1`` marks an object unlabelled for that task.
    """

    def __init__(self, encoder, heads, *, weights=None, losses=None):
        super().__init__()
        _check_module(encoder, "encoder")
        if not isinstance(heads, dict):
            raise TypeError(f"heads must be a dict name -> module, got {type(heads).__name__}")
        if not heads:
            raise ValueError("heads must name at least one task head, got an empty dict")
        for name, head in heads.items():
            _check_module(head, f"heads[{name!r}]")
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)
        self.weights = {name: 1.0 for name in heads} | _per_task(weights, heads, "weights")
        for name, weight in self.weights.items():
            check_positive_float(weight, f"weights[{name!r}]", allow_zero=True)
        self.losses = {name: _cross_entropy for name in heads} | _per_task(losses, heads, "losses")

    def forward(self, x):
        """The outputs of every head on the shared codes: ``{name: g_t(f(x))}``; ``x`` is a
        tensor or an array."""
        z = self.encoder(_as_model_tensor(self, x, "x"))
        return {name: head(z) for name, head in self.heads.items()}

    def loss_parts(self, batch):
        """The weighted terms ``w_t * (1/n) * sum_i L_t`` of the criterion, by task name."""
        x, targets = _multi_targets(batch, list(self.heads))
        outputs = self(x)
        parts = {}
        for name, output in outputs.items():
            y = targets[name]
            labelled = _labelled_for_task(y)
            task_loss = self.losses[name](output[labelled], y[labelled]).sum() / len(x)
            parts[name] = self.weights[name] * task_loss
        return parts

    def loss(self, batch):
        """The criterion minimised by :func:`coursekit.train.fit`: the sum of the parts."""
        return sum(self.loss_parts(batch).values())

    @torch.no_grad()
    def predict(self, x):
        """The most probable class of every head: ``{name: [n]}`` (evaluation mode)."""
        self.eval()
        return {name: output.argmax(dim=1) for name, output in self(x).items()}


def _labelled_for_task(y):
    """Objects with a target for a task: class index ``>= 0`` (``-1`` means none); real
    targets (regression) are always there."""
    if torch.is_floating_point(y):
        return torch.ones(len(y), dtype=torch.bool, device=y.device)
    return y >= 0


def _cross_entropy(logits, y):
    """Per-sample cross-entropy with class indices ``[n]`` or class probabilities ``[n, C]``."""
    return F.cross_entropy(logits, y if torch.is_floating_point(y) else y.long(),
                           reduction="none")


def _per_task(values, heads, name):
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise TypeError(f"{name} must be a dict task name -> value, got {type(values).__name__}")
    unknown = sorted(set(values) - set(heads))
    if unknown:
        raise ValueError(f"{name} names unknown heads {unknown}; the heads are {list(heads)}")
    return dict(values)


def _multi_targets(batch, names):
    """``(x, {name: y_t})`` from a batch ``(x, Y [n, T])`` or ``(x, dict)``."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError("a multi-task batch must be a pair (x, Y); train with fit(net, (X, Y))")
    x, targets = batch
    if isinstance(targets, dict):
        missing = sorted(set(names) - set(targets))
        if missing:
            raise ValueError(f"the batch has no targets for the heads {missing}")
        return x, targets
    if not torch.is_tensor(targets) or targets.ndim != 2 or targets.shape[1] != len(names):
        shape = tuple(targets.shape) if torch.is_tensor(targets) else type(targets).__name__
        raise ValueError(f"Y must be a tensor [n, {len(names)}] with one column per head "
                         f"{names}, got {shape}")
    return x, {name: targets[:, t] for t, name in enumerate(names)}


# --- few-shot learning with prototypes -------------------------------------------------------


def prototype_predict(support_z, support_y, query_z):
    """Labels of the nearest class mean: ``a(x) = argmin_c ||z(x) - mu_c||^2`` with
    ``mu_c = mean of the support codes of class c`` (Snell et al. 2017).

    ``support_z`` ``[k, d]`` and ``support_y`` ``[k]`` are the few labelled codes, ``query_z``
    ``[n, d]`` the codes to classify; returns the labels ``[n]``, taken from ``support_y``
    (ties go to the smallest label, as in scikit-learn's ``NearestCentroid``): a tensor when
    ``support_y`` is a tensor, else a NumPy array.
    """
    as_tensor = torch.is_tensor(support_y)
    support_z = check_matrix(support_z, "support_z")
    query_z = check_matrix(query_z, "query_z")
    support_y = _labels(support_y, "support_y", len(support_z))
    if query_z.shape[1] != support_z.shape[1]:
        raise ValueError(f"query_z has {query_z.shape[1]} features but support_z has "
                         f"{support_z.shape[1]}; they must match")
    classes, index = np.unique(support_y, return_inverse=True)
    prototypes = np.stack([support_z[index == c].mean(axis=0) for c in range(len(classes))])
    distances = ((query_z[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2)
    predicted = classes[distances.argmin(axis=1)]
    return torch.as_tensor(predicted) if as_tensor else predicted


def per_class_sample(y, n_per_class, *, classes=None, random_state=None):
    """Indices of ``n_per_class`` objects drawn without replacement from each class of
    ``classes`` (default: every label in ``y``), grouped class by class in the order of
    ``classes``: an array ``[len(classes) * n_per_class]``."""
    y = _labels(y, "y")
    n_per_class = check_positive_int(n_per_class, "n_per_class")
    classes = np.unique(y) if classes is None else np.asarray(classes)
    rng = np.random.default_rng(random_state)
    chosen = []
    for label in classes:
        members = np.flatnonzero(y == label)
        if len(members) < n_per_class:
            raise ValueError(f"n_per_class={n_per_class} but class {label!r} has only "
                             f"{len(members)} objects in y")
        chosen.append(rng.choice(members, n_per_class, replace=False))
    return np.concatenate(chosen)


def few_shot_accuracy(z, y, *, n_way, k_shot, n_query=15, episodes=200, random_state=None):
    """Accuracy of :func:`prototype_predict` on random N-way K-shot episodes: ``[episodes]``.

    Each episode draws ``n_way`` classes of ``y``, then ``k_shot`` support and ``n_query``
    query objects of each class (disjoint), and classifies the queries by the nearest mean of
    the support codes ``z`` ``[n, d]``.
    """
    z = check_matrix(z, "z")
    y = _labels(y, "y", len(z))
    n_way = check_positive_int(n_way, "n_way", minimum=2)
    k_shot = check_positive_int(k_shot, "k_shot")
    n_query = check_positive_int(n_query, "n_query")
    episodes = check_positive_int(episodes, "episodes")
    labels = np.unique(y)
    if n_way > len(labels):
        raise ValueError(f"n_way={n_way} but y has only {len(labels)} classes")
    rng = np.random.default_rng(random_state)
    accuracy = np.empty(episodes)
    for episode in range(episodes):
        classes = rng.choice(labels, n_way, replace=False)
        chosen = per_class_sample(y, k_shot + n_query, classes=classes, random_state=rng)
        chosen = chosen.reshape(n_way, k_shot + n_query)
        support, query = chosen[:, :k_shot].ravel(), chosen[:, k_shot:].ravel()
        predicted = prototype_predict(z[support], y[support], z[query])
        accuracy[episode] = np.mean(predicted == y[query])
    return accuracy


# --- helpers ---------------------------------------------------------------------------------


def _check_module(module, name):
    if not isinstance(module, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")


def _labels(y, name, n=None):
    """``y`` as a 1-D NumPy array of labels (of length ``n`` when given)."""
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of labels, got shape {y.shape}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} has {len(y)} labels but there are {n} objects; they must "
                         "match")
    return y


def _pair(batch, name):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"{name} must be a pair (x, y); train with fine_tune(..., (X, y))")
    x, y = batch
    return x, y.long()
