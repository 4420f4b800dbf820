"""coursekit.blocks.word2vec: the SGNS loss, the pairs, the vocabulary, neighbours, PPMI + SVD.

References: the loss and its gradient written out in NumPy, the pairs by a double loop over
positions, neighbours by a plain cosine loop, PPMI computed by hand on a tiny corpus, the SVD
by NumPy's dense one.
"""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from coursekit.blocks import word2vec
from coursekit.blocks.word2vec import (
    SkipGram,
    Vocabulary,
    cooccurrence_matrix,
    nearest_words,
    ppmi,
    ppmi_svd,
    similarity_correlation,
    skipgram_pairs,
    tokenize,
    train_skipgram,
)
from coursekit.train import fit


def random_model(vocab_size=7, dim=4, seed=0):
    """A float64 SkipGram whose two embedding tables are random (u is zero at init)."""
    torch.manual_seed(seed)
    model = SkipGram(vocab_size, dim).double()
    with torch.no_grad():
        model.input_embeddings.weight.normal_()
        model.output_embeddings.weight.normal_()
    return model


def numpy_sgns_loss(v, u, center, context, negatives):
    """-log s(u_o.v_c) - sum_k log s(-u_k.v_c), averaged over pairs, by a loop in NumPy."""

    def log_sigmoid(x):
        return -math.log1p(math.exp(-x))

    losses = []
    for c, o, noise in zip(center, context, negatives, strict=True):
        loss = -log_sigmoid(u[o] @ v[c])
        loss -= sum(log_sigmoid(-(u[k] @ v[c])) for k in noise)
        losses.append(loss)
    return np.mean(losses)


# ------------------------------------------------------------------------------ the loss


def test_loss_equals_the_formula_written_in_numpy():
    model = random_model()
    rng = np.random.default_rng(1)
    center, context = rng.integers(0, 7, 9), rng.integers(0, 7, 9)
    negatives = rng.integers(0, 7, (9, 3))
    loss = model.loss(*(torch.as_tensor(a) for a in (center, context, negatives)))
    v = model.input_embeddings.weight.detach().numpy()
    u = model.output_embeddings.weight.detach().numpy()
    assert loss.item() == pytest.approx(numpy_sgns_loss(v, u, center, context, negatives), rel=1e-12)


def test_loss_gradient_for_the_centre_vector_is_the_closed_form():
    # d/dv_c = -(1 - s(u_o.v_c)) u_o + sum_k s(u_k.v_c) u_k   (one pair, so no mean)
    model = random_model()
    center, context, negatives = torch.tensor([2]), torch.tensor([5]), torch.tensor([[0, 3, 3]])
    model.loss(center, context, negatives).backward()
    v = model.input_embeddings.weight.detach().numpy()[2]
    u = model.output_embeddings.weight.detach().numpy()

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    expected = -(1 - sigmoid(u[5] @ v)) * u[5] + sum(sigmoid(u[k] @ v) * u[k] for k in (0, 3, 3))
    np.testing.assert_allclose(model.input_embeddings.weight.grad[2].numpy(), expected, rtol=1e-12)


def test_batch_form_draws_its_negatives_from_the_noise_distribution():
    noise = np.zeros(7)
    noise[4] = 1.0  # every noise word is word 4
    model = random_model()
    model.noise = torch.as_tensor(noise)
    model.negatives = 3
    center, context = torch.tensor([0, 1, 6]), torch.tensor([2, 2, 3])
    explicit = model.loss(center, context, torch.full((3, 3), 4))
    assert model.loss((center, context)).item() == pytest.approx(explicit.item(), rel=1e-12)


def test_drawn_negatives_follow_the_noise_distribution():
    noise = np.array([0.5, 0.3, 0.2])
    model = SkipGram(3, 2, noise=noise, negatives=10)
    draws = model.draw_negatives(5000, generator=torch.Generator().manual_seed(0))
    assert draws.shape == (5000, 10)
    shares = np.bincount(draws.numpy().ravel(), minlength=3) / draws.numel()
    # 50,000 draws: the standard error of a share is below 0.0023; allow about 4 of them
    np.testing.assert_allclose(shares, noise, atol=0.01)


def test_skipgram_trains_with_the_course_fit_loop():
    model = SkipGram(6, 3, noise=np.ones(6), negatives=2)
    pairs = torch.tensor([[0, 1], [1, 0], [2, 3], [3, 2]] * 8)
    history = fit(model, (pairs[:, 0], pairs[:, 1]), epochs=3, batch_size=8, progress=False)
    assert len(history["loss"]) == 3 and all(np.isfinite(history["loss"]))


