"""Benchmark: coursekit's MLP VAE against the classic PyTorch ``examples/vae`` architecture.

The reference is the well-known example model, rewritten here from its description: an MLP
784-400-20-400-784 with ReLU, a Bernoulli decoder (binary cross-entropy summed over pixels),
and Adam with learning rate 1e-3. coursekit's ``VAE`` runs with its default architecture and
the same latent size (20). Both models are trained the same way in the same run — the same
images, epochs, batch size, optimiser, shuffling seed and training loop
(``coursekit.train.fit``) — and evaluated by the same function, written here independently
of coursekit:

    -ELBO(x) = BCE(decoder logits at z, x) + KL(N(mu, sigma^2) || N(0, I)),
    z = mu + sigma * eps,  BCE(l, x) = -sum_j [x_j log s(l_j) + (1 - x_j) log(1 - s(l_j))],

averaged over ``EVAL_SAMPLES`` draws of eps per test image and over the 10 000 test images
(nats per image). Two kinds of pixels, each trained and tested on its own:

* binarised: every grey level p becomes 1 with probability p, drawn once with a fixed seed
  (train and test), so the -ELBO bounds a true negative log-likelihood;
* continuous: grey levels in [0, 1] used directly as BCE targets, as the PyTorch example does.
  This BCE is not the log-density of a distribution on [0, 1] (the continuous Bernoulli
  normaliser is missing), so the number compares models but is not a likelihood bound.

Data: Fashion-MNIST (the course's data set; MNIST is not installed). Run::

    .venv/bin/python bench/vae_vs_pytorch_examples.py           # full: writes bench/results/vae.md
    .venv/bin/python bench/vae_vs_pytorch_examples.py --quick   # a smoke test, prints only
"""

import argparse
import datetime
import os
import pathlib
import platform
import statistics
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import coursekit
from coursekit.data import load_fashion_mnist
from coursekit.train import fit, seed_everything
from coursekit.vae import VAE

RESULTS = ROOT / "bench" / "results" / "vae.md"
CODE_SIZE = 20
BATCH_SIZE = 128
LR = 1e-3
EVAL_SAMPLES = 5
BINARISATION_SEED = 0
FULL = {"train_size": 20_000, "epochs": 5, "repetitions": 3}
QUICK = {"train_size": 2_000, "epochs": 1, "repetitions": 1}


class ReferenceVAE(nn.Module):
    """The PyTorch-examples VAE: 784-400-(20, 20) encoder, 20-400-784 decoder, ReLU."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc_mu = nn.Linear(400, CODE_SIZE)
        self.fc_logvar = nn.Linear(400, CODE_SIZE)
        self.fc3 = nn.Linear(CODE_SIZE, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        hidden = F.relu(self.fc1(x.reshape(len(x), 784)))
        return self.fc_mu(hidden), self.fc_logvar(hidden)

    def decode_logits(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def loss(self, batch):
        """BCE summed over pixels plus KL, averaged over the batch (the example sums over the
        batch instead; Adam is invariant to that constant factor up to its epsilon)."""
        x = batch.reshape(len(batch), 784)
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        bce = F.binary_cross_entropy_with_logits(self.decode_logits(z), x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
        return (bce + kl) / len(x)


def coursekit_model(hidden=None):
    """coursekit's VAE with its defaults (or the given hidden widths) and the same latent size."""
    if hidden is None:
        return VAE(784, CODE_SIZE)
    return VAE(784, CODE_SIZE, hidden=hidden)


@torch.no_grad()
def negative_elbo(encode, decode_logits, images, seed=0, batch_size=1000):
    """Mean -ELBO in nats per image (see the module docstring), by the same code for both models."""
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for x in images.reshape(len(images), 784).split(batch_size):
        mu, logvar = encode(x)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)
        bce = torch.zeros(len(x))
        for _ in range(EVAL_SAMPLES):
            eps = torch.randn(mu.shape, generator=generator)
            logits = decode_logits(mu + torch.exp(0.5 * logvar) * eps)
            bce += F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        total += (bce / EVAL_SAMPLES + kl).sum().item()
    return total / len(images)


