"""coursekit.transfer against scikit-learn, SciPy, torch.nn.functional, plain loops and bad input.

Equalities of weights are exact (``torch.equal``: a frozen tensor must not move by one ulp);
losses are compared in float64 with tolerance 1e-12 (a handful of float64 operations on O(1)
numbers).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.neighbors import NearestCentroid
from torch import nn

from coursekit.blocks import conv_encoder
from coursekit.train import fit, seed_everything
from coursekit.transfer import (
    EncoderWithHead,
    MultiTaskNet,
    few_shot_accuracy,
    fine_tune,
    per_class_sample,
    prototype_predict,
)


def toy_task(n=64, d=6, n_classes=3, seed=0):
    """Inputs ``[n, d]`` and labels that depend on them (so training has something to do)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return x, y % n_classes


def encoder_with_batchnorm(d=6, code=5):
    return nn.Sequential(nn.Linear(d, code), nn.BatchNorm1d(code), nn.ReLU())


def snapshot(module):
    return {name: tensor.clone() for name, tensor in module.state_dict().items()}


def same_state(module, saved):
    state = module.state_dict()
    return state.keys() == saved.keys() and all(torch.equal(state[k], saved[k]) for k in saved)


# --- fine_tune ---------------------------------------------------------------------------


def test_frozen_fine_tune_leaves_every_encoder_tensor_bit_identical():
    seed_everything(0)
    encoder, head = encoder_with_batchnorm(), nn.Linear(5, 3)
    before = snapshot(encoder)  # weights, BatchNorm running mean/var and batch count
    fine_tune(encoder, head, toy_task(), freeze=True, epochs=3, batch_size=16, progress=False)
    assert same_state(encoder, before)


def test_frozen_fine_tune_trains_the_head():
    seed_everything(0)
    encoder, head = encoder_with_batchnorm(), nn.Linear(5, 3)
    head_before = snapshot(head)
    history = fine_tune(encoder, head, toy_task(), freeze=True, epochs=20, batch_size=16,
                        lr=1e-2, progress=False)
    assert not same_state(head, head_before)
    assert history["loss"][-1] < history["loss"][0]  # 20 Adam epochs on a separable toy task


def test_frozen_fine_tune_leaves_a_conv_encoder_unchanged():
    seed_everything(0)
    encoder = conv_encoder(8)
    before = snapshot(encoder)
    images = torch.rand(20, 28, 28)
    fine_tune(encoder, nn.Linear(8, 2), (images, torch.arange(20) % 2), epochs=2,
              batch_size=8, progress=False)
    assert same_state(encoder, before)


def test_unfrozen_fine_tune_changes_the_encoder_and_its_batchnorm_statistics():
    seed_everything(0)
    encoder, head = encoder_with_batchnorm(), nn.Linear(5, 3)
    before = snapshot(encoder)
    fine_tune(encoder, head, toy_task(), freeze=False, epochs=2, batch_size=16, progress=False)
    after = encoder.state_dict()
    for name in ("0.weight", "1.running_mean", "1.running_var"):
        assert not torch.equal(after[name], before[name]), name


def test_frozen_fine_tune_equals_training_the_head_on_fixed_features():
    # Reference: the same head, initial weights and batches, trained by fit on f(x) directly.
    x, y = toy_task()
    seed_everything(0)
    encoder, head = encoder_with_batchnorm(), nn.Linear(5, 3)
    reference = nn.Linear(5, 3)
    reference.load_state_dict(head.state_dict())
    with torch.no_grad():
        z = encoder.eval()(x)

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = reference

        def loss(self, batch):
            return F.cross_entropy(self.head(batch[0]), batch[1])

    fine_tune(encoder, head, (x, y), epochs=3, batch_size=16, progress=False, generator=7)
    fit(Head(), (z, y), epochs=3, batch_size=16, progress=False, generator=7)
    for ours, theirs in zip(head.parameters(), reference.parameters()):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)  # float32 roundoff


def test_encoder_with_head_keeps_a_frozen_encoder_in_eval_mode():
    model = EncoderWithHead(encoder_with_batchnorm(), nn.Linear(5, 3), freeze=True).train()
    assert model.head.training and not model.encoder.training


def test_encoder_with_head_loss_is_torch_cross_entropy():
    x, y = toy_task()
    encoder, head = encoder_with_batchnorm().eval(), nn.Linear(5, 3)
    model = EncoderWithHead(encoder, head).eval()
    torch.testing.assert_close(model.loss((x, y)), F.cross_entropy(head(encoder(x)), y))


def test_fine_tune_rejects_a_non_module_encoder():
    with pytest.raises(TypeError, match="encoder"):
        fine_tune(lambda x: x, nn.Linear(6, 3), toy_task(), epochs=1, progress=False)