def test_training_puts_words_of_the_same_topic_next_to_each_other():
    # two topics that never share a window: words 0-4 and words 5-9, in blocks of 40
    rng = np.random.default_rng(0)
    blocks = [rng.integers(0, 5, 40) + 5 * (b % 2) for b in range(60)]
    tokens = [f"w{i}" for i in np.concatenate(blocks)]
    vocabulary = Vocabulary(tokens, min_count=1)
    model = SkipGram(len(vocabulary), 8, noise=vocabulary.noise_distribution(), negatives=3)
    history = train_skipgram(model, vocabulary, vocabulary.encode(tokens), epochs=8, window=2,
                             sample=1.0, batch_size=256, lr=0.02, generator=0)  # fmt: skip
    assert history["loss"][-1] < history["loss"][0]
    topic = {f"w{i}": i // 5 for i in range(10)}
    for word in ("w0", "w7"):
        neighbours = nearest_words(model.embeddings(), vocabulary, word, 4)
        assert {topic[w] for w, _ in neighbours} == {topic[word]}


# ------------------------------------------------------------------------------ the pairs


def brute_force_pairs(ids, window):
    return [
        (ids[i], ids[j])
        for i in range(len(ids))
        for j in range(len(ids))
        if i != j and abs(i - j) <= window
    ]


@pytest.mark.parametrize("window", [1, 2, 3, 7])
def test_pairs_are_those_of_a_double_loop_over_positions(window):
    ids = np.random.default_rng(window).integers(0, 5, 23)
    pairs = skipgram_pairs(ids, window)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2
    assert [tuple(p) for p in pairs] == brute_force_pairs(list(ids), window)


def test_dynamic_window_gives_each_centre_a_full_symmetric_window_of_its_own():
    ids = np.arange(40)  # distinct words, so a pair names its two positions
    window = 4
    pairs = skipgram_pairs(ids, window, dynamic=True, generator=1)
    for centre in range(len(ids)):
        offsets = sorted(pairs[pairs[:, 0] == centre, 1] - centre)
        reach = max(abs(d) for d in offsets)
        assert 1 <= reach <= window
        expected = [d for d in range(-reach, reach + 1) if d and 0 <= centre + d < len(ids)]
        assert offsets == expected


def test_dynamic_window_uses_a_context_d_away_with_probability_w_minus_d_plus_1_over_w():
    ids = np.arange(20_000)
    window = 4
    pairs = skipgram_pairs(ids, window, dynamic=True, generator=0)
    distance = np.abs(pairs[:, 1] - pairs[:, 0])
    for d in range(1, window + 1):
        share = np.sum(distance == d) / (2 * len(ids))  # two sides per centre
        # 20,000 centres: the standard error is below 0.0036; allow about 4 of them
        assert share == pytest.approx((window - d + 1) / window, abs=0.015)


# ------------------------------------------------------------------------- the vocabulary


def test_tokenize_lowercases_and_splits_on_everything_but_letters():
    text = "Emma Woodhouse, handsome, _clever_; and rich! Elizabeth's 1811"
    expected = ["emma", "woodhouse", "handsome", "clever", "and", "rich", "elizabeth", "s"]
    assert tokenize(text) == expected


def test_vocabulary_keeps_words_of_min_count_most_frequent_first():
    tokens = ["b", "a", "c", "a", "b", "a", "d", "b", "e", "e"]  # a 3, b 3, e 2, c 1, d 1
    vocabulary = Vocabulary(tokens, min_count=2)
    assert vocabulary.words == ["a", "b", "e"]
    np.testing.assert_array_equal(vocabulary.counts, [3, 3, 2])
    np.testing.assert_array_equal(vocabulary.encode(tokens), [1, 0, 0, 1, 0, 1, 2, 2])


def test_noise_distribution_is_proportional_to_count_to_the_three_quarters():
    tokens = ["a"] * 81 + ["b"] * 16 + ["c"] * 1  # counts^0.75 = 27, 8, 1
    noise = Vocabulary(tokens, min_count=1).noise_distribution()
    np.testing.assert_allclose(noise, np.array([27, 8, 1]) / 36, rtol=1e-12)


def test_keep_probability_is_sqrt_t_over_f_plus_t_over_f_clipped_at_one():
    tokens = ["a"] * 900 + ["b"] * 99 + ["c"]
    keep = Vocabulary(tokens, min_count=1).keep_probabilities(sample=0.01)
    f = np.array([0.9, 0.099, 0.001])
    expected = np.minimum(1, np.sqrt(0.01 / f) + 0.01 / f)
    np.testing.assert_allclose(keep, expected, rtol=1e-12)
    assert keep[2] == 1.0


def test_subsampling_keeps_each_word_at_its_keep_rate():
    tokens = ["a"] * 50_000 + ["b"] * 5_000
    vocabulary = Vocabulary(tokens, min_count=1)
    kept = vocabulary.subsample(vocabulary.encode(tokens), sample=1e-3, generator=0)
    keep = vocabulary.keep_probabilities(1e-3)
    rates = np.bincount(kept, minlength=2) / vocabulary.counts
    # keep rates 0.034 (a) and 0.116 (b); binomial standard errors 0.0008 and 0.0045
    assert rates[0] == pytest.approx(keep[0], abs=0.0035)  # about 4 standard errors
    assert rates[1] == pytest.approx(keep[1], abs=0.02)


# --------------------------------------------------------------------------- neighbours


def test_nearest_words_match_a_brute_force_cosine_ranking():
    rng = np.random.default_rng(3)
    embeddings = rng.normal(size=(30, 5))
    words = [f"w{i}" for i in range(30)]
    cosines = []
    for i in range(30):
        if i != 7:
            dot = sum(embeddings[7, j] * embeddings[i, j] for j in range(5))
            cosines.append((dot / np.linalg.norm(embeddings[7]) / np.linalg.norm(embeddings[i]),
                            words[i]))  # fmt: skip
    expected = sorted(cosines, reverse=True)[:6]
    found = nearest_words(embeddings, words, "w7", 6)
    assert [w for w, _ in found] == [w for _, w in expected]
    np.testing.assert_allclose([c for _, c in found], [c for c, _ in expected], rtol=1e-12)


def test_neighbour_overlap_matches_sets_of_nearest_words():
    rng = np.random.default_rng(5)
    first, second = rng.normal(size=(25, 4)), rng.normal(size=(25, 6))
    words = [f"w{i}" for i in range(25)]
    rows = [0, 3, 11, 24]
    expected = np.mean([
        len({w for w, _ in nearest_words(first, words, words[r], 5)}
            & {w for w, _ in nearest_words(second, words, words[r], 5)}) / 5
        for r in rows
    ])  # fmt: skip
    assert word2vec.neighbour_overlap(first, second, rows, k=5) == pytest.approx(expected)
    assert word2vec.neighbour_overlap(first, first * 3.0, rows, k=5) == 1.0


def test_nearest_words_accept_a_tensor_and_a_vocabulary():
    vocabulary = Vocabulary(["a", "a", "b", "c"], min_count=1)
    embeddings = torch.tensor([[1.0, 0.0], [0.9, 0.1], [-1.0, 0.0]])
    assert [w for w, _ in nearest_words(embeddings, vocabulary, "a", 2)] == ["b", "c"]


def test_similarity_correlation_is_spearman_on_the_covered_pairs():
    embeddings = np.array([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0], [1.0, 1.0]])
    words = ["a", "b", "c", "d"]
    pairs = [("a", "b", 9.0), ("a", "c", 1.0), ("b", "d", 6.0), ("a", "zebra", 5.0)]
    rho, used = similarity_correlation(embeddings, words, pairs)
    cosines = [0.98058, 0.0, 0.83205]  # (a,b), (a,c), (b,d) by hand
    assert used == 3
    assert rho == pytest.approx(scipy.stats.spearmanr([9, 1, 6], cosines).statistic)


