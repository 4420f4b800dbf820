"""coursekit.distillation against formulas written independently in NumPy/SciPy, against
autograd and finite differences, on a small training task, and against bad input.

Loss values are compared in float64 (tolerance 1e-10: a few dozen float64 operations on
O(1) numbers); training tests use float32 and state their margin at each assert.
"""

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from torch import nn

from coursekit.blocks import mlp
from coursekit.distillation import (
    DistilledStudent,
    JointTeacherStudent,
    distillation_loss,
    imitation_loss,
    soft_targets,
)
from coursekit.train import fit, predict, seed_everything

TEMPERATURES = [0.5, 1.0, 2.0, 5.0, 20.0]
ALPHAS = [0.0, 0.3, 0.7, 1.0]


def logits_pair(n=7, n_classes=5, seed=0):
    """Random student logits, teacher logits [n, C] (float64) and labels [n]."""
    rng = np.random.default_rng(seed)
    student = rng.normal(scale=2.0, size=(n, n_classes))
    teacher = rng.normal(scale=3.0, size=(n, n_classes))
    y = rng.integers(0, n_classes, size=n)
    return student, teacher, y


def reference_distillation_loss(s, t, y, temperature, alpha):
    """alpha T^2 KL(p_t || p_s) + (1 - alpha) CE(s, y), batch mean, with SciPy only."""
    p_teacher = scipy.special.softmax(t / temperature, axis=1)
    p_student = scipy.special.softmax(s / temperature, axis=1)
    kl = np.mean([scipy.stats.entropy(pt, ps) for pt, ps in zip(p_teacher, p_student)])
    cross_entropy = log_loss(y, scipy.special.softmax(s, axis=1), labels=range(s.shape[1]))
    return alpha * temperature**2 * kl + (1 - alpha) * cross_entropy


# --- soft targets -----------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_soft_targets_equal_scipy_softmax_of_scaled_logits(temperature):
    logits, _, _ = logits_pair()
    expected = scipy.special.softmax(logits / temperature, axis=1)
    got = soft_targets(torch.as_tensor(logits), temperature).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("temperature", [0.01, 1.0, 100.0])
def test_soft_targets_sum_to_one(temperature):
    logits = torch.randn(50, 10, dtype=torch.float64) * 5
    sums = soft_targets(logits, temperature).sum(dim=1)
    np.testing.assert_allclose(sums.numpy(), 1.0, rtol=0, atol=1e-12)


def test_soft_targets_tend_to_one_hot_as_temperature_goes_to_zero():
    logits = torch.tensor([[1.0, 3.0, 2.5, -1.0]], dtype=torch.float64)
    one_hot = np.array([[0.0, 1.0, 0.0, 0.0]])
    # the gap between the two largest logits is 0.5: at T = 0.01 the runner-up has e^-50
    np.testing.assert_allclose(soft_targets(logits, 0.01).numpy(), one_hot, atol=1e-20)
    gaps = [np.abs(soft_targets(logits, t).numpy() - one_hot).max() for t in (1.0, 0.3, 0.1)]
    assert gaps[0] > gaps[1] > gaps[2]


def test_soft_targets_tend_to_uniform_as_temperature_grows():
    logits = torch.tensor([[1.0, 3.0, 2.5, -1.0]], dtype=torch.float64)
    # softmax(z / T) = 1/C + O(1/T): at T = 1e6 the entries differ from 1/4 by ~1e-6
    np.testing.assert_allclose(soft_targets(logits, 1e6).numpy(), 0.25, atol=1e-5)
    spread = [np.ptp(soft_targets(logits, t).numpy()) for t in (1.0, 10.0, 100.0)]
    assert spread[0] > spread[1] > spread[2]


def test_soft_targets_take_one_vector_or_an_array():
    logits = np.array([0.5, -1.0, 2.0])
    expected = scipy.special.softmax(logits / 3.0)
    np.testing.assert_allclose(soft_targets(torch.as_tensor(logits), 3.0).numpy(), expected,
                               atol=1e-12)
    np.testing.assert_allclose(soft_targets(logits, 3.0).numpy(), expected, atol=1e-12)