def test_fine_tune_rejects_a_bad_lr_and_an_unknown_optimizer():
    with pytest.raises(ValueError, match="lr"):
        fine_tune(nn.Linear(6, 5), nn.Linear(5, 3), toy_task(), epochs=1, lr=-1.0)
    with pytest.raises(ValueError, match="optimizer"):
        fine_tune(nn.Linear(6, 5), nn.Linear(5, 3), toy_task(), epochs=1, optimizer="lbfgs")


# --- MultiTaskNet --------------------------------------------------------------------------


def three_task_net(weights=None):
    seed_everything(1)
    heads = {"a": nn.Linear(4, 3), "b": nn.Linear(4, 2), "c": nn.Linear(4, 5)}
    return MultiTaskNet(nn.Sequential(nn.Linear(6, 4), nn.Tanh()), heads,
                        weights=weights).double()


def test_multitask_forward_returns_every_head_on_the_shared_codes():
    net = three_task_net()
    x = torch.randn(7, 6, dtype=torch.float64)
    outputs = net(x)
    z = net.encoder(x)
    assert list(outputs) == ["a", "b", "c"]
    for name, head in net.heads.items():
        torch.testing.assert_close(outputs[name], head(z), rtol=0, atol=0)


def test_multitask_loss_is_the_weighted_sum_of_cross_entropies():
    weights = {"a": 0.5, "b": 2.0, "c": 0.0}
    net = three_task_net(weights)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(9, 6, generator=generator, dtype=torch.float64)
    Y = torch.stack([torch.randint(0, k, (9,), generator=generator) for k in (3, 2, 5)], 1)
    z = torch.tanh(x @ net.encoder[0].weight.T + net.encoder[0].bias)  # the encoder by hand
    expected = sum(w * F.cross_entropy(z @ net.heads[t].weight.T + net.heads[t].bias, Y[:, i])
                   for i, (t, w) in enumerate(weights.items()))
    torch.testing.assert_close(net.loss((x, Y)), expected, rtol=0, atol=1e-12)


def test_multitask_loss_accepts_targets_by_name():
    net = three_task_net({"b": 3.0})
    x = torch.randn(5, 6, dtype=torch.float64)
    Y = torch.stack([torch.tensor([0, 1, 2, 0, 1]), torch.tensor([1, 0, 1, 1, 0]),
                     torch.tensor([4, 3, 0, 1, 2])], 1)
    by_name = {"c": Y[:, 2], "a": Y[:, 0], "b": Y[:, 1]}
    torch.testing.assert_close(net.loss((x, by_name)), net.loss((x, Y)), rtol=0, atol=0)


def test_multitask_loss_skips_objects_unlabelled_for_a_task():
    # Lecture: sum over t of sum over i in X_t; -1 marks an object outside X_t. Each sum is
    # divided by the batch size n, so unlabelled objects add nothing.
    net = three_task_net()
    x = torch.randn(6, 6, dtype=torch.float64)
    Y = torch.tensor([[0, 1, 4], [-1, 0, 3], [2, -1, -1], [1, 1, 0], [-1, -1, 2], [0, 0, 1]])
    outputs = net(x)
    expected = 0.0
    for t, name in enumerate(net.heads):
        for i in range(len(x)):  # a plain loop over objects
            if Y[i, t] >= 0:
                expected = expected + F.cross_entropy(outputs[name][i:i + 1], Y[i:i + 1, t])
    torch.testing.assert_close(net.loss((x, Y)), expected / len(x), rtol=0, atol=1e-12)


def test_multitask_net_trains_with_fit_on_both_tasks():
    seed_everything(0)
    x, y = toy_task(n=128)
    Y = torch.stack([y, (x[:, 2] > 0).long()], 1)
    net = MultiTaskNet(nn.Sequential(nn.Linear(6, 16), nn.ReLU()),
                       {"first": nn.Linear(16, 3), "second": nn.Linear(16, 2)})
    history = fit(net, (x, Y), epochs=40, batch_size=32, lr=1e-2, progress=False)
    predicted = net.predict(x)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    # both tasks are thresholds of single inputs: 40 epochs fit them far above chance
    assert (predicted["first"] == y).float().mean() > 0.8
    assert (predicted["second"] == Y[:, 1]).float().mean() > 0.8


def test_multitask_rejects_unknown_head_names_in_weights():
    with pytest.raises(ValueError, match=r"weights.*\['z'\]"):
        three_task_net({"a": 1.0, "z": 2.0})


def test_multitask_rejects_negative_weights():
    with pytest.raises(ValueError, match=r"weights\['b'\]"):
        three_task_net({"b": -0.5})


def test_multitask_rejects_empty_heads_and_non_module_heads():
    with pytest.raises(ValueError, match="heads"):
        MultiTaskNet(nn.Linear(6, 4), {})
    with pytest.raises(TypeError, match=r"heads\['a'\]"):
        MultiTaskNet(nn.Linear(6, 4), {"a": "not a module"})


