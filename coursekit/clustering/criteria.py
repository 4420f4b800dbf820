"""Clustering (кластеризация): the criteria of chapter 1.

Chapter 1 states the problem: given objects ``X`` ``[n, d]``, a distance ``rho`` and
``K`` clusters, find an algorithm ``a: X -> {0..K-1}``. With cluster centres ``w_y`` the
algorithm is the nearest-centre rule ``a(x) = argmin_y rho(x, w_y)``
(:func:`coursekit.distances.assign`, re-exported here). The functions below measure how good
a partition is:

* :func:`mean_intra_cluster_distance` and :func:`mean_inter_cluster_distance` — the mean
  distance over pairs of objects in the same cluster (to minimise) and in different
  clusters (to maximise);
* :func:`quantization_error` — the mean distance from an object to its nearest centre,
  the ``E_q`` of the self-organizing-map literature;
* :func:`within_cluster_sum` — the lecture's ``Q(w) = 1/2 sum_i rho^2(x_i, w_a(x_i))``,
  which competitive learning and k-means minimise.

Every function takes ``metric=`` as a name or a callable, resolved by
:func:`coursekit.distances.get_metric`. Labels may be any 1-D array (integers, strings).
"""

import numpy as np
from scipy import sparse

from coursekit.distances import assign, check_pair, get_metric, nearest
from coursekit.validation import check_matrix

__all__ = [
    "assign",
    "cluster_centers",
    "mean_inter_cluster_distance",
    "mean_intra_cluster_distance",
    "quantization_error",
    "quantize",
    "within_cluster_sum",
]

def quantize(X, centers, metric="euclidean"):
    """Quantization (квантизация): replace each ``x_i`` by its nearest centre ``w_a(x_i)``.

    ``X`` ``[n, d]``, ``centers`` ``[k, d]`` -> ``[n, d]``. Storing the ``k`` centres and
    one index per object instead of ``X`` is the compression that quantization buys.
    """
    X, centers = check_pair(X, centers, "centers")
    return centers[nearest(X, centers, metric)[0]]


def quantization_error(X, centers, metric="euclidean"):
    """Quantization error, the *mean distance* to the nearest centre.

    ``E_q = (1/n) sum_i rho(x_i, w_a(x_i))`` — the definition used for self-organizing
    maps (Kohonen 2001): a distance, not a squared one, averaged, not summed, so it reads
    in the units of the data. For the lecture's sum of squares see :func:`within_cluster_sum`.
    ``X`` ``[n, d]``, ``centers`` ``[k, d]`` -> float.
    """
    X, centers = check_pair(X, centers, "centers")
    return float(np.mean(nearest(X, centers, metric)[1]))


def within_cluster_sum(X, centers, metric="euclidean"):
    """The lecture's criterion ``Q(w) = 1/2 sum_i rho^2(x_i, w_a(x_i))``.

    Half the sum of squared distances to the nearest centre; with the Euclidean metric
    ``2 Q`` is what scikit-learn calls ``inertia_``. ``X`` ``[n, d]``, ``centers``
    ``[k, d]`` -> float.
    """
    X, centers = check_pair(X, centers, "centers")
    return float(0.5 * np.sum(nearest(X, centers, metric)[1] ** 2))


def cluster_centers(X, labels):
    """The mean of each cluster, ``w_y = mean{x_i : a(x_i) = y}``.

    ``X`` ``[n, d]``, ``labels`` ``[n]`` -> ``[K, d]``, one row per distinct label in
    sorted order (the order of ``np.unique(labels)``).
    """
    X = check_matrix(X, "X")
    labels = _check_labels(labels, X.shape[0])
    clusters, index = np.unique(labels, return_inverse=True)
    sums, counts = _cluster_sums(X, index, clusters.size)
    return sums / counts[:, None]