def test_soft_targets_keep_the_order_of_the_logits():
    logits = torch.tensor([[0.2, -1.0, 4.0, 1.5]], dtype=torch.float64)
    for temperature in TEMPERATURES:
        order = soft_targets(logits, temperature).argsort(dim=1)
        assert order.tolist() == logits.argsort(dim=1).tolist()


# --- the distillation loss ----------------------------------------------------------------


@pytest.mark.parametrize("temperature", TEMPERATURES)
@pytest.mark.parametrize("alpha", ALPHAS)
def test_distillation_loss_equals_its_formula(temperature, alpha):
    s, t, y = logits_pair()
    got = distillation_loss(torch.as_tensor(s), torch.as_tensor(t), torch.as_tensor(y),
                            temperature=temperature, alpha=alpha)
    expected = reference_distillation_loss(s, t, y, temperature, alpha)
    assert got.item() == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_distillation_loss_accepts_numpy_arrays():
    s, t, y = logits_pair()
    got = distillation_loss(s, t, y, temperature=2.0, alpha=0.4)
    assert got.item() == pytest.approx(reference_distillation_loss(s, t, y, 2.0, 0.4), rel=1e-10)


def test_alpha_zero_is_cross_entropy_with_the_labels_whatever_the_teacher():
    s, t, y = logits_pair()
    expected = log_loss(y, scipy.special.softmax(s, axis=1), labels=range(5))
    for teacher in (t, -t, np.zeros_like(t)):
        got = distillation_loss(torch.as_tensor(s), torch.as_tensor(teacher),
                                torch.as_tensor(y), temperature=3.0, alpha=0.0)
        assert got.item() == pytest.approx(expected, rel=1e-12)


def test_alpha_one_ignores_the_labels():
    s, t, y = logits_pair()
    losses = {distillation_loss(torch.as_tensor(s), torch.as_tensor(t), labels,
                                temperature=2.0, alpha=1.0).item()
              for labels in (torch.as_tensor(y), torch.as_tensor((y + 1) % 5), None)}
    assert len(losses) == 1


def test_imitation_term_is_zero_when_the_student_copies_the_teacher():
    _, t, _ = logits_pair()
    t = torch.as_tensor(t)
    assert imitation_loss(t.clone(), t, temperature=4.0).item() == pytest.approx(0, abs=1e-12)
    # softmax ignores a constant shift of the logits, so the shifted copy is also perfect
    assert imitation_loss(t + 7.0, t, temperature=4.0).item() == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_gradient_wrt_student_logits_is_alpha_t_times_probability_difference(temperature):
    s, t, y = logits_pair()
    alpha, n = 0.6, len(s)
    student = torch.tensor(s, requires_grad=True)
    distillation_loss(student, torch.as_tensor(t), torch.as_tensor(y),
                      temperature=temperature, alpha=alpha).backward()
    p_s = scipy.special.softmax(s / temperature, axis=1)
    p_t = scipy.special.softmax(t / temperature, axis=1)
    # d/ds of alpha T^2 KL = alpha T^2 (p_s - p_t) / T; of (1 - alpha) CE = (softmax(s) - 1_y)
    expected = alpha * temperature * (p_s - p_t)
    expected += (1 - alpha) * (scipy.special.softmax(s, axis=1) - np.eye(5)[y])
    np.testing.assert_allclose(student.grad.numpy(), expected / n, rtol=1e-10, atol=1e-14)


def test_gradient_agrees_with_finite_differences():
    s, t, y = logits_pair(n=4, n_classes=3)
    student = torch.tensor(s, requires_grad=True)
    teacher = torch.tensor(t, requires_grad=True)  # the teacher's gradient is checked too
    labels = torch.as_tensor(y)
    assert torch.autograd.gradcheck(
        lambda a, b: distillation_loss(a, b, labels, temperature=2.5, alpha=0.4),
        (student, teacher), eps=1e-6, atol=1e-7)


