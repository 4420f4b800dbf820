"""Benchmark: coursekit's SOM against MiniSom, the self-organizing map most users would pick.

Three cases, each on the same data for both libraries:

(a) house-votes (435 x 16), an 8 x 8 map;
(b) the first 10,000 Fashion-MNIST training images (784 pixels in [0, 1]), a 20 x 20 map;
(c) 16,000 x 300 uniform random data (seed 0), a 25 x 15 map.

MiniSom is set up as its documentation suggests: ``MiniSom(rows, cols, d, sigma,
learning_rate=0.5)`` with its default Gaussian neighbourhood and asymptotic decay,
``pca_weights_init(X)``, then ``train(X, MINISOM_EPOCHS * n, random_order=True)`` (a few epochs
of samples). ``sigma = max(rows, cols) / 4`` for both libraries.

Quality, one definition for both maps (coursekit's and MiniSom's coincide; the script checks it
on every MiniSom map and reports the largest difference):

* quantization error ``QE = (1/n) sum_i ||x_i - w_c(x_i)||`` (mean Euclidean distance to the
  best-matching unit);
* topographic error ``TE`` = share of samples whose best and second-best units are not
  neighbours on the grid, neighbours meaning grid distance <= sqrt(2) (the 8 surrounding nodes
  of a rectangular grid; MiniSom's threshold is 1.42).

Headline figure, "time to reach": coursekit is trained with growing budgets (``epochs`` from
:data:`BUDGETS`, each a fresh fit) and the first budget whose QE and TE are both <= MiniSom's
final ones gives coursekit's time; the speed-up is MiniSom's training time over that time,
computed per repetition and summarised as median [min, max]. Both coursekit modes are tried
(batch and online); a mode's ladder stops once a single fit takes longer than
:data:`GIVE_UP` times MiniSom's training.
Training times include the PCA initialisation on both sides; evaluation is not timed.

``--device cuda`` adds a third coursekit mode, batch training on the GPU (``device="cuda"``:
the epochs and the PCA start run in torch on the GPU), and skips
online mode to keep the run short; it writes ``som-gpu.md`` instead of ``som.md``. MiniSom, which
has no GPU code, runs on the CPU as always. One small GPU fit before the first timed one takes
CUDA's start-up cost out of the timings.

Run::

    .venv/bin/python bench/som_vs_minisom.py            # full: writes bench/results/som.md
    .venv/bin/python bench/som_vs_minisom.py --quick    # smoke test, < 60 s
    .venv/bin/python bench/som_vs_minisom.py --device cuda   # writes bench/results/som-gpu.md
"""

import statistics

import numpy as np
from _common import (
    LoadMonitor,
    machine_lines,
    markdown_table,
    parse_args,
    set_threads,
    spread,
    timed,
    write,
)
from minisom import MiniSom

from coursekit.data import load_fashion_mnist, load_house_votes
from coursekit.distances import sqeuclidean
from coursekit.som import SOM, grid_adjacency

MINISOM_EPOCHS = 3
LEARNING_RATE = 0.5
BATCH_BUDGETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
BUDGETS = {"batch": BATCH_BUDGETS, "online": (1, 2, 3, 5, 8), "batch on GPU": BATCH_BUDGETS}
COURSEKIT = {  # per mode; otherwise coursekit's defaults (sigma_end 0.5, lr 0.5 -> 0.01)
    "batch": {"mode": "batch", "device": "cpu"},
    "online": {"mode": "online"},
    "batch on GPU": {"mode": "batch", "device": "cuda"},
}
MODES = {"cpu": ("batch", "online"), "cuda": ("batch", "batch on GPU")}
GIVE_UP = 3
"""A mode's ladder stops once one fit takes longer than GIVE_UP times MiniSom's training."""
FULL = {"fashion_images": 10_000, "random_rows": 16_000, "repetitions": 3}
QUICK = {"fashion_images": 1_000, "random_rows": 1_000, "repetitions": 1}


def load_cases(setting):
    """``[(name, description, X float64 [n, d], rows, cols)]`` for the three cases."""
    houses = load_house_votes()[0].astype(np.float64)
    images = load_fashion_mnist("train", download=False)[0][: setting["fashion_images"]]
    images = images.reshape(len(images), -1).astype(np.float64)
    random = np.random.default_rng(0).random((setting["random_rows"], 300))
    return [
        ("(a) house-votes", "house-votes", houses, 8, 8),
        ("(b) Fashion-MNIST", "Fashion-MNIST images", images, 20, 20),
        ("(c) random", "uniform random", random, 25, 15),
    ]


