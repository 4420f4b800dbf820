"""coursekit.blocks.conv against torch.nn.functional, a plain loop over pixels and bad input.

Comparisons with torch run in float64 with tolerance 1e-10: an output is a sum of at most a
few hundred products of O(1) numbers, so float64 rounding stays near 1e-14 and agreement to
1e-10 means the same computation (same window, same stride, same padding, no flipped kernel).
"""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.blocks import conv2d, conv_decoder, conv_encoder, max_pool2d
from coursekit.blocks.conv import Augmentation, conv_output_size, small_cnn
from coursekit.train import fit, seed_everything

TOL = {"rtol": 1e-10, "atol": 1e-10}

# (kernel, stride, padding) cases: square and rectangular kernels, ints and pairs
CONV_CASES = [
    ((3, 3), 1, 0),
    ((3, 3), 1, 1),
    ((3, 3), 2, 1),
    ((5, 5), 3, 2),
    ((1, 1), 1, 0),
    ((2, 4), (1, 2), (0, 1)),
    ((4, 3), (3, 1), (2, 0)),
]
CHANNELS = [(1, 1), (1, 4), (3, 2), (5, 6)]


def random(*shape, seed=0, requires_grad=False):
    generator = torch.Generator().manual_seed(seed)
    tensor = torch.randn(*shape, dtype=torch.float64, generator=generator)
    return tensor.requires_grad_(requires_grad)


# --- conv2d equals torch --------------------------------------------------------------------


@pytest.mark.parametrize(("kernel", "stride", "padding"), CONV_CASES)
@pytest.mark.parametrize(("c_in", "c_out"), CHANNELS)
def test_conv2d_equals_torch(kernel, stride, padding, c_in, c_out):
    x = random(2, c_in, 9, 11, seed=1)
    weight = random(c_out, c_in, *kernel, seed=2)
    bias = random(c_out, seed=3)
    expected = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    assert torch.allclose(conv2d(x, weight, bias, stride, padding), expected, **TOL)


def test_conv2d_without_bias_equals_torch():
    x, weight = random(3, 2, 8, 8, seed=1), random(4, 2, 3, 3, seed=2)
    assert torch.allclose(conv2d(x, weight, padding=1), F.conv2d(x, weight, padding=1), **TOL)


def test_conv2d_is_the_lecture_formula_written_as_a_loop_over_pixels():
    # (x * w)[i, j] = sum_c sum_a sum_b w[c, a, b] x[c, i + a, j + b]: no flipped kernel
    x, weight = random(1, 2, 6, 7, seed=4), random(1, 2, 3, 2, seed=5)
    out = conv2d(x, weight)
    for i, j in itertools.product(range(out.shape[2]), range(out.shape[3])):
        window = x[0, :, i : i + 3, j : j + 2]
        assert torch.allclose(out[0, 0, i, j], (weight[0] * window).sum(), **TOL)


@pytest.mark.parametrize(("kernel", "stride", "padding"), CONV_CASES)
def test_conv2d_gradients_equal_torchs(kernel, stride, padding):
    x = random(2, 3, 9, 11, seed=1, requires_grad=True)
    weight = random(4, 3, *kernel, seed=2, requires_grad=True)
    bias = random(4, seed=3, requires_grad=True)
    upstream = random(*F.conv2d(x, weight, bias, stride, padding).shape, seed=6)

    ours = torch.autograd.grad((conv2d(x, weight, bias, stride, padding) * upstream).sum(),
                               (x, weight, bias))
    theirs = torch.autograd.grad((F.conv2d(x, weight, bias, stride, padding) * upstream).sum(),
                                 (x, weight, bias))
    for mine, reference in zip(ours, theirs, strict=True):
        assert torch.allclose(mine, reference, **TOL)


@pytest.mark.parametrize("size", [5, 6, 28])
@pytest.mark.parametrize(("kernel", "stride", "padding"), [(3, 1, 0), (3, 2, 1), (5, 3, 2),
                                                           (2, 2, 0), (4, 1, 3)])
def test_output_size_formula_matches_torch(size, kernel, stride, padding):
    x, weight = torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel)
    expected = F.conv2d(x, weight, stride=stride, padding=padding).shape[-1]
    assert conv_output_size(size, kernel, stride, padding) == expected


# --- max_pool2d equals torch ----------------------------------------------------------------


@pytest.mark.parametrize(("kernel", "stride"), [(2, None), (3, None), (2, 1), (3, 2), (2, 3),
                                                ((2, 3), None), ((3, 2), (1, 2))])