def test_multitask_rejects_targets_without_one_column_per_head():
    net = three_task_net()
    with pytest.raises(ValueError, match="Y"):
        net.loss((torch.randn(4, 6, dtype=torch.float64), torch.zeros(4, 2, dtype=torch.long)))
    with pytest.raises(ValueError, match="'c'"):
        net.loss((torch.randn(4, 6, dtype=torch.float64),
                  {"a": torch.zeros(4, dtype=torch.long), "b": torch.zeros(4, dtype=torch.long)}))


# --- prototypes and few-shot episodes -------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prototype_predict_equals_sklearn_nearest_centroid(seed):
    rng = np.random.default_rng(seed)
    support_z = rng.normal(size=(40, 7))
    support_y = rng.choice([3, 5, 8, 11], size=40)
    query_z = rng.normal(size=(200, 7))
    expected = NearestCentroid().fit(support_z, support_y).predict(query_z)
    np.testing.assert_array_equal(prototype_predict(support_z, support_y, query_z), expected)


def test_prototype_predict_accepts_torch_tensors_and_string_labels():
    support_z = torch.tensor([[0.0, 0.0], [0.0, 2.0], [10.0, 10.0]])
    query_z = torch.tensor([[0.1, 0.9], [9.0, 9.0]])
    predicted = prototype_predict(support_z, ["cat", "cat", "dog"], query_z)
    assert list(predicted) == ["cat", "dog"]


def test_prototype_predict_returns_a_tensor_for_tensor_labels():
    support_z = torch.tensor([[0.0], [1.0], [5.0], [6.0]])
    predicted = prototype_predict(support_z, torch.tensor([7, 7, 9, 9]),
                                  torch.tensor([[0.2], [5.9]]))
    assert torch.equal(predicted, torch.tensor([7, 9]))


def test_multitask_loss_accepts_class_probabilities_as_targets():
    net = three_task_net()
    x = torch.randn(4, 6, dtype=torch.float64)
    hard = {"a": torch.tensor([0, 2, 1, 0]), "b": torch.tensor([1, 1, 0, 0]),
            "c": torch.tensor([4, 0, 3, 2])}
    soft = {"a": F.one_hot(hard["a"], 3).double(), "b": hard["b"], "c": hard["c"]}
    torch.testing.assert_close(net.loss((x, soft)), net.loss((x, hard)), rtol=0, atol=1e-12)


def test_prototype_predict_rejects_mismatched_support_sizes():
    with pytest.raises(ValueError, match="support_y"):
        prototype_predict(np.zeros((5, 3)), np.zeros(4), np.zeros((2, 3)))


def test_prototype_predict_rejects_query_of_another_width():
    with pytest.raises(ValueError, match="query_z"):
        prototype_predict(np.zeros((5, 3)), np.zeros(5), np.zeros((2, 4)))


def test_prototype_predict_rejects_non_matrix_support():
    with pytest.raises(ValueError, match="support_z"):
        prototype_predict(np.zeros(5), np.zeros(5), np.zeros((2, 1)))


def test_per_class_sample_draws_distinct_objects_of_each_class():
    y = np.repeat([2, 0, 1], [10, 7, 9])
    chosen = per_class_sample(y, 4, random_state=0)
    assert len(set(chosen)) == 12
    np.testing.assert_array_equal(y[chosen], np.repeat([0, 1, 2], 4))


def test_per_class_sample_rejects_too_many_per_class():
    with pytest.raises(ValueError, match="n_per_class"):
        per_class_sample(np.repeat([0, 1], [5, 2]), 3)


def test_few_shot_accuracy_matches_a_plain_loop_over_episodes():
    # Reference: the same episodes drawn with the same generator, classified by NearestCentroid.
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(6), 20)
    z = rng.normal(size=(120, 4)) + y[:, None]
    ours = few_shot_accuracy(z, y, n_way=3, k_shot=2, n_query=5, episodes=30, random_state=4)
    rng = np.random.default_rng(4)
    expected = []
    for _ in range(30):
        classes = rng.choice(np.unique(y), 3, replace=False)
        chosen = np.stack([rng.choice(np.flatnonzero(y == c), 7, replace=False)
                           for c in classes])
        support, query = chosen[:, :2].ravel(), chosen[:, 2:].ravel()
        predicted = NearestCentroid().fit(z[support], y[support]).predict(z[query])
        expected.append(np.mean(predicted == y[query]))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=0)


def test_few_shot_accuracy_rejects_more_ways_than_classes():
    with pytest.raises(ValueError, match="n_way"):
        few_shot_accuracy(np.zeros((10, 2)), np.repeat([0, 1], 5), n_way=3, k_shot=1)


def test_few_shot_accuracy_rejects_labels_of_another_length():
    with pytest.raises(ValueError, match="y"):
        few_shot_accuracy(np.zeros((10, 2)), np.zeros(9), n_way=2, k_shot=1)

