"""word2vec: skip-gram with negative sampling (SGNS), and PPMI + SVD for contrast.

The lecture's model: every word w has a vector, and the closer the vectors of u and w, the
more probable w is in the context of u, p(w | u) = softmax_w <x_w, x_u> (Mikolov et al.,
2013a). Negative sampling replaces that softmax over the whole vocabulary by k binary
questions per pair (Mikolov et al., 2013b):

    loss(c, o) = -log sigma(u_o . v_c) - sum_{k=1..K} log sigma(-u_k . v_c),   u_k ~ P_n,

with v the input ("centre") vectors, u the output ("context") vectors and P_n the noise
distribution, the unigram distribution raised to the power 3/4. Frequent words are
subsampled before the pairs are formed.

The pipeline: ``tokenize`` -> ``Vocabulary`` (min count, noise distribution, subsampling) ->
``skipgram_pairs`` -> ``SkipGram`` trained by ``train_skipgram`` (which calls
``coursekit.train.fit`` once per epoch) -> ``nearest_words``. The count-based contrast:
``cooccurrence_matrix`` -> ``ppmi`` -> ``ppmi_svd``.
"""

import collections
import re

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import scipy.stats
import torch
from torch import nn
from torch.nn import functional as F

from coursekit.train import fit
from coursekit.validation import check_positive_float, check_positive_int

WORD = re.compile(r"[a-z]+")