def load_pixels(train_size):
    """{"binarised": (train, test), "continuous": (train, test)}, flat float32 [n, 784]."""
    train, _ = load_fashion_mnist("train")
    test, _ = load_fashion_mnist("test")
    train = torch.as_tensor(train[:train_size]).reshape(-1, 784)
    test = torch.as_tensor(test).reshape(-1, 784)
    generator = torch.Generator().manual_seed(BINARISATION_SEED)
    binarised = tuple(torch.bernoulli(x, generator=generator) for x in (train, test))
    return {"binarised": binarised, "continuous": (train, test)}


def warm_up(make_model, train):
    """One untimed epoch on a few batches, so that the first timed run pays no start-up cost."""
    fit(make_model(), train[: 8 * BATCH_SIZE], epochs=1, batch_size=BATCH_SIZE, device="cpu",
        progress=False)


def run_once(name, make_model, train, test, epochs, seed):
    """Train one model from seed ``seed``; return its test -ELBO and training images/s, per
    second of wall time and per second of this process's CPU time (one torch thread, so the
    CPU time is the time the training ran on a core, whatever else the machine ran)."""
    seed_everything(seed)
    model = make_model()
    start, start_cpu = time.perf_counter(), time.process_time()
    fit(model, train, epochs=epochs, batch_size=BATCH_SIZE, lr=LR, device="cpu",
        progress=False, generator=seed)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    if isinstance(model, VAE):
        decode_logits = lambda z: model.decode(z, logits=True)
    else:
        decode_logits = model.decode_logits
    return {"model": name, "nelbo": negative_elbo(model.encode, decode_logits, test),
            "images_per_s": len(train) * epochs / seconds,
            "images_per_cpu_s": len(train) * epochs / cpu_seconds,
            "parameters": sum(p.numel() for p in model.parameters())}


def run(settings, models, log=print):
    """Every model on every kind of pixels, ``repetitions`` times; a list of result dicts."""
    pixels = load_pixels(settings["train_size"])
    for make_model in models.values():
        warm_up(make_model, pixels["binarised"][0])
    results = []
    for repetition in range(settings["repetitions"]):
        for kind, (train, test) in pixels.items():
            for name, make_model in models.items():
                result = run_once(name, make_model, train, test, settings["epochs"], repetition)
                result |= {"pixels": kind, "repetition": repetition}
                log(f"rep {repetition} {kind:10s} {name:28s} -ELBO {result['nelbo']:8.2f} "
                    f"nats, {result['images_per_s']:7.0f} images/s, "
                    f"{result['images_per_cpu_s']:7.0f} images/CPU-s", flush=True)
                results.append(result)
    return results


def summary_table(results, models):
    header = ("| pixels | model | parameters | test −ELBO, nats/image: median [min, max] "
              "| training images per CPU second: median [min, max] "
              "| training images per wall-clock second: median [min, max] |")
    rows = [header, "|---|---|---|---|---|---|"]
    for kind in ("binarised", "continuous"):
        for name in models:
            mine = [r for r in results if r["pixels"] == kind and r["model"] == name]
            nelbo = [r["nelbo"] for r in mine]
            cells = [f"{statistics.median(nelbo):.2f} [{min(nelbo):.2f}, {max(nelbo):.2f}]"]
            for key in ("images_per_cpu_s", "images_per_s"):
                speed = [r[key] for r in mine]
                cells.append(f"{statistics.median(speed):,.0f} "
                             f"[{min(speed):,.0f}, {max(speed):,.0f}]")
            rows.append(f"| {kind} | {name} | {mine[0]['parameters']:,} | "
                        + " | ".join(cells) + " |")
    return "\n".join(rows)


def machine_description():
    cpu = platform.processor() or "unknown CPU"
    try:
        lines = pathlib.Path("/proc/cpuinfo").read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = f"{names[0]} ({len(names)} logical CPUs)" if names else cpu
    except OSError:
        pass
    return (f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC (end of the run)\n"
            f"- machine: {cpu}; {platform.platform()}\n"
            f"- Python {platform.python_version()}, torch {torch.__version__}, "
            f"coursekit {coursekit.__version__}; torch threads: {torch.get_num_threads()}\n"
            f"- load average (1, 5, 15 min) at the end: "
            f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}")


def _best(results, models, kind, key, pick):
    return pick(models, key=lambda name: statistics.median(
        r[key] for r in results if r["pixels"] == kind and r["model"] == name))