def quality(X, weights, rows, cols):
    """``(QE, TE)`` of flat ``weights`` ``[rows * cols, d]`` on ``X`` (definitions above)."""
    squared = sqeuclidean(X, weights)  # [n, rows * cols]
    first_two = np.argsort(squared, axis=1)[:, :2]
    nearest = squared[np.arange(len(X)), first_two[:, 0]]
    adjacent = grid_adjacency(rows, cols, "rect")[first_two[:, 0], first_two[:, 1]]
    return float(np.mean(np.sqrt(nearest))), float(np.mean(~adjacent))


def run_minisom(X, rows, cols, sigma, seed):
    """MiniSom as documented; returns ``(seconds, QE, TE, largest gap to MiniSom's own)``."""

    def train():
        som = MiniSom(rows, cols, X.shape[1], sigma=sigma, learning_rate=LEARNING_RATE,
                      random_seed=seed)
        som.pca_weights_init(X)
        som.train(X, MINISOM_EPOCHS * len(X), random_order=True)
        return som

    som, seconds = timed(train)
    qe, te = quality(X, som.get_weights().reshape(rows * cols, -1), rows, cols)
    gap = max(abs(qe - som.quantization_error(X)), abs(te - som.topographic_error(X)))
    return seconds, qe, te, gap


def time_to_reach(X, rows, cols, sigma, seed, mode, target, limit):
    """Grow coursekit's budget until QE and TE are <= ``target``; ``(seconds, epochs, qe, te)``
    of the first budget that reaches it, or ``None`` (not reached before a fit took > limit)."""
    for epochs in BUDGETS[mode]:
        som = SOM(rows, cols, epochs=epochs, sigma=sigma, init="pca", dtype="float32",
                  random_state=seed, **COURSEKIT[mode])
        _, seconds = timed(som.fit, X)
        qe, te = quality(X, som.weights_.reshape(rows * cols, -1), rows, cols)
        if qe <= target[0] and te <= target[1]:
            return seconds, epochs, qe, te
        if seconds > limit:
            return None
    return None


FRONTIER = {"sigma_end": (0.5, 1.0, 1.5), "epochs": (2, 3, 4, 6, 8)}
"""The batch maps of :func:`frontier`: coursekit's default final width and two wider ones."""


def frontier(X, rows, cols, sigma):
    """QE and TE of coursekit's batch map for each final width and budget of :data:`FRONTIER`:
    ``[[sigma_end, epochs, QE, TE]]``. Shows the trade-off between the two errors that decides
    whether a MiniSom run is within reach."""
    points = []
    for sigma_end in FRONTIER["sigma_end"]:
        for epochs in FRONTIER["epochs"]:
            som = SOM(rows, cols, epochs=epochs, sigma=sigma, sigma_end=sigma_end, init="pca",
                      dtype="float32", **COURSEKIT["batch"]).fit(X)
            qe, te = quality(X, som.weights_.reshape(rows * cols, -1), rows, cols)
            points.append([f"{sigma_end:g}", epochs, f"{qe:.4f}", f"{te:.4f}"])
    return points


def warm_up_gpu():
    """One small fit on the GPU, so that CUDA's start-up is not timed; returns the GPU's name."""
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("--device cuda needs a CUDA GPU, and torch sees none on this machine")
    SOM(2, 2, epochs=1, init="pca", **COURSEKIT["batch on GPU"]).fit(np.eye(3))
    return torch.cuda.get_device_name()