def tokenize(text):
    """The lower-cased words of ``text``: maximal runs of the letters a-z.

    Punctuation, digits and the underscores of Project Gutenberg's italics separate words;
    an apostrophe splits a word too ("elizabeth's" -> "elizabeth", "s").
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return WORD.findall(text.lower())


# ----------------------------------------------------------------------------- vocabulary


class Vocabulary:
    """The words seen at least ``min_count`` times, most frequent first (ties: alphabetical).

    ``words`` [V] and ``counts`` [V] (int64) are in index order; ``index[word]`` is a word's
    id. ``encode(tokens)`` maps tokens to ids and drops the rare ones.
    """

    def __init__(self, tokens, *, min_count=5):
        min_count = check_positive_int(min_count, "min_count")
        counted = collections.Counter(tokens)
        frequent = sorted(
            (item for item in counted.items() if item[1] >= min_count),
            key=lambda item: (-item[1], item[0]),
        )
        if not frequent:
            raise ValueError(f"no word occurs min_count={min_count} times in tokens")
        self.words = [word for word, _ in frequent]
        self.counts = np.array([count for _, count in frequent], dtype=np.int64)
        self.index = {word: i for i, word in enumerate(self.words)}
        self.min_count = min_count

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def encode(self, tokens):
        """The ids (int64 [n]) of the tokens that are in the vocabulary, in order."""
        return np.array([self.index[t] for t in tokens if t in self.index], dtype=np.int64)

    def noise_distribution(self, power=0.75):
        """P_n(w) = count(w)^power / sum_v count(v)^power, float64 [V] (Mikolov: power 3/4)."""
        weights = self.counts.astype(np.float64) ** power
        return weights / weights.sum()

    def keep_probabilities(self, sample=1e-5):
        """The probability of keeping each occurrence of a word, float64 [V].

        With f(w) = count(w) / total and threshold t = ``sample``: keep = sqrt(t/f) + t/f,
        clipped to 1. Mikolov et al. (2013b) discard with probability 1 - sqrt(t/f); their
        released code (and gensim) keeps with the formula used here, which differs only by
        the small t/f term.
        """
        sample = check_positive_float(sample, "sample")
        frequency = self.counts / self.counts.sum()
        return np.minimum(1.0, np.sqrt(sample / frequency) + sample / frequency)

    def subsample(self, token_ids, sample=1e-5, *, generator=None):
        """``token_ids`` with each occurrence of word w dropped with probability 1 - keep(w).

        ``generator`` is a ``numpy.random.Generator`` or a seed.
        """
        token_ids = _check_ids(token_ids, "token_ids", len(self))
        rng = np.random.default_rng(generator)
        keep = self.keep_probabilities(sample)[token_ids]
        return token_ids[rng.random(len(token_ids)) < keep]


def _check_ids(ids, name, vocab_size, ndim=1):
    """``ids`` as an int64 NumPy array of ``ndim`` dims with every value in [0, vocab_size)."""
    ids = np.asarray(ids)
    if ids.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name} must hold integer word ids, got dtype {ids.dtype}")
    ids = ids.astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"{name} holds ids in [{ids.min()}, {ids.max()}], outside [0, {vocab_size})"
        )
    return ids


# ---------------------------------------------------------------------------------- pairs


def skipgram_pairs(token_ids, window, *, dynamic=False, generator=None):
    """All (centre, context) pairs of positions at most ``window`` apart: int64 [P, 2].

    Pairs are ordered by centre position, then by context position; a pair whose two
    positions hold the same word is kept. With ``dynamic=False`` (the default) the window is
    fixed. With ``dynamic=True`` each centre draws its own window b uniformly from
    1..``window`` (Mikolov's code, gensim), so a context d positions away is used with
    probability (window - d + 1) / window: near words weigh more. ``generator`` (a
    ``numpy.random.Generator`` or a seed) draws the dynamic windows.
    """
    token_ids = np.asarray(token_ids)
    if token_ids.ndim != 1:
        raise ValueError(f"token_ids must be 1-D, got shape {token_ids.shape}")
    window = check_positive_int(window, "window")
    n = len(token_ids)
    positions = np.arange(n)
    reach = np.full(n, window)
    if dynamic:
        reach = np.random.default_rng(generator).integers(1, window + 1, size=n)
    # one offset at a time: the pairs (i, i + d) for d = -window..window, d != 0
    centres, contexts = [], []
    for offset in [d for d in range(-window, window + 1) if d != 0]:
        inside = (positions + offset >= 0) & (positions + offset < n) & (abs(offset) <= reach)
        centres.append(positions[inside])
        contexts.append(positions[inside] + offset)
    centres, contexts = np.concatenate(centres), np.concatenate(contexts)
    order = np.lexsort((contexts, centres))
    pairs = np.stack([token_ids[centres[order]], token_ids[contexts[order]]], axis=1)
    return pairs.astype(np.int64)


# ---------------------------------------------------------------------------------- model


class SkipGram(nn.Module):
    """Skip-gram word vectors with negative sampling: ``SkipGram(vocab_size, dim)``.

    ``input_embeddings`` (v, [V, dim]) are the word vectors one keeps; ``output_embeddings``
    (u, [V, dim]) serve only the training objective. As in Mikolov's code, v starts uniform
    in [-0.5/dim, 0.5/dim) and u at zero. Both are plain (dense) ``nn.Embedding``s: with a
    vocabulary of a few thousand words a dense Adam step is cheaper than sparse gradients.

    ``noise`` (float [V], optional) is the noise distribution P_n and ``negatives`` the number
    K of noise words per pair that ``loss`` draws in its batch form, ``loss((centre,
    context))``, the form :func:`coursekit.train.fit` calls.
    """

    def __init__(self, vocab_size, dim, *, noise=None, negatives=5):
        super().__init__()
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        self.dim = check_positive_int(dim, "dim")
        self.negatives = check_positive_int(negatives, "negatives")
        self.input_embeddings = nn.Embedding(vocab_size, dim)
        self.output_embeddings = nn.Embedding(vocab_size, dim)
        nn.init.uniform_(self.input_embeddings.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.output_embeddings.weight)
        if noise is not None:
            noise = torch.as_tensor(np.asarray(noise, dtype=np.float64))
            if noise.shape != (vocab_size,) or (noise < 0).any() or noise.sum() <= 0:
                raise ValueError(
                    f"noise must be {vocab_size} non-negative weights, got shape "
                    f"{tuple(noise.shape)}"
                )
            noise = noise / noise.sum()
        self.register_buffer("noise", noise, persistent=False)

    def loss(self, center, context=None, negatives=None):
        """Mean negative-sampling loss over a batch of B (centre, context) pairs.

        -log sigma(u_o . v_c) - sum_k log sigma(-u_k . v_c), averaged over the batch.
        Explicit form: ``center`` [B] and ``context`` [B] word ids, ``negatives`` [B, K].
        Batch form (for ``fit``): ``loss((center, context))`` draws ``negatives`` [B, K]
        from ``noise`` with replacement.
        """
        if context is None and isinstance(center, (tuple, list)) and len(center) == 2:
            center, context = center
            negatives = self.draw_negatives(len(center))
        center = self._checked_ids(center, "center", 1)
        context = self._checked_ids(context, "context", 1)
        negatives = self._checked_ids(negatives, "negatives", 2)
        if not len(center) == len(context) == len(negatives):
            raise ValueError(
                f"center, context and negatives must have the same batch size, got "
                f"{len(center)}, {len(context)} and {len(negatives)}"
            )
        v_c = self.input_embeddings(center)  # [B, dim]
        u_o = self.output_embeddings(context)  # [B, dim]
        u_k = self.output_embeddings(negatives)  # [B, K, dim]
        positive = F.logsigmoid((u_o * v_c).sum(-1))  # [B]
        negative = F.logsigmoid(-(u_k * v_c.unsqueeze(1)).sum(-1)).sum(-1)  # [B]
        return -(positive + negative).mean()

    def draw_negatives(self, batch_size, generator=None):
        """Noise word ids [batch_size, K], drawn from ``noise`` with replacement."""
        if self.noise is None:
            raise ValueError("this SkipGram has no noise distribution: pass noise= to draw")
        draws = torch.multinomial(self.noise, batch_size * self.negatives, replacement=True,
                                  generator=generator)  # fmt: skip
        return draws.view(batch_size, self.negatives).to(self.input_embeddings.weight.device)

    def _checked_ids(self, ids, name, ndim):
        if not torch.is_tensor(ids):
            raise TypeError(f"{name} must be a tensor of word ids, got {type(ids).__name__}")
        if ids.ndim != ndim or ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"{name} must be a {ndim}-D integer tensor, got shape {tuple(ids.shape)} "
                f"and dtype {ids.dtype}"
            )
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(
                f"{name} holds ids in [{ids.min().item()}, {ids.max().item()}], outside "
                f"[0, {self.vocab_size})"
            )
        return ids

    def embeddings(self):
        """The input vectors v as a float32 NumPy array [V, dim] (what word2vec outputs)."""
        return self.input_embeddings.weight.detach().cpu().numpy().copy()


def train_skipgram(model, vocabulary, token_ids, *, epochs, window=5, sample=1e-4,
                   batch_size=4096, lr=3e-3, generator=None, progress=False):  # fmt: skip
    """Train ``model`` (a :class:`SkipGram` with ``noise``) on ``token_ids``; returns history.

    Each epoch subsamples frequent words afresh (``Vocabulary.subsample`` with ``sample``),
    forms the pairs with a dynamic window of at most ``window`` and runs one epoch of
    :func:`coursekit.train.fit` (``loss((center, context))``, shuffled mini-batches, on the
    CPU). One Adam optimizer serves every epoch, so its moment estimates carry over.
    ``generator`` (an int seed) makes the whole run reproducible. Returns ``{"loss": [mean
    loss per epoch], "pairs": [pairs per epoch]}``.
    """
    epochs = check_positive_int(epochs, "epochs")
    token_ids = _check_ids(token_ids, "token_ids", len(vocabulary))
    if model.vocab_size != len(vocabulary):
        raise ValueError(
            f"model has vocab_size {model.vocab_size}, vocabulary has {len(vocabulary)} words"
        )
    rng = np.random.default_rng(generator)
    torch_generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"loss": [], "pairs": []}
    for _ in range(epochs):
        kept = vocabulary.subsample(token_ids, sample, generator=rng)
        pairs = torch.from_numpy(skipgram_pairs(kept, window, dynamic=True, generator=rng))
        with torch.random.fork_rng(devices=[]):  # negatives drawn reproducibly, global RNG
            torch.manual_seed(int(rng.integers(2**62)))  # state restored afterwards
            epoch = fit(model, (pairs[:, 0], pairs[:, 1]), epochs=1, batch_size=batch_size,
                        optimizer=optimizer, progress=progress, generator=torch_generator,
                        device="cpu")  # fmt: skip
        history["loss"] += epoch["loss"]
        history["pairs"].append(len(pairs))
    return history


# ------------------------------------------------------------------------- neighbours


def nearest_words(embeddings, vocabulary, word, k=10):
    """The ``k`` words whose vectors have the largest cosine similarity to ``word``'s.

    ``embeddings`` [V, dim] (array or tensor), ``vocabulary`` the V words in row order (a list
    or a :class:`Vocabulary`). Returns a list of ``(word, cosine)``, most similar first,
    without ``word`` itself; ties are broken by row order.
    """
    embeddings = np.asarray(
        embeddings.detach().cpu() if torch.is_tensor(embeddings) else embeddings, dtype=np.float64
    )
    words = list(vocabulary.words if isinstance(vocabulary, Vocabulary) else vocabulary)
    if embeddings.ndim != 2 or len(embeddings) != len(words):
        raise ValueError(
            f"embeddings must be [V, dim] with one row per word of vocabulary (V = "
            f"{len(words)}), got shape {embeddings.shape}"
        )
    if word not in words:
        raise ValueError(f"word {word!r} is not in the vocabulary")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < len(words):
        raise ValueError(f"k must be an integer in [1, {len(words) - 1}], got {k!r}")
    row = words.index(word)
    norms = np.linalg.norm(embeddings, axis=1)
    cosine = embeddings @ embeddings[row] / np.maximum(norms * norms[row], 1e-300)
    cosine[row] = -np.inf  # never one's own neighbour
    best = np.argsort(-cosine, kind="stable")[:k]
    return [(words[i], float(cosine[i])) for i in best]


def neighbour_overlap(first, second, rows, k=10):
    """Mean share of common top-``k`` cosine neighbours of the words ``rows`` in two spaces.

    ``first`` [V, d1] and ``second`` [V, d2] hold vectors of the same V words (row i is word
    i in both); for each row r the score is |N_k(r) in first  and  N_k(r) in second| / k,
    where N_k are the ``k`` nearest other rows by cosine (as in :func:`nearest_words`).
    Returns the mean over ``rows``: 1 for identical neighbourhoods, about k / V by chance.
    """
    first, second = (np.asarray(e, dtype=np.float64) for e in (first, second))
    if first.ndim != 2 or second.ndim != 2 or len(first) != len(second):
        raise ValueError(
            f"first and second must be [V, d] with the same V, got {first.shape} and "
            f"{second.shape}"
        )
    rows = _check_ids(rows, "rows", len(first))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < len(first):
        raise ValueError(f"k must be an integer in [1, {len(first) - 1}], got {k!r}")
    pairs = zip(_top_k(first, rows, k), _top_k(second, rows, k), strict=True)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in pairs]))


def _top_k(vectors, rows, k):
    """The ``k`` nearest other rows of each of ``rows`` by cosine, int [len(rows), k]."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-300)
    cosine = unit[rows] @ unit.T  # [len(rows), V]
    cosine[np.arange(len(rows)), rows] = -np.inf  # never one's own neighbour
    return np.argsort(-cosine, axis=1, kind="stable")[:, :k]


# ------------------------------------------------------------------- the count-based view


def cooccurrence_matrix(token_ids, vocab_size, window):
    """n_wc: how often word c occurs within ``window`` positions of word w, sparse [V, V].

    The counts of :func:`skipgram_pairs` with a fixed window (symmetric in w and c).
    """
    token_ids = _check_ids(token_ids, "token_ids", check_positive_int(vocab_size, "vocab_size"))
    pairs = skipgram_pairs(token_ids, window)
    counts = scipy.sparse.coo_matrix(
        (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(vocab_size, vocab_size)
    )
    return counts.tocsr()  # duplicates are summed


def ppmi(counts):
    """Positive pointwise mutual information of a co-occurrence matrix, sparse [V, C].

    PPMI(w, c) = max(0, log(n_wc * N / (n_w * n_c))) with n_w, n_c the row and column sums
    and N the total; zero where n_wc = 0.
    """
    counts = scipy.sparse.csr_matrix(counts, dtype=np.float64)
    if (counts.data < 0).any():
        raise ValueError("counts must be non-negative")
    counts.eliminate_zeros()
    total = counts.sum()
    rows = np.asarray(counts.sum(axis=1)).ravel()
    columns = np.asarray(counts.sum(axis=0)).ravel()
    coo = counts.tocoo()
    pmi = np.log(coo.data * total / (rows[coo.row] * columns[coo.col]))
    positive = pmi > 0
    return scipy.sparse.csr_matrix(
        (pmi[positive], (coo.row[positive], coo.col[positive])), shape=counts.shape
    )


def ppmi_svd(token_ids, vocab_size, *, window=5, dim=100, random_state=0):
    """Count-based word vectors (Levy & Goldberg 2014): W = U_d sqrt(S_d), float64 [V, dim].

    PPMI of the fixed-window co-occurrence counts, then its truncated SVD
    PPMI ~ U_d S_d V_d^T; each word gets the row of U_d sqrt(S_d) (the symmetric split of
    Levy, Goldberg & Dagan 2015). ``random_state`` seeds the ARPACK start vector.
    """
    dim = check_positive_int(dim, "dim")
    if dim >= vocab_size:
        raise ValueError(f"dim must be below vocab_size ({vocab_size}), got {dim}")
    matrix = ppmi(cooccurrence_matrix(token_ids, vocab_size, window))
    start = np.random.default_rng(random_state).uniform(-1, 1, min(matrix.shape))
    left, singular, _ = scipy.sparse.linalg.svds(matrix, k=dim, v0=start)
    order = np.argsort(-singular)  # svds returns ascending singular values
    return left[:, order] * np.sqrt(singular[order])


def similarity_correlation(embeddings, vocabulary, pairs):
    """Spearman's rho between human similarity scores and the cosines of word vectors.

    ``pairs`` is a sequence of ``(word1, word2, score)`` (e.g. WordSim-353); only the pairs
    with both words in ``vocabulary`` count. Returns ``(rho, n_used)``: the benchmark's
    coverage on this vocabulary is ``n_used / len(pairs)``.
    """
    words = list(vocabulary.words if isinstance(vocabulary, Vocabulary) else vocabulary)
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) != len(words):
        raise ValueError(
            f"embeddings must be [V, dim] with V = {len(words)}, got shape {embeddings.shape}"
        )
    row = {word: i for i, word in enumerate(words)}
    used = [(row[a], row[b], score) for a, b, score in pairs if a in row and b in row]
    if len(used) < 3:
        raise ValueError(f"only {len(used)} of the pairs have both words in the vocabulary")
    first, second, human = (np.array(column) for column in zip(*used, strict=True))
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-300)
    cosines = np.einsum("ij,ij->i", unit[first], unit[second])
    return float(scipy.stats.spearmanr(human, cosines).statistic), len(used)
