"""Distillation and learning using privileged information (lectures: "Дистилляция моделей или
суррогатное моделирование", "Обучение с использованием привилегированной информации").

Distillation: a complex teacher ``a(x, w)`` is trained first; a simple student ``b(x, w')`` is
then trained to reproduce the teacher's outputs, possibly on other (unlabelled) objects::

    sum_i L(b(x'_i, w'), a(x'_i, w)) -> min_w'

With classifiers, ``L`` compares the two softmax outputs at a raised temperature ``T``
(Hinton et al., 2015), mixed with the usual cross-entropy on the labels::

    alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)

Learning using privileged information (LUPI, Vapnik & Vashist, 2009): features ``x*`` are
known for the training objects only. A teacher trained on ``x*`` guides a student that sees
only ``x``, with the same loss ("generalized distillation", Lopez-Paz et al., 2016), or both
are trained together with an imitation weight ``mu`` (:class:`JointTeacherStudent`).

Batches are tuples of tensors: ``(x, teacher_logits, y)`` for :class:`DistilledStudent`,
``(x, x_star, y)`` for :class:`JointTeacherStudent`: :func:`coursekit.train.fit` slices a tuple
``(X, teacher_logits, y)`` or ``(X, X_star, y)`` into such batches.
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.train import _as_model_tensor
from coursekit.validation import check_positive_float

__all__ = [
    "DistilledStudent",
    "JointTeacherStudent",
    "distillation_loss",
    "imitation_loss",
    "soft_targets",
]


def soft_targets(logits, temperature):
    """The softmax at temperature ``T``: ``softmax(logits / T)`` over the last (class) axis.

    ``logits`` ``[..., C]`` (e.g. ``[n, C]``) -> probabilities of the same shape. ``T = 1`` is
    the usual softmax; a larger ``T`` flattens it towards uniform, revealing how the model ranks
    the wrong classes; ``T -> 0`` tends to the one-hot vector of the largest logit.
    """
    logits = _as_float_tensor(logits, "logits")
    if logits.ndim == 0 or logits.shape[-1] < 2:
        raise ValueError(f"logits must be [..., n_classes] with n_classes >= 2, "
                         f"got shape {tuple(logits.shape)}")
    temperature = check_positive_float(temperature, "temperature")
    return torch.softmax(logits / temperature, dim=-1)


def imitation_loss(student_logits, teacher_logits, *, temperature):
    """``T^2 * KL(softmax(t / T) || softmax(s / T))``, averaged over the batch.

    The imitation term of distillation. Its gradient with respect to the student's logits is
    ``T * (softmax(s / T) - softmax(t / T)) / n``: the ``T^2`` keeps it of the same order as
    the cross-entropy's gradient when ``T`` changes (for large ``T`` it tends to
    ``(s - t) / (C n)`` for zero-mean logits, independent of ``T``).
    Gradients flow into both arguments; detach the teacher's logits to keep it fixed.
    """
    student_logits, teacher_logits = _check_pair(student_logits, teacher_logits)
    temperature = check_positive_float(temperature, "temperature")
    log_p_student = F.log_softmax(student_logits / temperature, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits / temperature, dim=1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)
    return temperature**2 * kl.mean()


def distillation_loss(student_logits, teacher_logits, y, *, temperature, alpha):
    """Hinton et al.'s distillation loss, averaged over the batch::

        alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)

    ``student_logits`` ``s`` and ``teacher_logits`` ``t`` are ``[n, C]`` (from a teacher that
    only gives probabilities ``p``, pass ``log p``: the softmax at ``T`` is the same);
    ``y`` ``[n]`` holds class indices in ``[0, C)``, or is ``None`` when ``alpha = 1`` (pure
    imitation, e.g. on unlabelled objects). ``alpha = 0`` is plain cross-entropy on the labels.
    """
    student_logits, teacher_logits = _check_pair(student_logits, teacher_logits)
    alpha = _check_weight(alpha, "alpha")
    imitation = imitation_loss(student_logits, teacher_logits, temperature=temperature)
    if y is None:
        if alpha != 1:
            raise ValueError(f"y is None (no labels), which needs alpha = 1, got alpha = {alpha}")
        return imitation
    y = _check_labels(y, len(student_logits), student_logits.shape[1])
    return alpha * imitation + (1 - alpha) * F.cross_entropy(student_logits, y)


class DistilledStudent(nn.Module):
    """A student ``b(x, w')`` (any ``network`` returning logits ``[n, C]``) trained on batches
    ``(x, teacher_logits, y)`` by :func:`distillation_loss` at ``temperature`` and ``alpha``.

    ``alpha = 0`` trains on the labels alone (the baseline, same data, same code path);
    batches ``(x, teacher_logits)`` without labels need ``alpha = 1``. In LUPI the teacher's
    logits come from privileged features ``x*`` and the student sees ``x`` only
    (generalized distillation): the loss is the same.
    """

    def __init__(self, network, *, temperature=1.0, alpha=0.5):
        super().__init__()
        self.network = network
        self.temperature = check_positive_float(temperature, "temperature")
        self.alpha = _check_weight(alpha, "alpha")

    def forward(self, x):
        """The student's logits ``[n, C]``; ``x`` is a tensor or an array."""
        return self.network(_as_model_tensor(self, x, "x"))

    def loss(self, batch):
        x, teacher_logits, y = _unpack(batch, ("x", "teacher_logits", "y"), optional_last=True)
        return distillation_loss(self(x), teacher_logits, y,
                                 temperature=self.temperature, alpha=self.alpha)

    @torch.no_grad()
    def predict(self, x):
        """The most probable class ``[n]``."""
        return self(x).argmax(dim=1)


class JointTeacherStudent(nn.Module):
    """The lecture's joint training of a student ``a(x, w)`` and a teacher ``a*(x*, w*)``::

        sum_i CE(a(x_i), y_i) + lam * CE(a*(x*_i), y_i) + mu * L(a(x_i), a*(x*_i)) -> min_{w, w*}

    with ``L = T^2 KL`` (:func:`imitation_loss`), terms averaged over the batch. ``mu`` is the
    imitation weight (``mu = 0``: two independent models); the imitation term also moves the
    teacher, as the criterion is minimised over both. Batches are ``(x, x_star, y)``.
    """

    def __init__(self, student, teacher, *, lam=1.0, mu=1.0, temperature=1.0):
        super().__init__()
        self.student, self.teacher = student, teacher
        self.lam = check_positive_float(lam, "lam", allow_zero=True)
        self.mu = check_positive_float(mu, "mu", allow_zero=True)
        self.temperature = check_positive_float(temperature, "temperature")

    def forward(self, x):
        """The student's logits ``[n, C]`` (the teacher is not needed at test time); ``x`` is a
        tensor or an array."""
        return self.student(_as_model_tensor(self, x, "x"))

    def loss_parts(self, batch):
        x, x_star, y = _unpack(batch, ("x", "x_star", "y"))
        student_logits, teacher_logits = self.student(x), self.teacher(x_star)
        n_classes = _check_pair(student_logits, teacher_logits)[0].shape[1]
        y = _check_labels(y, len(student_logits), n_classes)
        return {
            "student": F.cross_entropy(student_logits, y),
            "teacher": self.lam * F.cross_entropy(teacher_logits, y),
            "imitation": self.mu * imitation_loss(student_logits, teacher_logits,
                                                  temperature=self.temperature),
        }

    def loss(self, batch):
        return sum(self.loss_parts(batch).values())

    @torch.no_grad()
    def predict(self, x):
        """The student's most probable class ``[n]``."""
        return self(x).argmax(dim=1)


# --- input checks -------------------------------------------------------------------------


def _as_float_tensor(values, name):
    """A tensor as it is (a float one keeps its graph), an array-like as a float64 tensor."""
    if not torch.is_tensor(values):
        try:
            values = torch.as_tensor(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be a tensor or an array of numbers: {error}") from None
    if not values.is_floating_point():
        values = values.double()
    return values


def _check_logits(logits, name):
    logits = _as_float_tensor(logits, name)
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] < 2:
        raise ValueError(f"{name} must be [n_samples, n_classes] with n_classes >= 2, "
                         f"got shape {tuple(logits.shape)}")
    return logits


def _check_pair(student_logits, teacher_logits):
    student_logits = _check_logits(student_logits, "student_logits")
    teacher_logits = _check_logits(teacher_logits, "teacher_logits")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"teacher_logits must have the shape of student_logits "
                         f"{tuple(student_logits.shape)}, got {tuple(teacher_logits.shape)}")
    return student_logits, teacher_logits


def _check_weight(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def _check_labels(y, n_samples, n_classes):
    if not torch.is_tensor(y) and isinstance(y, (list, tuple, np.ndarray)):
        y = torch.as_tensor(np.asarray(y))
    if not torch.is_tensor(y) or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must be an integer tensor of class indices, got "
                        f"{getattr(y, 'dtype', type(y).__name__)}")
    if y.shape != (n_samples,):
        raise ValueError(f"y must have shape ({n_samples},), one label per row of the logits, "
                         f"got {tuple(y.shape)}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"y must hold class indices in [0, {n_classes}), got values in "
                         f"[{y.min().item()}, {y.max().item()}]")
    return y.long()


def _unpack(batch, names, optional_last=False):
    """The tensors of a batch tuple, named ``names``; the last may be missing (``None``)."""
    wanted = f"({', '.join(names)})"
    if not isinstance(batch, (tuple, list)):
        raise TypeError(f"a batch must be a tuple {wanted}; train with fit(model, (X, ..., y))")
    if optional_last and len(batch) == len(names) - 1:
        return (*batch, None)
    if len(batch) != len(names):
        raise ValueError(f"a batch must be a tuple {wanted}, got {len(batch)} tensors")
    return tuple(batch)
