"""coursekit's skip-gram with negative sampling against gensim's Word2Vec, on Jane Austen.

Both sides train skip-gram with negative sampling on the same tokens (the six novels of
``coursekit.data.load_jane_austen``, ``coursekit.blocks.word2vec.tokenize``) with the same
settings: vector size 100, window 5 (dynamic on both sides), 5 noise words per pair from the
unigram^(3/4) distribution, min_count 5, subsampling threshold 1e-4, the same number of
epochs, one thread each (torch.set_num_threads(1); gensim workers=1). What differs is the
optimiser, each side's own: coursekit runs mini-batch Adam (batch 4096, lr 3e-3) through
``coursekit.train.fit``; gensim runs Mikolov's per-pair SGD with a learning rate falling
linearly from 0.025 (its defaults). gensim gets the token stream in sentences of 10,000 tokens
(its maximum); coursekit reads it as one stream.

Numbers, each per repetition r = 0, 1, ... (seed r on both sides), run interleaved:

* time per epoch: training time divided by the number of epochs, as CPU seconds of the process
  (``time.process_time``, all threads: robust on a shared machine) and as wall seconds;
* neighbour agreement: for the 500 most frequent words, the share of the 10 nearest
  neighbours by cosine that two models have in common (``neighbour_overlap``), averaged over
  the words; coursekit vs gensim with the same r, and each side against itself with the next
  seed (r, r + 1 mod R), which is the ceiling: what agreement the randomness of one method
  alone leaves;
* Spearman's rho between the cosines and the human scores of WordSim-353 and SimLex-999, on
  the pairs whose two words are in the vocabulary (coverage stated).

Cells are median [min, max] over repetitions.
"""

import statistics
import time

import _common
import numpy as np
import torch
from gensim.models import Word2Vec

from coursekit.blocks.word2vec import (
    SkipGram,
    Vocabulary,
    neighbour_overlap,
    similarity_correlation,
    tokenize,
    train_skipgram,
)
from coursekit.data import load_jane_austen, load_word_similarity
from coursekit.train import seed_everything

EPOCHS, QUICK_EPOCHS = 8, 1
REPETITIONS, QUICK_REPETITIONS = 3, 2
DIM, WINDOW, NEGATIVES, MIN_COUNT, SAMPLE = 100, 5, 5, 5, 1e-4
BATCH_SIZE, LR = 4096, 3e-3
TOP_WORDS, K = 500, 10
GENSIM_SENTENCE = 10_000  # gensim truncates longer sentences
QUICK_NOVELS = 1  # the quick smoke test reads Sense & Sensibility only


def corpus(quick):
    """The tokens of the novels and their Vocabulary."""
    texts = list(load_jane_austen().values())[: QUICK_NOVELS if quick else None]
    tokens = [token for text in texts for token in tokenize(text)]
    return tokens, Vocabulary(tokens, min_count=MIN_COUNT)


def train_coursekit(tokens, vocabulary, epochs, seed):
    """coursekit's SGNS vectors [V, DIM] (rows in vocabulary order)."""
    seed_everything(seed)
    model = SkipGram(len(vocabulary), DIM, noise=vocabulary.noise_distribution(),
                     negatives=NEGATIVES)  # fmt: skip
    train_skipgram(model, vocabulary, vocabulary.encode(tokens), epochs=epochs, window=WINDOW,
                   sample=SAMPLE, batch_size=BATCH_SIZE, lr=LR, generator=seed)  # fmt: skip
    assert torch.get_num_threads() == 1
    return model.embeddings()


def train_gensim(tokens, vocabulary, epochs, seed):
    """gensim's skip-gram vectors [V, DIM], rows in coursekit's vocabulary order."""
    sentences = [tokens[i : i + GENSIM_SENTENCE] for i in range(0, len(tokens), GENSIM_SENTENCE)]
    model = Word2Vec(sentences, vector_size=DIM, window=WINDOW, min_count=MIN_COUNT, sg=1,
                     hs=0, negative=NEGATIVES, ns_exponent=0.75, sample=SAMPLE, epochs=epochs,
                     workers=1, seed=seed)  # fmt: skip
    if set(model.wv.index_to_key) != set(vocabulary.words):
        raise RuntimeError("gensim's vocabulary differs from coursekit's")
    return np.stack([model.wv[word] for word in vocabulary.words])