# ---------------------------------------------------------------------- PPMI and its SVD


def test_ppmi_of_a_hand_computed_matrix():
    # N = 6, row sums 5 and 1, column sums 5 and 1:
    # PMI(0,0) = log(4*6/25) < 0 -> 0;  PMI(0,1) = PMI(1,0) = log(1*6/5);  n_11 = 0 -> 0
    result = ppmi(np.array([[4.0, 1.0], [1.0, 0.0]])).toarray()
    expected = np.array([[0.0, math.log(1.2)], [math.log(1.2), 0.0]])
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_cooccurrence_counts_of_a_tiny_corpus_by_hand():
    # a b a b c a, window 1: {a,b} adjacent 3 times, {b,c} once, {c,a} once
    counts = cooccurrence_matrix([0, 1, 0, 1, 2, 0], 3, window=1).toarray()
    np.testing.assert_array_equal(counts, [[0, 3, 1], [3, 0, 1], [1, 1, 0]])
    # and its PPMI: N = 10, row/column sums 4, 4, 2
    expected = np.log(np.array([[0, 3 * 10 / 16, 10 / 8], [3 * 10 / 16, 0, 10 / 8],
                                [10 / 8, 10 / 8, 0]]).clip(min=1))  # fmt: skip
    np.testing.assert_allclose(ppmi(counts).toarray(), expected, rtol=1e-12)


