"""The lecture's distance functions (меры расстояния), as pairwise matrices, and the rule built on them.

Every distance here is a function ``f(X, W)``: ``X`` holds ``n`` objects ``[n, d]``,
``W`` holds ``k`` objects (centres, prototypes, neurons' weights) ``[k, d]``, and the
result is the float64 matrix ``[n, k]`` with ``rho(x_i, w_j)`` at ``[i, j]``.
Inputs are NumPy arrays, array-likes or torch tensors; the output is always NumPy.

Models take ``metric=`` as a name or a callable and resolve it with :func:`get_metric`.

The rule that chapters 1 to 4 share, ``a(x) = argmin_y rho(x, w_y)`` (the nearest centre,
prototype or best-matching unit), is :func:`assign`. Models validate their input once, where
it enters (``fit``, ``predict``), and then run :func:`nearest` and the ``unchecked`` form of
each distance on the validated arrays, so their training loops do not check the same data
again at every step.
"""

import functools

import numpy as np
import torch

from coursekit.validation import check_matrix, check_same_features

METRICS = ("euclidean", "sqeuclidean", "manhattan", "chebyshev", "cosine")
"""The names :func:`get_metric` understands."""

CHUNK_ELEMENTS = 20_000_000
"""How many elements one block of differences ``[rows, k, d]`` may hold (160 MB of float64)."""

BLOCK_ELEMENTS = 4_000_000
"""How many entries one block of the distance matrix ``[rows, k]`` may hold in :func:`nearest`."""


def check_pair(X, W, w_name="W"):
    """Validate a pair of object matrices: both 2-D, finite, with the same feature count."""
    X = check_matrix(X, "X")
    W = check_matrix(W, w_name)
    check_same_features(X, W, "X", w_name)
    return X, W


def _checks_pair(distance):
    """The public ``f(X, W)`` of a ``distance`` written for validated arrays.

    The public function validates ``X`` and ``W`` (:func:`check_pair`) and calls ``distance``;
    ``f.unchecked`` is ``distance`` itself, for loops whose arrays were validated once.
    """

    @functools.wraps(distance)
    def checked(X, W):
        return distance(*check_pair(X, W))

    checked.unchecked = distance
    # Found by pickle (a model keeps the distance it trains with) as ``module.name.unchecked``.
    distance.__qualname__ = f"{distance.__qualname__}.unchecked"
    return checked


@_checks_pair
def sqeuclidean(X, W, x_squared_norms=None):
    """Squared Euclidean distance, ``rho(x, w) = sum_j (x^j - w^j)^2``.

    Computed through the expansion ``||x||^2 - 2 <x, w> + ||w||^2``: one matrix product
    instead of an ``[n, k, d]`` array of differences. Shapes: ``[n, d], [k, d] -> [n, k]``.
    The one place coursekit computes squared distances; the dtype of ``X`` is kept.
    ``sqeuclidean.unchecked`` also takes ``x_squared_norms`` ``[n]``, the ``||x_i||^2`` of a
    caller that measures the same ``X`` many times (k-means++).
    """
    if x_squared_norms is None:
        x_squared_norms = np.einsum("ij,ij->i", X, X)
    squared = X @ W.T
    squared *= -2.0
    squared += x_squared_norms[:, None]
    squared += np.einsum("ij,ij->i", W, W)[None, :]
    # Rounding in the expansion can leave near-duplicate pairs slightly below zero.
    return np.maximum(squared, 0.0, out=squared)


@_checks_pair
def euclidean(X, W):
    """Euclidean distance, ``rho(x, w) = sqrt(sum_j (x^j - w^j)^2)``. ``[n, d], [k, d] -> [n, k]``."""
    return np.sqrt(sqeuclidean.unchecked(X, W))


@_checks_pair
def manhattan(X, W):
    """Manhattan (city-block) distance, ``rho(x, w) = sum_j |x^j - w^j|``. ``-> [n, k]``."""
    return _over_row_blocks(X, W, lambda difference: difference.sum(axis=2))


@_checks_pair
def chebyshev(X, W):
    """Supremum-norm (Chebyshev) distance, ``rho(x, w) = max_j |x^j - w^j|``. ``-> [n, k]``."""
    return _over_row_blocks(X, W, lambda difference: difference.max(axis=2))


@_checks_pair
def cosine(X, W):
    """Cosine ("scalar product") distance, ``rho(x, w) = 1 - <x, w> / (||x|| ||w||)``.

    Lies in ``[0, 2]``: 0 for vectors pointing the same way, 2 for opposite ones. It is
    undefined for the zero vector, so a zero row in ``X`` or ``W`` raises ``ValueError``.
    Shapes: ``[n, d], [k, d] -> [n, k]``.
    """
    similarity = _unit_rows(X, "X") @ _unit_rows(W, "W").T
    # Rounding can push the cosine a hair outside [-1, 1]; distances stay in [0, 2].
    return np.clip(1.0 - similarity, 0.0, 2.0)