def timed_per_epoch(train, epochs, *args):
    """``(vectors, cpu seconds per epoch, wall seconds per epoch)`` of one training run."""
    cpu, wall = time.process_time(), time.perf_counter()
    vectors = train(*args)
    return vectors, (time.process_time() - cpu) / epochs, (time.perf_counter() - wall) / epochs


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], argv)
    torch.set_num_threads(1)
    monitor = _common.LoadMonitor()
    epochs = QUICK_EPOCHS if args.quick else EPOCHS
    repetitions = args.repetitions or (QUICK_REPETITIONS if args.quick else REPETITIONS)
    tokens, vocabulary = corpus(args.quick)
    benchmarks = {name: load_word_similarity(name) for name in ("wordsim353", "simlex999")}
    sides = {"coursekit SGNS": train_coursekit, "gensim Word2Vec": train_gensim}

    vectors = {side: [] for side in sides}
    cpu = {side: [] for side in sides}
    wall = {side: [] for side in sides}
    for seed in range(repetitions):
        for side, train in sides.items():  # interleaved, so both see the same load
            found, cpu_s, wall_s = timed_per_epoch(train, epochs, tokens, vocabulary, epochs, seed)
            vectors[side].append(found)
            cpu[side].append(cpu_s)
            wall[side].append(wall_s)
            print(f"seed {seed}: {side} {cpu_s:.2f} CPU s per epoch", flush=True)

    top = np.arange(min(TOP_WORDS, len(vocabulary) - 1))  # ids are frequency ranks
    nxt = [(r, (r + 1) % repetitions) for r in range(repetitions)] if repetitions > 1 else []
    self_agreement = {side: [neighbour_overlap(vectors[side][a], vectors[side][b], top, K)
                             for a, b in nxt] for side in sides}  # fmt: skip
    a, b = sides
    cross = [neighbour_overlap(vectors[a][r], vectors[b][r], top, K) for r in range(repetitions)]
    rho, covered = {}, {}
    for name, pairs in benchmarks.items():
        for side in sides:
            results = [similarity_correlation(v, vocabulary, pairs) for v in vectors[side]]
            rho[name, side] = [value for value, _ in results]
            covered[name] = results[0][1]

    def cell(values, digits=3):
        return _common.spread(values, digits) if values else "—"

    header = ["model", "CPU time per epoch, s", "wall time per epoch, s",
              f"top-{K} overlap with its own next seed", "WordSim-353 rho", "SimLex-999 rho"]
    rows = [[side, cell(cpu[side]), cell(wall[side]), cell(self_agreement[side]),
             cell(rho["wordsim353", side]), cell(rho["simlex999", side])]
            for side in sides]  # fmt: skip
    speed = [c / g for c, g in zip(cpu[a], cpu[b], strict=True)]  # per repetition
    lines = [
        "# coursekit SGNS vs gensim Word2Vec",
        "",
        "Written by `bench/word2vec_vs_gensim.py` (its docstring defines every number).",
        "",
        *_common.machine_lines(["coursekit", "gensim", "numpy", "scipy", "torch"], args.quick),
        *monitor.lines(),
        "",
        (f"Corpus: {'Sense & Sensibility only' if args.quick else 'the six novels'} of "
         f"`load_jane_austen`, {len(tokens):,} tokens, {len(vocabulary):,} words with at least "
         f"{MIN_COUNT} occurrences. Both sides: skip-gram, vector size {DIM}, dynamic window "
         f"{WINDOW}, {NEGATIVES} noise words (unigram^0.75), subsampling t = {SAMPLE:g}, "
         f"{epochs} epoch(s), one thread. coursekit: mini-batch Adam (batch {BATCH_SIZE}, "
         f"lr {LR:g}); gensim: its per-pair SGD, lr 0.025 falling linearly. {repetitions} "
         "repetition(s), seeds 0, 1, …, run interleaved; cells are median [min, max]."),
        "",
        *_common.markdown_table(header, rows),
        "",
        (f"Agreement of the top-{K} neighbours of the {len(top)} most frequent words "
        "(share in common, averaged over the words; chance level is about "
        f"{K / len(vocabulary):.4f}):"),
        "",
        *_common.markdown_table(
            ["models compared", f"top-{K} overlap"],
            [[f"{a} vs {b}, same seed", cell(cross)],
             [f"{a} vs {a}, next seed (ceiling)", cell(self_agreement[a])],
             [f"{b} vs {b}, next seed (ceiling)", cell(self_agreement[b])]],
        ),
        "",
        (f"Coverage of the similarity sets: WordSim-353 {covered['wordsim353']} of 353 pairs, "
         f"SimLex-999 {covered['simlex999']} of 999 (both words in the vocabulary)."),
        "",
        (f"gensim is **{statistics.median(speed):.1f}×** as fast per epoch in CPU time "
         f"(median over repetitions; [{min(speed):.1f}, {max(speed):.1f}]): compiled Cython "
         "per-pair updates against coursekit's readable PyTorch mini-batches."),
    ]
    _common.write(args.output, "word2vec.md", lines)


if __name__ == "__main__":
    main()