@pytest.mark.parametrize("channels", [1, 3])
def test_max_pool2d_equals_torch(kernel, stride, channels):
    x = random(2, channels, 9, 10, seed=7)
    assert torch.equal(max_pool2d(x, kernel, stride), F.max_pool2d(x, kernel, stride))


@pytest.mark.parametrize(("kernel", "stride"), [(2, None), (3, 2), (2, 1)])
def test_max_pool2d_gradients_equal_torchs(kernel, stride):
    # random continuous inputs have no ties, so each window's maximum is unique
    x = random(2, 3, 8, 9, seed=8, requires_grad=True)
    upstream = random(*F.max_pool2d(x, kernel, stride).shape, seed=9)
    (ours,) = torch.autograd.grad((max_pool2d(x, kernel, stride) * upstream).sum(), x)
    (theirs,) = torch.autograd.grad((F.max_pool2d(x, kernel, stride) * upstream).sum(), x)
    assert torch.allclose(ours, theirs, **TOL)


def test_max_pool2d_default_stride_is_the_kernel_size():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert max_pool2d(x, 2).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 5), (1, 5, 5), (1, 1, 1, 5, 5)])
def test_conv2d_rejects_x_without_four_dimensions(shape):
    with pytest.raises(ValueError, match="x must be 4-D"):
        conv2d(torch.zeros(shape), torch.zeros(1, 1, 3, 3))


def test_conv2d_rejects_weight_without_four_dimensions():
    with pytest.raises(ValueError, match="weight must be 4-D"):
        conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(3, 3))


def test_conv2d_rejects_a_channel_mismatch():
    with pytest.raises(ValueError, match=r"weight expects 2 input channels .* x has 3"):
        conv2d(torch.zeros(1, 3, 5, 5), torch.zeros(4, 2, 3, 3))


def test_conv2d_rejects_a_bias_of_the_wrong_length():
    with pytest.raises(ValueError, match="bias must be a tensor of shape"):
        conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(4, 1, 3, 3), torch.zeros(3))


def test_conv2d_rejects_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match=r"weight: the kernel 7x7 is larger than the padded "
                                         r"input 6x6"):
        conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 7, 7), padding=1)


def test_conv2d_accepts_a_kernel_that_fits_only_with_padding():
    out = conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 6, 6), padding=1)
    assert out.shape == (1, 1, 1, 1)


@pytest.mark.parametrize(("name", "options"), [("stride", {"stride": 0}),
                                               ("stride", {"stride": (1, -1)}),
                                               ("padding", {"padding": -1}),
                                               ("padding", {"padding": (0, -2)})])
def test_conv2d_rejects_stride_below_one_and_negative_padding(name, options):
    with pytest.raises(ValueError, match=name):
        conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), **options)


def test_conv2d_rejects_a_stride_that_is_not_an_int_or_a_pair():
    with pytest.raises(ValueError, match="stride must be an int or a pair"):
        conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), stride=(1, 1, 1))


def test_conv2d_rejects_integer_images():
    with pytest.raises(TypeError, match="x must be a float tensor"):
        conv2d(torch.zeros(1, 1, 5, 5, dtype=torch.int64), torch.zeros(1, 1, 3, 3))


def test_max_pool2d_rejects_a_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match=r"kernel_size: the kernel 5x5 is larger"):
        max_pool2d(torch.zeros(1, 1, 4, 4), 5)


@pytest.mark.parametrize(("name", "options"), [("kernel_size", {"kernel_size": 0}),
                                               ("stride", {"kernel_size": 2, "stride": 0})])
def test_max_pool2d_rejects_sizes_below_one(name, options):
    with pytest.raises(ValueError, match=name):
        max_pool2d(torch.zeros(1, 1, 4, 4), **options)


def test_max_pool2d_rejects_x_without_four_dimensions():
    with pytest.raises(ValueError, match="x must be 4-D"):
        max_pool2d(torch.zeros(4, 4), 2)


# --- the small CNN and augmentation -----------------------------------------------------------


def test_small_cnn_gives_one_score_per_class():
    model = small_cnn(n_classes=10, channels=(4, 8), hidden=16)
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_small_cnn_switches_add_their_layers():
    layers = {type(m) for m in small_cnn(dropout=0.5, batch_norm=True, augmentation=True).modules()}
    assert {nn.Dropout, nn.BatchNorm2d, Augmentation} <= layers
    plain = {type(m) for m in small_cnn().modules()}
    assert not {nn.Dropout, nn.BatchNorm2d, Augmentation} & plain