def contention_note(load_at_start):
    """What the 1-minute load averages at the start and the end say about the timings."""
    loads = [float(load_at_start.split(",")[0]), os.getloadavg()[0]]
    if max(loads) <= (os.cpu_count() or 1):
        return ("- **load**: the 1-minute load stayed at or below the number of CPUs: no other "
                "job competed for a core, so the wall-clock figures are close to the CPU-time ones.")
    return ("- **contention**: the 1-minute load exceeded the number of CPUs, so other jobs ran "
            "at the same time; the wall-clock images/s figures are noisy and lower than on an idle "
            "machine (CPU-time figures much less so: the other jobs also share caches and memory "
            "bandwidth); the −ELBO figures do not depend on the load.")


def write_results(results, models, settings, seconds, load_at_start, path=RESULTS, quick=False):
    kinds = ("binarised", "continuous")
    best = {kind: _best(results, models, kind, "nelbo", min) for kind in kinds}
    fastest = {kind: _best(results, models, kind, "images_per_cpu_s", max) for kind in kinds}
    model = coursekit_model()
    setting = ("**QUICK smoke run (`--quick`): tiny sizes, not a result.**\n\n" if quick else "")
    text = f"""# coursekit VAE vs the PyTorch examples VAE

{setting}Written by `bench/vae_vs_pytorch_examples.py` (see its docstring for every definition).
Fashion-MNIST, the first {settings['train_size']:,} training images, the 10,000 test images;
{settings['epochs']} epochs, batch size {BATCH_SIZE}, Adam with learning rate {LR}, latent size
{CODE_SIZE}; {settings['repetitions']} repetitions (seeds 0, 1, ...: initial weights, shuffling
and the reparameterisation noise). Test −ELBO in nats per image (lower is better), with the
reconstruction term averaged over {EVAL_SAMPLES} draws of ε per image; both models are trained
by `coursekit.train.fit` and evaluated by the same function.

- *binarised*: each grey level p replaced once by a Bernoulli(p) draw (seed
  {BINARISATION_SEED}), train and test; the −ELBO bounds the negative log-likelihood.
- *continuous*: grey levels in [0, 1] as targets of the binary cross-entropy
  −Σⱼ [xⱼ log pⱼ + (1 − xⱼ) log(1 − pⱼ)]; not a normalised likelihood (no continuous-Bernoulli
  normaliser), so it ranks models but bounds nothing.

{summary_table(results, models)}

Lowest median −ELBO: binarised — {best['binarised']}; continuous — {best['continuous']}.
Most training images per CPU second (median): binarised — {fastest['binarised']};
continuous — {fastest['continuous']}.

The reference is the classic PyTorch `examples/vae` model (784-400-20-400-784, ReLU,
Bernoulli/BCE), written in the script from that description; coursekit's `VAE(784, 20)` has
hidden layers {model.hidden} mirrored in the decoder ({' → '.join(map(str, (784,) + model.hidden))}
→ 20 and back), {model.activation.upper()} activations and a Bernoulli decoder. The speed columns
count training only — `fit`'s whole loop: batching, forward, backward and Adam step, the same
code for both models — and exclude the evaluation. With one torch thread the CPU time of the
process is the time the training actually ran on a core, so images per CPU second depend
little on what else the machine runs; images per wall-clock second are given too, and are
lower and noisier under load. Within each repetition the models alternate (reference first),
so both see the same load.

## Machine

{machine_description()}
- load average (1, 5, 15 min) at the start: {load_at_start}
- wall time of the whole benchmark: {seconds / 60:.1f} min
{contention_note(load_at_start)}
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tiny smoke run (1 epoch on 2,000 images); prints its table, and "
                        "writes it only with --output")
    parser.add_argument("--output", type=pathlib.Path, default=None,
                        help="folder to write vae.md into (default: bench/results; a --quick "
                        "run writes nothing unless this is given)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: the machine is shared)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = QUICK if args.quick else FULL
    models = {"PyTorch examples VAE (reference)": ReferenceVAE, "coursekit VAE": coursekit_model}
    load_at_start = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    start = time.perf_counter()
    results = run(settings, models)
    seconds = time.perf_counter() - start
    if args.quick and args.output is None:
        print(summary_table(results, models))
        return
    path = (args.output / RESULTS.name) if args.output else RESULTS
    print(write_results(results, models, settings, seconds, load_at_start, path, args.quick))


if __name__ == "__main__":
    main()