def test_t_squared_keeps_the_imitation_gradient_of_the_same_order_as_t_grows():
    """Hinton et al.: for large T the gradient tends to (s - t) / (C n) for zero-mean logits,
    the same for every T; without the T^2 factor it would shrink like 1 / T^2."""
    s, t, _ = logits_pair(n=6, n_classes=4)
    s, t = s - s.mean(axis=1, keepdims=True), t - t.mean(axis=1, keepdims=True)
    limit = (s - t) / (4 * len(s))
    norms = []
    for temperature in (10.0, 100.0, 1000.0):
        student = torch.tensor(s, requires_grad=True)
        imitation_loss(student, torch.as_tensor(t), temperature=temperature).backward()
        norms.append(np.linalg.norm(student.grad.numpy()))
        # the error of the high-temperature limit is O(|z| / T) relative: 10% at T = 100
        if temperature >= 100:
            np.testing.assert_allclose(student.grad.numpy(), limit,
                                       atol=0.1 * np.abs(limit).max() * 100 / temperature)
    assert max(norms) / min(norms) < 1.5  # the same order, while 1/T^2 spans a factor 10^4


# --- the models -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits in [0, 1]: X float32 [1797, 64], y int64 [1797]."""
    data = load_digits()
    return (torch.as_tensor(data.data / 16.0, dtype=torch.float32),
            torch.as_tensor(data.target, dtype=torch.int64))


def test_student_loss_is_the_distillation_loss_of_its_batch(digits):
    X, y = digits
    student = DistilledStudent(mlp([64, 10]), temperature=3.0, alpha=0.25)
    teacher_logits = torch.randn(len(X), 10)
    with torch.no_grad():
        expected = distillation_loss(student(X), teacher_logits, y, temperature=3.0, alpha=0.25)
        assert student.loss((X, teacher_logits, y)).item() == pytest.approx(expected.item())


def test_distilled_student_learns_to_reproduce_its_teacher(digits):
    """A linear student distilled (alpha = 1, no labels) from a linear teacher of the same
    shape can copy it exactly; after training it agrees on almost every digit."""
    X, _ = digits
    seed_everything(0)
    teacher = mlp([64, 10])  # an arbitrary (untrained) teacher: the labels cannot help
    teacher_logits = predict(teacher, X)
    student = DistilledStudent(mlp([64, 10]), temperature=2.0, alpha=1.0)
    agreement = (student.predict(X) == teacher_logits.argmax(1)).float().mean().item()
    assert agreement < 0.5  # before training: a different random linear map
    fit(student, (X, teacher_logits), epochs=30, lr=1e-2, generator=0, progress=False)
    agreement = (student.predict(X) == teacher_logits.argmax(1)).float().mean().item()
    assert agreement > 0.95  # 0.98 here; chance level is about 0.1


def test_student_without_teacher_weight_learns_the_labels(digits):
    X, y = digits
    seed_everything(0)
    student = DistilledStudent(mlp([64, 10]), temperature=2.0, alpha=0.0)
    fit(student, (X, torch.zeros(len(X), 10), y), epochs=30, lr=1e-2, generator=0,
        progress=False)
    assert (student.predict(X) == y).float().mean().item() > 0.95  # typical 0.98-0.99


def test_joint_loss_parts_equal_the_lecture_formula():
    s, t, y = logits_pair(n=6, n_classes=3)
    x, x_star = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    student = nn.Linear(4, 3).double()
    teacher = nn.Linear(2, 3).double()
    model = JointTeacherStudent(student, teacher, lam=0.7, mu=2.0, temperature=3.0)
    parts = model.loss_parts((x, x_star, torch.as_tensor(y)))
    with torch.no_grad():
        s, t = student(x).numpy(), teacher(x_star).numpy()

    def ce(logits):
        return log_loss(y, scipy.special.softmax(logits, axis=1), labels=range(3))

    p_t, p_s = scipy.special.softmax(t / 3, axis=1), scipy.special.softmax(s / 3, axis=1)
    kl = np.mean([scipy.stats.entropy(a, b) for a, b in zip(p_t, p_s)])
    assert parts["student"].item() == pytest.approx(ce(s), rel=1e-10)
    assert parts["teacher"].item() == pytest.approx(0.7 * ce(t), rel=1e-10)
    assert parts["imitation"].item() == pytest.approx(2.0 * 9 * kl, rel=1e-10)
    assert model.loss((x, x_star, torch.as_tensor(y))).item() == pytest.approx(
        ce(s) + 0.7 * ce(t) + 18 * kl, rel=1e-10)