def main(argv=None):
    args = parse_args("coursekit SOM vs MiniSom", argv, device=True)
    setting = QUICK if args.quick else FULL
    repetitions = args.repetitions or setting["repetitions"]
    modes = MODES[args.device]
    set_threads()
    gpu = warm_up_gpu() if args.device == "cuda" else None
    monitor = LoadMonitor()
    rows_out, gaps, details, headline, frontiers = [], [], [], [], []
    for name, description, X, rows, cols in load_cases(setting):
        sigma = max(rows, cols) / 4
        minisom, reached = [], {mode: [] for mode in modes}
        for seed in range(repetitions):
            seconds, qe, te, gap = run_minisom(X, rows, cols, sigma, seed)
            minisom.append((seconds, qe, te))
            gaps.append(gap)
            for mode in modes:
                limit = GIVE_UP * seconds
                result = time_to_reach(X, rows, cols, sigma, seed, mode, (qe, te), limit)
                reached[mode].append(result)
                print(f"{name} seed {seed}: MiniSom {seconds:.2f} s QE {qe:.4g} TE {te:.4g}; "
                      f"coursekit {mode}: {result}", flush=True)
        m_time, m_qe, m_te = (list(column) for column in zip(*minisom))
        best = {}
        for mode in modes:
            hits = [(r, m) for r, m in zip(reached[mode], minisom) if r is not None]
            if hits:
                ratios = [m[0] / r[0] for r, m in hits]
                best[mode] = ratios
                epochs = sorted({r[1] for r, _ in hits})
                cells = [
                    f"{len(hits)}/{repetitions}", ", ".join(map(str, epochs)),
                    spread([r[0] for r, _ in hits]), spread([r[2] for r, _ in hits], 4),
                    spread([r[3] for r, _ in hits], 3), spread(ratios) + "×",
                ]
            else:
                cells = [f"0/{repetitions}", "—", "—", "—", "—", "—"]
            rows_out.append([
                name, f"{description} {X.shape[0]:,} × {X.shape[1]}", f"{rows} × {cols}",
                spread(m_time), spread(m_qe, 4), spread(m_te, 3), mode, *cells,
            ])
        details.append(f"{name}: sigma = {sigma:g}")
        missed = [(qe, te) for (_, qe, te), r in zip(minisom, reached["batch"]) if r is None]
        if missed:
            frontiers += [
                "",
                (f"{name}: batch mode missed MiniSom's (QE, TE) = "
                 f"{', '.join(f'({qe:.4f}, {te:.4f})' for qe, te in missed)}. coursekit's batch "
                 "maps trade one error for the other as the final width and the budget change "
                 "(a wider final neighbourhood keeps the map smoother: lower TE, higher QE):"),
                "",
                *markdown_table(["sigma_end", "epochs", "QE", "TE"], frontier(X, rows, cols, sigma)),
            ]
        if best:  # the mode that reached most often, then the larger median speed-up
            mode = max(best, key=lambda key: (len(best[key]), statistics.median(best[key])))
            headline.append(
                f"- {name}: **{spread(best[mode])}×** ({mode} mode; reached MiniSom's QE and "
                f"TE in {len(best[mode])} of {repetitions} repetitions)"
            )
        else:
            headline.append(f"- {name}: coursekit did not reach MiniSom's QE and TE")
    header = [
        "case", "data", "grid", "MiniSom time, s", "MiniSom QE", "MiniSom TE",
        "coursekit mode", "reached", "epochs needed", "coursekit time to reach, s",
        "coursekit QE", "coursekit TE", "speed-up",
    ]
    lines = [
        "# coursekit SOM vs MiniSom" + (" (with a GPU)" if gpu else ""),
        "",
        "Written by `bench/som_vs_minisom.py` (its docstring defines every number).",
        "",
        *machine_lines(["coursekit", "minisom", "numpy", "scipy", "torch"], args.quick),
        *monitor.lines(),
        "",
        (f"MiniSom: `pca_weights_init`, then `train(X, {MINISOM_EPOCHS} * n, random_order=True)`, "
        f"learning rate {LEARNING_RATE}, Gaussian neighbourhood, asymptotic decay. coursekit: "
        "`SOM(init='pca', dtype='float32')` with its defaults otherwise (sigma → 0.5; online: "
        f"learning rate 0.5 → 0.01), in the modes {', '.join(modes)}, "
        f"fresh fits with epochs from {BATCH_BUDGETS} (batch) or {BUDGETS['online']} "
        "(online) until QE and TE are both ≤ MiniSom's. Same sigma = max(rows, cols) / 4 "
        f"on both sides ({'; '.join(details)}). {repetitions} repetition(s) (seeds 0, 1, …); "
        "cells are median [min, max] over repetitions; the speed-up is taken per repetition "
        "(MiniSom's time / coursekit's time to reach). "
        + (f"GPU: {gpu}, for the mode 'batch on GPU' only; everything else on the CPU."
           if gpu else "CPU only.")),
        "",
        ("QE = mean distance to the best-matching unit; TE = share of samples whose two best "
        "units are not among each other's 8 grid neighbours. Both maps are scored by this "
        "script's one implementation; it matches MiniSom's own `quantization_error` and "
        f"`topographic_error` to within {max(gaps):.1e} on every MiniSom map."),
        "",
        *markdown_table(header, rows_out),
        "",
        ("Speed-up to reach MiniSom's final QE and TE, best coursekit mode, median [min, max] "
        "(targets: ≥ 50× on (b), and online mode on (a) at least as fast as MiniSom, ≥ 1×):"),
        "",
        *headline,
        "",
        ("A repetition counts as not reached when no budget gives QE and TE both ≤ that "
         "repetition's MiniSom values. With the PCA start coursekit's batch map is deterministic "
         "(the same map in every repetition), so a MiniSom run with an unusually low TE can be "
         "out of its reach."),
        *frontiers,
    ]
    write(args.output, "som-gpu.md" if gpu else "som.md", lines)


if __name__ == "__main__":
    main()
