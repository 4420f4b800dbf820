"""One convention for every neural model of coursekit (issue 16).

* **Arrays or tensors alike:** a model's forward pass (and what is built on it: ``encode``,
  ``predict``) gives the same result for a NumPy array as for the tensor it holds.
* **One meaning of ``random_state``:** None, an int or a ``torch.Generator``; it seeds the
  initial weights of every layer the model (or builder) creates and every random draw the
  model makes when a method is given no ``generator``, and it never touches torch's global
  generator. A bad value is refused with an error naming ``random_state``.
"""

import numpy as np
import pytest
import torch

from coursekit.autoencoders import AutoEncoder, DenoisingAutoEncoder
from coursekit.blocks import conv_decoder, conv_encoder, mlp
from coursekit.distillation import DistilledStudent, JointTeacherStudent
from coursekit.gan import GAN, ConditionalGAN, dcgan_discriminator, dcgan_generator
from coursekit.rbm import RBM
from coursekit.selfsupervised import PatchPositionNet, SimCLR
from coursekit.transfer import EncoderWithHead, MultiTaskNet
from coursekit.vae import VAE

IMAGES = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
FLAT = IMAGES.reshape(5, -1)
PAIRS = np.random.default_rng(1).random((5, 2, 9, 9), dtype=np.float32)


# --- arrays or tensors alike ----------------------------------------------------------------

# name -> (model, method name, input array); each model is built from seeded layers
CALLS = {
    "AutoEncoder.encode": (lambda: AutoEncoder(mlp([784, 8], random_state=0),
                                               mlp([8, 784], random_state=1)), "encode", FLAT),
    "VAE.encode": (lambda: VAE(784, 4, hidden=(16,), random_state=0), "encode", FLAT),
    "RBM.hidden_probabilities": (lambda: RBM(784, 6, random_state=0),
                                 "hidden_probabilities", (FLAT > 0.5).astype(np.float32)),
    "EncoderWithHead.forward": (lambda: EncoderWithHead(mlp([784, 8], random_state=0),
                                                        mlp([8, 3], random_state=1)),
                                "forward", FLAT),
    "MultiTaskNet.predict": (lambda: MultiTaskNet(mlp([784, 8], random_state=0),
                                                  {"a": mlp([8, 3], random_state=1),
                                                   "b": mlp([8, 2], random_state=2)}),
                             "predict", FLAT),
    "PatchPositionNet.forward": (lambda: PatchPositionNet(conv_encoder(8, random_state=0),
                                                          random_state=1), "forward", PAIRS),
    "SimCLR.forward": (lambda: SimCLR(conv_encoder(8, random_state=0), random_state=1),
                       "forward", IMAGES),
    "DistilledStudent.forward": (lambda: DistilledStudent(mlp([784, 3], random_state=0)),
                                 "forward", FLAT),
    "JointTeacherStudent.forward": (lambda: JointTeacherStudent(mlp([784, 3], random_state=0),
                                                                mlp([784, 3], random_state=1)),
                                    "forward", FLAT),
}


def as_comparable(output):
    """A dict of tensors (multi-task) or a tensor, detached."""
    if isinstance(output, dict):
        return {name: value.detach() for name, value in output.items()}
    if isinstance(output, tuple):  # VAE.encode: (mu, logvar)
        return tuple(value.detach() for value in output)
    return output.detach()


@pytest.mark.parametrize("name", CALLS)
def test_an_array_gives_what_its_tensor_gives(name):
    build, method, array = CALLS[name]
    model = build().eval()
    from_array = as_comparable(getattr(model, method)(array))
    from_tensor = as_comparable(getattr(model, method)(torch.as_tensor(array)))
    torch.testing.assert_close(from_array, from_tensor, rtol=0, atol=0)


@pytest.mark.parametrize(("name", "argument"), [
    ("EncoderWithHead.forward", "x"), ("MultiTaskNet.predict", "x"), ("SimCLR.forward", "x"),
    ("DistilledStudent.forward", "x"), ("JointTeacherStudent.forward", "x"),
    ("PatchPositionNet.forward", "pairs")])
def test_text_instead_of_numbers_is_a_type_error_naming_the_input(name, argument):
    build, method, _ = CALLS[name]
    with pytest.raises(TypeError, match=f"^{argument} must be an array or tensor of numbers"):
        getattr(build(), method)("not numbers")