def test_small_cnn_loss_is_the_cross_entropy_of_its_logits():
    model = small_cnn(channels=(4, 8), hidden=16).eval()
    x, y = torch.rand(6, 1, 28, 28), torch.tensor([0, 1, 2, 3, 4, 9])
    assert torch.allclose(model.loss((x, y)), F.cross_entropy(model(x), y))


def test_small_cnn_rejects_dropout_of_one():
    with pytest.raises(ValueError, match="dropout"):
        small_cnn(dropout=1.0)


def test_small_cnn_learns_to_separate_two_simple_patterns():
    # vertical against horizontal bars, with noise: a CNN must get them all right
    seed_everything(0)
    bars = torch.zeros(2, 12, 12)
    bars[0, :, 5:7], bars[1, 5:7, :] = 1.0, 1.0
    y = torch.arange(200) % 2
    x = (bars[y] + 0.3 * torch.randn(200, 12, 12)).unsqueeze(1)
    model = small_cnn(n_classes=2, channels=(4, 8), hidden=16, image_size=12)
    fit(model, (x, y), epochs=15, batch_size=32, lr=3e-3, progress=False, device="cpu")
    assert (model.predict(x) == y).float().mean() == 1.0


def test_augmentation_changes_images_only_in_training_mode():
    layer = Augmentation()
    x = torch.rand(8, 1, 28, 28)
    torch.manual_seed(0)
    assert not torch.equal(layer.train()(x), x)
    assert torch.equal(layer.eval()(x), x)


def test_augmentation_keeps_shape_and_range():
    x = torch.rand(8, 1, 28, 28)
    views = Augmentation().train()(x)
    assert views.shape == x.shape
    assert views.min() >= 0 and views.max() <= 1


# --- the convolutional encoder and decoder ----------------------------------------------------


@pytest.mark.parametrize("kernel_size", [3, 4, 5])
def test_conv_encoder_halves_the_side_twice_whatever_the_kernel(kernel_size):
    encoder = conv_encoder(None, (4, 8), kernel_size=kernel_size)
    assert encoder(torch.rand(2, 28, 28)).shape == (2, 8 * 7 * 7)
    assert conv_encoder(12, (4, 8), kernel_size=kernel_size)(torch.rand(2, 784)).shape == (2, 12)


@pytest.mark.parametrize("kernel_size", [3, 4, 5])
def test_conv_decoder_doubles_the_side_twice_whatever_the_kernel(kernel_size):
    decoder = conv_decoder(12, (8, 4), kernel_size=kernel_size, image_size=16)
    images = decoder(torch.randn(3, 12))
    assert images.shape == (3, 1, 16, 16)
    assert images.min() >= 0 and images.max() <= 1  # the default final layer is a sigmoid


def test_conv_encoder_is_torchs_layers_in_the_documented_order():
    encoder = conv_encoder(5, (2, 3), final=nn.Sigmoid)
    convs = [m for m in encoder if isinstance(m, nn.Conv2d)]
    x = torch.rand(4, 1, 28, 28)
    hidden = F.relu(convs[1](F.relu(convs[0](x))))
    expected = torch.sigmoid(encoder[6](hidden.flatten(1)))
    torch.testing.assert_close(encoder(x), expected, rtol=0, atol=0)


@pytest.mark.parametrize("build", [lambda seed: conv_encoder(6, (2, 3), random_state=seed),
                                   lambda seed: conv_decoder(6, (3, 2), random_state=seed)])
def test_conv_builders_give_the_same_weights_for_the_same_random_state(build):
    first, second = build(7), build(7)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not all(torch.equal(a, b) for a, b in zip(first.state_dict().values(),
                                                      build(8).state_dict().values()))


def test_conv_builders_leave_the_global_rng_alone():
    before = torch.random.get_rng_state()
    conv_encoder(6, random_state=1)
    conv_decoder(6, random_state=torch.Generator().manual_seed(1))
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize(("build", "error", "message"), [
    (lambda: conv_encoder(6, image_size=30), ValueError, "image_size"),
    (lambda: conv_encoder(6, channels=(4,)), ValueError, "channels"),
    (lambda: conv_encoder(0), ValueError, "code_size"),
    (lambda: conv_decoder(6, kernel_size=0), ValueError, "kernel_size"),
    (lambda: conv_decoder(6, random_state=-2), ValueError, "random_state"),
    (lambda: conv_encoder(6, random_state="1"), TypeError, "random_state"),
])
def test_conv_builders_reject_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()