def test_joint_training_with_mu_zero_trains_two_independent_models(digits):
    """With mu = 0 the student's gradient is that of its own cross-entropy alone."""
    X, y = digits
    student, teacher = mlp([64, 10]), mlp([32, 10])
    model = JointTeacherStudent(student, teacher, lam=1.0, mu=0.0)
    model.loss((X[:50], X[:50, :32], y[:50])).backward()
    joint_grad = student[1].weight.grad.clone()
    student.zero_grad()
    nn.functional.cross_entropy(student(X[:50]), y[:50]).backward()
    torch.testing.assert_close(joint_grad, student[1].weight.grad)


def test_joint_imitation_term_moves_the_teacher_too():
    student, teacher = nn.Linear(4, 3), nn.Linear(2, 3)
    model = JointTeacherStudent(student, teacher, lam=0.0, mu=1.0)
    model.loss((torch.randn(8, 4), torch.randn(8, 2), torch.randint(0, 3, (8,)))).backward()
    assert teacher.weight.grad.abs().sum() > 0


def valid():
    s, t, y = logits_pair()
    return torch.as_tensor(s), torch.as_tensor(t), torch.as_tensor(y)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("inf"), float("nan")])
def test_non_positive_temperature_is_rejected(temperature):
    s, t, y = valid()
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(s, t, y, temperature=temperature, alpha=0.5)
    with pytest.raises(ValueError, match="temperature"):
        soft_targets(s, temperature)
    with pytest.raises(ValueError, match="temperature"):
        DistilledStudent(nn.Linear(2, 2), temperature=temperature)


@pytest.mark.parametrize("alpha", [-0.1, 1.5])
def test_alpha_outside_zero_one_is_rejected(alpha):
    s, t, y = valid()
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(s, t, y, temperature=1.0, alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        DistilledStudent(nn.Linear(2, 2), alpha=alpha)


def test_logits_of_different_shapes_are_rejected():
    s, t, y = valid()
    with pytest.raises(ValueError, match="teacher_logits"):
        distillation_loss(s, t[:, :4], y, temperature=1.0, alpha=0.5)
    with pytest.raises(ValueError, match="teacher_logits"):
        distillation_loss(s, t[:5], y, temperature=1.0, alpha=0.5)
    with pytest.raises(ValueError, match="student_logits"):
        distillation_loss(s[0], t, y, temperature=1.0, alpha=0.5)


def test_labels_of_the_wrong_length_are_rejected():
    s, t, y = valid()
    with pytest.raises(ValueError, match="y must have shape"):
        distillation_loss(s, t, y[:-1], temperature=1.0, alpha=0.5)


@pytest.mark.parametrize("bad", [-1, 5])
def test_labels_out_of_range_are_rejected(bad):
    s, t, y = valid()
    y[0] = bad
    with pytest.raises(ValueError, match=r"y must hold class indices in \[0, 5\)"):
        distillation_loss(s, t, y, temperature=1.0, alpha=0.5)


def test_float_labels_are_rejected():
    s, t, y = valid()
    with pytest.raises(TypeError, match="y must be an integer tensor"):
        distillation_loss(s, t, y.double(), temperature=1.0, alpha=0.5)


def test_missing_labels_need_alpha_one():
    s, t, _ = valid()
    with pytest.raises(ValueError, match="alpha = 1"):
        distillation_loss(s, t, None, temperature=1.0, alpha=0.5)


def test_joint_model_rejects_negative_weights():
    with pytest.raises(ValueError, match="mu"):
        JointTeacherStudent(nn.Linear(2, 2), nn.Linear(2, 2), mu=-1.0)
    with pytest.raises(ValueError, match="lam"):
        JointTeacherStudent(nn.Linear(2, 2), nn.Linear(2, 2), lam=-0.5)


def test_batches_of_the_wrong_form_are_rejected():
    student = DistilledStudent(nn.Linear(2, 3))
    with pytest.raises(TypeError, match="x, teacher_logits, y"):
        student.loss(torch.randn(4, 2))
    with pytest.raises(ValueError, match="x, teacher_logits, y"):
        student.loss((torch.randn(4, 2),))