def test_ppmi_svd_rows_are_u_times_sqrt_s_of_the_dense_svd():
    ids = np.random.default_rng(0).integers(0, 8, 400)
    matrix = ppmi(cooccurrence_matrix(ids, 8, window=2)).toarray()
    left, singular, _ = np.linalg.svd(matrix)
    vectors = ppmi_svd(ids, 8, window=2, dim=3)
    expected = left[:, :3] * np.sqrt(singular[:3])
    signs = np.sign(np.sum(vectors * expected, axis=0))  # a singular vector's sign is free
    np.testing.assert_allclose(vectors * signs, expected, atol=1e-8)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("window", [0, -1, 1.5])
def test_window_below_one_or_not_an_integer_is_rejected(window):
    with pytest.raises((ValueError, TypeError), match="window"):
        skipgram_pairs([0, 1, 2], window)


def test_token_ids_must_be_one_dimensional():
    with pytest.raises(ValueError, match="token_ids"):
        skipgram_pairs(np.zeros((2, 3), dtype=int), 2)


def test_unknown_word_is_rejected_by_name():
    with pytest.raises(ValueError, match="word 'darcy' is not in the vocabulary"):
        nearest_words(np.eye(3), ["a", "b", "c"], "darcy", 1)


@pytest.mark.parametrize("k", [0, 3, 2.0, True])
def test_k_outside_one_to_v_minus_one_is_rejected(k):
    with pytest.raises(ValueError, match="k must be an integer in \\[1, 2\\]"):
        nearest_words(np.eye(3), ["a", "b", "c"], "a", k)


def test_embeddings_must_have_one_row_per_word():
    with pytest.raises(ValueError, match="embeddings"):
        nearest_words(np.eye(4), ["a", "b", "c"], "a", 1)


@pytest.mark.parametrize(
    "name, center, context, negatives",
    [
        ("center", torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, dtype=torch.long),
         torch.zeros(2, 3, dtype=torch.long)),
        ("negatives", torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long),
         torch.zeros(2, dtype=torch.long)),
        ("context", torch.zeros(2, dtype=torch.long), torch.zeros(2),
         torch.zeros(2, 3, dtype=torch.long)),
        ("same batch size", torch.zeros(2, dtype=torch.long), torch.zeros(3, dtype=torch.long),
         torch.zeros(2, 3, dtype=torch.long)),
    ],
)  # fmt: skip
def test_loss_rejects_wrong_shapes_naming_the_argument(name, center, context, negatives):
    with pytest.raises(ValueError, match=name):
        SkipGram(5, 2).loss(center, context, negatives)


@pytest.mark.parametrize("bad", [-1, 5])
def test_loss_rejects_ids_outside_the_vocabulary(bad):
    context = torch.tensor([0, bad])
    with pytest.raises(ValueError, match=r"context holds ids in .* outside \[0, 5\)"):
        SkipGram(5, 2).loss(torch.tensor([0, 1]), context, torch.zeros(2, 1, dtype=torch.long))


def test_subsample_rejects_ids_outside_the_vocabulary():
    vocabulary = Vocabulary(["a", "b"], min_count=1)
    with pytest.raises(ValueError, match="token_ids"):
        vocabulary.subsample([0, 2], sample=0.1)


def test_noise_must_have_one_weight_per_word():
    with pytest.raises(ValueError, match="noise"):
        SkipGram(5, 2, noise=np.ones(4))


def test_batch_form_without_noise_explains_what_is_missing():
    with pytest.raises(ValueError, match="noise"):
        SkipGram(5, 2).loss((torch.tensor([0]), torch.tensor([1])))


@pytest.mark.parametrize("name, kwargs", [("vocab_size", {"vocab_size": 0, "dim": 2}),
                                          ("dim", {"vocab_size": 3, "dim": 0})])  # fmt: skip
def test_sizes_must_be_positive(name, kwargs):
    with pytest.raises(ValueError, match=name):
        SkipGram(**kwargs)


def test_min_count_that_leaves_no_word_is_rejected():
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary(["a", "b"], min_count=2)


def test_ppmi_svd_dim_must_be_below_the_vocabulary_size():
    with pytest.raises(ValueError, match="dim"):
        ppmi_svd([0, 1, 2, 1], 3, window=1, dim=3)


def test_public_names_are_importable_from_coursekit_blocks():
    from coursekit import blocks

    assert blocks.SkipGram is word2vec.SkipGram
    assert blocks.nearest_words is word2vec.nearest_words
    assert blocks.skipgram_pairs is word2vec.skipgram_pairs