def minkowski(p, weights=None):
    """The weighted Minkowski distance as a function ``f(X, W) -> [n, k]``.

    ``rho(x, w) = (sum_j weights_j |x^j - w^j|^p)^(1/p)`` with ``p >= 1`` (finite; the limit
    ``p -> inf`` is :func:`chebyshev`) and non-negative ``weights`` ``[d]`` (all ones when
    ``None``). ``p = 1`` gives :func:`manhattan`, ``p = 2`` gives :func:`euclidean`.
    """
    return MinkowskiDistance(p, weights)


class MinkowskiDistance:
    """A weighted Minkowski distance with fixed ``p`` and ``weights``; see :func:`minkowski`."""

    def __init__(self, p, weights=None):
        self.p = _check_p(p)
        self.weights = None if weights is None else _check_weights(weights)
        self.__name__ = f"minkowski(p={self.p:g}" + (")" if weights is None else ", weights)")

    def __call__(self, X, W):
        return self.unchecked(*check_pair(X, W))

    def unchecked(self, X, W):
        """The distance on arrays already validated (see :func:`check_pair`)."""
        weights = self._weights_for(X.shape[1])
        powered_sum = _over_row_blocks(X, W, lambda difference: difference**self.p @ weights)
        return powered_sum ** (1.0 / self.p)

    def __repr__(self):
        return self.__name__

    def _weights_for(self, n_features):
        if self.weights is None:
            return np.ones(n_features)
        if self.weights.shape[0] != n_features:
            raise ValueError(
                f"weights has {self.weights.shape[0]} entries but X and W have "
                f"{n_features} features; they must match"
            )
        return self.weights


_BY_NAME = {
    "euclidean": euclidean,
    "sqeuclidean": sqeuclidean,
    "manhattan": manhattan,
    "chebyshev": chebyshev,
    "cosine": cosine,
}


def get_metric(metric):
    """Resolve ``metric`` (a name from :data:`METRICS` or a callable ``f(X, W)``) to a function."""
    if callable(metric):
        return metric
    if isinstance(metric, str) and metric in _BY_NAME:
        return _BY_NAME[metric]
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a name or a callable f(X, W), got {type(metric).__name__}")
    raise ValueError(
        f"metric must be one of {', '.join(METRICS)} or a callable f(X, W) "
        f"(for example minkowski(p=3)), got {metric!r}"
    )


def unchecked(metric):
    """The distance ``metric`` for arrays validated already: ``f.unchecked`` of coursekit's
    distances, a user's callable as it is. Resolve it once, outside a training loop."""
    distance = get_metric(metric)
    return getattr(distance, "unchecked", distance)


def assign(X, centers, metric="euclidean"):
    """The nearest-centre rule (правило ближайшего центра), ``a(x) = argmin_y rho(x, w_y)``.

    ``X`` ``[n, d]``, ``centers`` ``[k, d]`` -> ``[n]`` integers in ``0..k-1``. Ties go to
    the centre listed first (NumPy's ``argmin`` convention). The same rule picks the nearest
    centre of k-means, the winner of the Kohonen network, the nearest prototype of LVQ and
    the best-matching unit of a self-organizing map; they all call :func:`nearest`.
    """
    X, centers = check_pair(X, centers, "centers")
    return nearest(X, centers, metric)[0]