# --- one meaning of random_state ------------------------------------------------------------

# name -> a function random_state -> a module whose weights it seeds
BUILDERS = {
    "mlp": lambda seed: mlp([6, 5, 2], random_state=seed),
    "conv_encoder": lambda seed: conv_encoder(4, channels=(2, 3), random_state=seed),
    "conv_decoder": lambda seed: conv_decoder(4, channels=(3, 2), random_state=seed),
    "dcgan_generator": lambda seed: dcgan_generator(4, channels=2, random_state=seed),
    "dcgan_discriminator": lambda seed: dcgan_discriminator(channels=2, random_state=seed),
    "VAE": lambda seed: VAE(12, 2, hidden=(5,), random_state=seed),
    "RBM": lambda seed: RBM(6, 3, random_state=seed),
    "PatchPositionNet": lambda seed: PatchPositionNet(mlp([784, 4], random_state=0),
                                                      hidden=5, random_state=seed),
    "SimCLR": lambda seed: SimCLR(mlp([784, 4], random_state=0), projection_dim=3,
                                  random_state=seed),
}


def weights(module):
    return [tensor.detach().clone() for tensor in module.state_dict().values()]


def same(first, second):
    return len(first) == len(second) and all(torch.equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("name", BUILDERS)
def test_an_int_random_state_gives_the_same_initial_weights(name):
    build = BUILDERS[name]
    assert same(weights(build(7)), weights(build(7)))
    assert not same(weights(build(7)), weights(build(8)))


@pytest.mark.parametrize("name", BUILDERS)
def test_a_generator_random_state_gives_the_weights_of_its_seed(name):
    build = BUILDERS[name]
    first = weights(build(torch.Generator().manual_seed(3)))
    assert same(first, weights(build(torch.Generator().manual_seed(3))))


@pytest.mark.parametrize("name", BUILDERS)
def test_random_state_leaves_torchs_global_generator_alone(name):
    before = torch.random.get_rng_state()
    BUILDERS[name](7)
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("name", BUILDERS)
def test_a_bad_random_state_is_refused_naming_it(name):
    with pytest.raises((TypeError, ValueError), match="random_state"):
        BUILDERS[name]("seven")


def dcgan(seed):
    return GAN(dcgan_generator(4, channels=2, random_state=0),
               dcgan_discriminator(channels=2, random_state=1), 4, random_state=seed)


def conditional_dcgan(seed):
    return ConditionalGAN(dcgan_generator(4 + 3, channels=2, random_state=0),
                          dcgan_discriminator(1 + 3, channels=2, random_state=1), 4, 3,
                          random_state=seed)


# name -> a function random_state -> the model's first random draw with no generator given
DRAWS = {
    "GAN.sample": lambda seed: dcgan(seed).eval().sample(3),
    "ConditionalGAN.sample": lambda seed: conditional_dcgan(seed).eval().sample(
        torch.tensor([0, 1, 2])),
    "VAE.sample": lambda seed: VAE(12, 2, hidden=(5,), random_state=seed).sample(3),
    "RBM.sample_h": lambda seed: RBM(6, 3, random_state=seed).sample_h(torch.ones(4, 6))[1],
    "DenoisingAutoEncoder.corrupt": lambda seed: DenoisingAutoEncoder(
        mlp([6, 2], random_state=0), mlp([2, 6], random_state=1),
        random_state=seed).corrupt(torch.zeros(4, 6)),
    "SimCLR.loss": lambda seed: SimCLR(mlp([784, 4], random_state=0), projection_dim=3,
                                       random_state=seed).loss(torch.as_tensor(IMAGES)),
}


@pytest.mark.parametrize("name", DRAWS)
def test_an_int_random_state_gives_the_same_draws(name):
    draw = DRAWS[name]
    assert torch.equal(draw(7).detach(), draw(7).detach())
    assert not torch.equal(draw(7).detach(), draw(8).detach())


@pytest.mark.parametrize("name", DRAWS)
def test_seeded_draws_leave_torchs_global_generator_alone(name):
    before = torch.random.get_rng_state()
    DRAWS[name](7)
    assert torch.equal(torch.random.get_rng_state(), before)