def _cluster_sums(X, labels, n_clusters):
    """Sum and count of the objects in each cluster: ``S_y = sum{x_i : a(x_i) = y}`` and ``N_y``.

    ``X`` ``[n, d]`` validated, ``labels`` ``[n]`` integers in ``0..n_clusters-1`` ->
    ``(sums [n_clusters, d] in the dtype of X, counts [n_clusters])``. The sums are one product of
    the sparse ``[K, n]`` indicator matrix ``[a(x_i) = y]`` with ``X`` (column ``i`` holds a single
    1, in row ``a(x_i)``): one pass over ``X``, whatever ``K``. k-means's update and the batch SOM
    both start from them.
    """
    n_samples = X.shape[0]
    indicator = sparse.csc_matrix(
        (np.ones(n_samples, dtype=X.dtype), labels, np.arange(n_samples + 1)),
        shape=(n_clusters, n_samples),
    )
    return indicator @ X, np.bincount(labels, minlength=n_clusters)


def mean_intra_cluster_distance(X, labels, metric="euclidean"):
    """Mean distance over pairs of objects in the *same* cluster (to minimise).

    ``F_0 = sum_{i<j} [a_i = a_j] rho(x_i, x_j) / sum_{i<j} [a_i = a_j]``.
    ``X`` ``[n, d]``, ``labels`` ``[n]`` -> float. Needs a cluster with two objects or more.
    """
    intra_sum, intra_pairs, _, _ = _pair_sums(X, labels, metric)
    if intra_pairs == 0:
        raise ValueError("labels puts every object in its own cluster: no pairs within a cluster")
    return intra_sum / intra_pairs


def mean_inter_cluster_distance(X, labels, metric="euclidean"):
    """Mean distance over pairs of objects in *different* clusters (to maximise).

    ``F_1 = sum_{i<j} [a_i != a_j] rho(x_i, x_j) / sum_{i<j} [a_i != a_j]``.
    ``X`` ``[n, d]``, ``labels`` ``[n]`` -> float. Needs at least two clusters.
    """
    _, _, inter_sum, inter_pairs = _pair_sums(X, labels, metric)
    if inter_pairs == 0:
        raise ValueError("labels has a single cluster: no pairs across clusters")
    return inter_sum / inter_pairs


def _pair_sums(X, labels, metric):
    """Sums and counts of ``rho`` over unordered pairs ``i < j``, within and across clusters.

    One block ``rho(X_c, X)`` ``[n_c, n]`` per cluster ``c`` keeps memory at ``n_c * n``
    rather than building a full ``[n, n]`` matrix when there are many clusters.
    """
    X = check_matrix(X, "X")
    labels = _check_labels(labels, X.shape[0])
    distance = get_metric(metric)
    intra_sum = inter_sum = 0.0
    for cluster in np.unique(labels):
        members = labels == cluster
        block = distance(X[members], X)  # [n_c, n]
        within = block[:, members]
        # Each unordered pair within c appears twice in `within`; the diagonal rho(x, x)
        # is left out rather than trusted to be exactly 0 after rounding.
        intra_sum += (within.sum() - np.trace(within)) / 2
        # Each pair across clusters appears once from either side, hence the 1/2.
        inter_sum += block[:, ~members].sum() / 2
    sizes = np.unique(labels, return_counts=True)[1].astype(np.int64)
    n = labels.size
    intra_pairs = int(np.sum(sizes * (sizes - 1) // 2))
    inter_pairs = n * (n - 1) // 2 - intra_pairs
    return float(intra_sum), intra_pairs, float(inter_sum), inter_pairs


def _check_labels(labels, n_samples, name="labels"):
    """Return ``labels`` as a 1-D array of length ``n_samples``; raise otherwise."""
    if labels is None or isinstance(labels, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D array-like, got {type(labels).__name__}")
    if hasattr(labels, "detach"):  # a torch tensor
        labels = labels.detach().cpu().numpy()
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D [n_samples], got shape {labels.shape}")
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {labels.shape[0]} entries but X has {n_samples} rows; they must match"
        )
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return labels