def nearest(X, centers, metric="euclidean", *, with_distances=True):
    """``a(x_i) = argmin_y rho(x_i, w_y)`` and ``rho(x_i, w_a(x_i))`` on validated arrays.

    ``X`` ``[n, d]`` and ``centers`` ``[k, d]`` must come from :func:`check_pair` (or a model's
    own check at its door); the dtype of ``X`` is kept. Returns ``(winners [n], distances
    [n])``, or ``(winners, None)`` with ``with_distances=False`` (cheaper). For the Euclidean
    distance (and its square) the winner is found without the distances to the other centres:
    ``||x||^2`` is the same for every centre, so ``argmin_y ||x - w_y||^2 = argmax_y (<x, w_y>
    - ||w_y||^2 / 2)``, one matrix product and a bias per centre (a layer of linear units
    followed by the competition). Rows are taken in blocks of at most :data:`BLOCK_ELEMENTS`
    distances, so memory stays bounded. For these two metrics ``X`` and ``centers`` may also be
    torch tensors (on one device, a GPU's included): the same rule, answered in tensors there.
    """
    n, k = X.shape[0], centers.shape[0]
    expansion = isinstance(metric, str) and metric in ("euclidean", "sqeuclidean")
    rows = max(1, BLOCK_ELEMENTS // max(k, 1))
    if not isinstance(X, np.ndarray):
        return _nearest_in_tensors(X, centers, metric, expansion, rows, with_distances)
    winners = np.empty(n, dtype=np.intp)
    distances = np.empty(n, dtype=np.result_type(X.dtype, centers.dtype)) if with_distances else None
    if expansion:
        half_norms = 0.5 * np.einsum("ij,ij->i", centers, centers)
    else:
        distance = unchecked(metric)
    for start in range(0, n, rows):
        block = slice(start, start + rows)
        if expansion:
            scores = _scores(X[block], centers, half_norms)
            winners[block] = scores.argmax(1)
            if not with_distances:
                continue
            best = np.take_along_axis(scores, winners[block, None], axis=1)[:, 0]
            squared = np.einsum("ij,ij->i", X[block], X[block]) - 2.0 * best
            distances[block] = np.maximum(squared, 0.0)
        else:
            rho = np.asarray(distance(X[block], centers))
            winners[block] = np.argmin(rho, axis=1)
            if with_distances:
                distances[block] = np.take_along_axis(rho, winners[block, None], axis=1)[:, 0]
    if with_distances and expansion and metric == "euclidean":
        np.sqrt(distances, out=distances)
    return winners, distances


def nearest_two(X, centers, x_squared_norms=None):
    """The nearest centre, its Euclidean distance and the distance to the runner-up.

    The same rule and the same winners as :func:`nearest` (one expansion, ties to the first
    centre), for validated arrays ``X`` ``[n, d]`` and ``centers`` ``[k, d]`` with ``k >= 2``;
    ``x_squared_norms`` ``[n]`` saves recomputing ``||x_i||^2``. Returns ``(winners [n],
    nearest [n], runner_up [n])``. k-means uses the two distances as bounds that let it skip
    objects whose centre cannot have changed (:class:`coursekit.clustering.KMeans`).
    """
    if x_squared_norms is None:
        x_squared_norms = np.einsum("ij,ij->i", X, X)
    half_norms = 0.5 * np.einsum("ij,ij->i", centers, centers)
    n = X.shape[0]
    winners, best, second = np.empty(n, dtype=np.intp), np.empty(n), np.empty(n)
    rows = max(1, BLOCK_ELEMENTS // centers.shape[0])
    for start in range(0, n, rows):
        block = slice(start, start + rows)
        scores = _scores(X[block], centers, half_norms)
        winners[block] = scores.argmax(1)
        each = np.arange(scores.shape[0])
        best[block] = scores[each, winners[block]]
        scores[each, winners[block]] = -np.inf
        second[block] = scores.max(1)
    # ||x - w||^2 = ||x||^2 - 2 (<x, w> - ||w||^2 / 2)
    return (winners, np.sqrt(np.maximum(x_squared_norms - 2.0 * best, 0.0)),
            np.sqrt(np.maximum(x_squared_norms - 2.0 * second, 0.0)))


def _scores(X, centers, half_norms):
    """``<x_i, w_y> - ||w_y||^2 / 2`` ``[n, k]``: the larger, the nearer (arrays or tensors)."""
    scores = X @ centers.T
    scores -= half_norms
    return scores


def _nearest_in_tensors(X, centers, metric, expansion, rows, with_distances):
    """:func:`nearest` for torch tensors, on their device."""
    if not expansion:
        raise ValueError(f"torch tensors are supported for 'euclidean' and 'sqeuclidean' only, "
                         f"got metric={metric!r}; pass NumPy arrays")
    half_norms = 0.5 * (centers * centers).sum(1)
    winners = torch.empty(X.shape[0], dtype=torch.long, device=X.device)
    for start in range(0, X.shape[0], rows):
        winners[start : start + rows] = _scores(X[start : start + rows], centers, half_norms).argmax(1)
    if not with_distances:
        return winners, None
    squared = ((X - centers[winners]) ** 2).sum(1)
    return winners, squared.sqrt() if metric == "euclidean" else squared


def _over_row_blocks(X, W, reduce):
    """Apply ``reduce`` to ``|x - w|`` ``[rows, k, d] -> [rows, k]`` block by block of ``X``.

    Blocks hold at most :data:`CHUNK_ELEMENTS` differences (one row at least), so memory
    stays bounded however many objects ``X`` has.
    """
    n, k, d = X.shape[0], W.shape[0], X.shape[1]
    rows_per_block = max(1, CHUNK_ELEMENTS // (k * d))
    result = np.empty((n, k))
    for start in range(0, n, rows_per_block):
        block = slice(start, start + rows_per_block)
        result[block] = reduce(np.abs(X[block, None, :] - W[None, :, :]))
    return result


def _unit_rows(X, name):
    """Rows of ``X`` divided by their Euclidean norms; zero rows raise ``ValueError``."""
    norms = np.linalg.norm(X, axis=1)
    zero_rows = np.flatnonzero(norms == 0)
    if zero_rows.size:
        raise ValueError(
            f"{name} has zero vectors (rows {zero_rows[:5].tolist()}); "
            "the cosine distance is undefined for the zero vector"
        )
    return X / norms[:, None]


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"p must be a number, got {type(p).__name__}")
    if not np.isfinite(p) or p < 1:
        raise ValueError(f"p must be a finite number >= 1 (use chebyshev for p = inf), got {p}")
    return float(p)


def _check_weights(weights):
    if hasattr(weights, "detach"):  # a torch tensor
        weights = weights.detach().cpu()
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"weights must be an array-like of numbers: {error}") from None
    if weights.ndim != 1:
        raise ValueError(f"weights must be 1-D [n_features], got shape {weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights contains NaN or infinite values")
    if np.any(weights < 0):
        raise ValueError(f"weights must be non-negative, got minimum {weights.min()}")
    return weights
