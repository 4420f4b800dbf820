"""coursekit.blocks.mlp: its layers against torch's own, seeding, and bad input."""

import pytest
import torch
from torch import nn

from coursekit.blocks import mlp


def test_mlp_is_linear_layers_with_the_activation_between_them():
    net = mlp([6, 5, 4, 3], activation=nn.Tanh)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 5), (5, 4), (4, 3)]
    x = torch.rand(2, 6)
    expected = linears[2](torch.tanh(linears[1](torch.tanh(linears[0](x)))))
    torch.testing.assert_close(net(x), expected, rtol=0, atol=0)


def test_mlp_applies_final_after_the_last_layer():
    net = mlp([4, 3], final=nn.Sigmoid)
    x = torch.rand(2, 4)
    torch.testing.assert_close(net(x), torch.sigmoid(net[1](x)), rtol=0, atol=0)


def test_mlp_flattens_images_first():
    assert mlp([12, 2])(torch.rand(5, 3, 4)).shape == (5, 2)


def test_the_same_random_state_gives_the_same_weights():
    first, second = mlp([6, 5, 3], random_state=4), mlp([6, 5, 3], random_state=4)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(mlp([6, 5, 3], random_state=5)[1].weight, first[1].weight)


def test_an_int_random_state_seeds_like_torch_manual_seed():
    torch.manual_seed(4)
    expected = nn.Linear(6, 5)
    torch.testing.assert_close(mlp([6, 5], random_state=4)[1].weight, expected.weight,
                               rtol=0, atol=0)


def test_a_generator_random_state_gives_the_same_weights_from_the_same_state():
    first = mlp([6, 3], random_state=torch.Generator().manual_seed(2))
    second = mlp([6, 3], random_state=torch.Generator().manual_seed(2))
    torch.testing.assert_close(first[1].weight, second[1].weight, rtol=0, atol=0)


def test_seeding_the_weights_leaves_the_global_rng_alone():
    before = torch.random.get_rng_state()
    mlp([6, 5, 3], random_state=4)
    mlp([6, 5, 3], random_state=torch.Generator().manual_seed(1))
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"sizes": [4]}, ValueError, "sizes"),
    ({"sizes": [4, 0]}, ValueError, "sizes"),
    ({"sizes": [4, 2], "random_state": -1}, ValueError, "random_state"),
    ({"sizes": [4, 2], "random_state": "0"}, TypeError, "random_state"),
    ({"sizes": [4, 2], "random_state": 0.5}, TypeError, "random_state"),
])
def test_bad_arguments_are_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        mlp(**kwargs)
