"""Clustering (кластеризация): the criteria of chapter 1.

Chapter 1 states the problem: given objects ``X`` ``[n, d]``, a distance ``rho`` and
``K`` clusters, find an algorithm ``a: X -> {0..K-1}``. With cluster centres ``w_y`` the
algorithm is the nearest-centre rule ``a(x) = argmin_y rho(x, w_y)`` (:func:`assign`).
The functions below measure how good a partition is:

* :func:`mean_intra_cluster_distance` and :func:`mean_inter_cluster_distance` — the mean
  distance over pairs of objects in the same cluster (to minimise) and in different
  clusters (to maximise);
* :func:`quantization_error` — the mean distance from an object to its nearest centre,
  the ``E_q`` of the self-organizing-map literature;
* :func:`within_cluster_sum` — the lecture's ``Q(w) = 1/2 sum_i rho^2(x_i, w_a(x_i))``,
  which competitive learning and k-means minimise.

Every function takes ``metric=`` as a name or a callable, resolved by
:func:`coursekit.distances.get_metric`. Labels may be any 1-D array (integers, strings).

Chapter 2 adds two models that learn the centres (scikit-learn estimators):

* :class:`KMeans` — Lloyd's algorithm (:func:`lloyd_step`) with the lecture's delta stopping
  rule, started by k-means++ (:func:`kmeans_plusplus`);
* :class:`GaussianMixture` — a mixture of Gaussians fitted by EM: :func:`e_step` (the
  posteriors ``g_i(j)``), :func:`m_step` (weighted maximum likelihood), :func:`lower_bound`
  (the lecture's bound ``L``), with densities from :func:`gaussian_log_density`.
"""

import numpy as np
from scipy import linalg, sparse
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClusterMixin, DensityMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from coursekit.distances import get_metric, sqeuclidean
from coursekit.validation import (
    check_matrix,
    check_positive_float,
    check_positive_int,
    check_same_features,
)


def assign(X, centers, metric="euclidean"):
    """Index of the nearest centre, ``a(x) = argmin_y rho(x, w_y)``.

    ``X`` ``[n, d]``, ``centers`` ``[k, d]`` -> ``[n]`` integers in ``0..k-1``. Ties go to
    the centre listed first (NumPy's ``argmin`` convention).
    """
    return np.argmin(_distances_to_centers(X, centers, metric), axis=1)


def quantize(X, centers, metric="euclidean"):
    """Quantization (квантизация): replace each ``x_i`` by its nearest centre ``w_a(x_i)``.

    ``X`` ``[n, d]``, ``centers`` ``[k, d]`` -> ``[n, d]``. Storing the ``k`` centres and
    one index per object instead of ``X`` is the compression that quantization buys.
    """
    centers = check_matrix(centers, "centers")
    return centers[assign(X, centers, metric)]


def quantization_error(X, centers, metric="euclidean"):
    """Quantization error, the *mean distance* to the nearest centre.

    ``E_q = (1/n) sum_i rho(x_i, w_a(x_i))`` — the definition used for self-organizing
    maps (Kohonen 2001): a distance, not a squared one, averaged, not summed, so it reads
    in the units of the data. For the lecture's sum of squares see :func:`within_cluster_sum`.
    ``X`` ``[n, d]``, ``centers`` ``[k, d]`` -> float.
    """
    return float(np.mean(np.min(_distances_to_centers(X, centers, metric), axis=1)))


def within_cluster_sum(X, centers, metric="euclidean"):
    """The lecture's criterion ``Q(w) = 1/2 sum_i rho^2(x_i, w_a(x_i))``.

    Half the sum of squared distances to the nearest centre; with the Euclidean metric
    ``2 Q`` is what scikit-learn calls ``inertia_``. ``X`` ``[n, d]``, ``centers``
    ``[k, d]`` -> float.
    """
    nearest = np.min(_distances_to_centers(X, centers, metric), axis=1)
    return float(0.5 * np.sum(nearest**2))


def cluster_centers(X, labels):
    """The mean of each cluster, ``w_y = mean{x_i : a(x_i) = y}``.

    ``X`` ``[n, d]``, ``labels`` ``[n]`` -> ``[K, d]``, one row per distinct label in
    sorted order (the order of ``np.unique(labels)``).
    """
    X = check_matrix(X, "X")
    labels = _check_labels(labels, X.shape[0])
    clusters, index = np.unique(labels, return_inverse=True)
    sums = np.zeros((clusters.size, X.shape[1]))
    np.add.at(sums, index, X)
    return sums / np.bincount(index)[:, None]


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


def _distances_to_centers(X, centers, metric):
    """Validated ``rho(x_i, w_y)`` matrix ``[n, k]``."""
    X = check_matrix(X, "X")
    centers = check_matrix(centers, "centers")
    check_same_features(X, centers, "X", "centers")
    return get_metric(metric)(X, centers)


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


# --- Chapter 2: k-means (Lloyd's algorithm) ---------------------------------------------------


def kmeans_plusplus(X, n_clusters, random_state=None, n_local_trials=None):
    """k-means++ seeding (Arthur & Vassilvitskii 2007): ``n_clusters`` rows of ``X`` as centres.

    The first centre is an object drawn uniformly; each next one is drawn with probability
    ``D(x)^2 / sum_i D(x_i)^2``, where ``D(x)`` is the distance from ``x`` to the nearest centre
    chosen so far. In the *greedy* variant (the paper's section 6, also scikit-learn's default)
    ``n_local_trials`` candidates are drawn per step (``2 + ln K`` when ``None``) and the one
    that lowers ``sum_i D(x_i)^2`` most is kept. Objects already chosen have ``D = 0`` and
    cannot be drawn again, so the centres are distinct objects. ``X`` ``[n, d]`` ->
    ``(centres [K, d], indices [K])``.
    """
    X = check_matrix(X, "X")
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}")
    rng = check_random_state(random_state)
    trials = 2 + int(np.log(n_clusters)) if n_local_trials is None else n_local_trials
    trials = check_positive_int(trials, "n_local_trials")
    indices = np.empty(n_clusters, dtype=np.int64)
    x_squared_norms = np.einsum("ij,ij->i", X, X)
    indices[0] = rng.randint(X.shape[0])
    closest = _squared_distances(X, X[indices[:1]], x_squared_norms)[:, 0]  # D(x_i)^2, [n]
    for k in range(1, n_clusters):
        if closest.sum() <= 0:  # fewer distinct objects than clusters: take unused ones
            unused = np.setdiff1d(np.arange(X.shape[0]), indices[:k])
            indices[k] = rng.choice(unused)
            continue
        draws = rng.uniform(size=trials) * closest.sum()
        candidates = np.minimum(np.searchsorted(np.cumsum(closest), draws), X.shape[0] - 1)
        to_candidates = _squared_distances(X, X[candidates], x_squared_norms).T  # [trials, n]
        candidate_closest = np.minimum(closest, to_candidates)
        best = np.argmin(candidate_closest.sum(axis=1))
        indices[k], closest = candidates[best], candidate_closest[best]
    return X[indices].copy(), indices


def lloyd_step(X, centers):
    """One iteration of Lloyd's algorithm: assign every object, then move every centre.

    Assignment: ``a(x_i) = argmin_y ||x_i - w_y||^2`` (:func:`nearest_center`). Update:
    ``w_y = mean{x_i : a(x_i) = y}``, the sums over clusters taken as one product of the sparse
    ``[K, n]`` indicator matrix ``[a(x_i) = y]`` with ``X``. A cluster left empty gets the object
    farthest from its centre (scikit-learn's choice). ``X`` ``[n, d]``, ``centers`` ``[K, d]``
    -> ``(new centres [K, d], labels [n])``.
    """
    n_samples, n_clusters = X.shape[0], centers.shape[0]
    labels, scores = nearest_center(X, centers)
    indicator = sparse.csc_matrix(  # column i holds a single 1, in row a(x_i)
        (np.ones(n_samples), labels, np.arange(n_samples + 1)), shape=(n_clusters, n_samples)
    )
    sums = indicator @ X  # [K, d]: row y is the sum of the objects assigned to y
    counts = np.bincount(labels, minlength=n_clusters)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        # ||x - w_a(x)||^2 = ||x||^2 - 2 score(x, w_a(x)); needed only in this rare case.
        distances = np.einsum("ij,ij->i", X, X) - 2.0 * scores[np.arange(n_samples), labels]
        farthest = np.argsort(distances)[::-1][: empty.size]
        sums[empty], counts[empty] = X[farthest], 1
    return sums / counts[:, None], labels


def nearest_center(X, centers):
    """The nearest centre by the expansion ``||x - w||^2 = ||x||^2 - 2 <x, w> + ||w||^2``.

    ``||x||^2`` is the same for every centre, so ``argmin_y ||x - w_y||^2`` is
    ``argmax_y (<x, w_y> - ||w_y||^2 / 2)``: one matrix product and a bias per centre, a layer
    of linear units followed by the competition. ``X`` ``[n, d]``, ``centers`` ``[K, d]`` ->
    ``(labels [n], scores [n, K])``; ties go to the centre listed first.
    """
    scores = X @ centers.T
    scores -= 0.5 * np.einsum("ij,ij->i", centers, centers)
    return np.argmax(scores, axis=1), scores


def _squared_distances(X, centers, x_squared_norms):
    """``||x_i - w_y||^2`` ``[n, K]`` by the expansion, without re-validating ``X``.

    The same formula as :func:`coursekit.distances.sqeuclidean`; k-means++ calls it once per
    new centre on the same ``X``, so ``||x_i||^2`` is computed once and passed in.
    """
    squared = (x_squared_norms[:, None] - 2.0 * (X @ centers.T)) + np.einsum(
        "ij,ij->i", centers, centers
    )[None, :]
    return np.maximum(squared, 0.0)


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means clustering by Lloyd's algorithm (lecture 003), started by k-means++.

    Minimises the within-cluster sum of squares ``sum_i ||x_i - w_a(x_i)||^2`` (``2 Q`` of
    chapter 1, scikit-learn's ``inertia_``) by alternating the two steps of :func:`lloyd_step`.

    Stopping (the lecture's delta rule): stop when no centre moved by more than ``delta`` in
    one iteration, ``max_y ||w_y^new - w_y^old||^2 <= tol * mean_j Var(x^j)`` (``tol`` is
    relative to the spread of the data, as in scikit-learn); unchanged assignments give zero
    movement and stop it too. ``max_iter`` caps the number of iterations.

    ``init``: ``"k-means++"`` (:func:`kmeans_plusplus`), ``"random"`` (``K`` distinct objects
    drawn uniformly, the lecture's step 2) or an array ``[K, d]`` of starting centres.
    ``n_init``: number of runs from different starts, the best (lowest inertia) kept; ``"auto"``
    is 1 for k-means++ and 10 for ``"random"``; an array start is always run once.

    Fitted: ``cluster_centers_`` ``[K, d]``, ``labels_`` ``[n]``, ``inertia_`` (float),
    ``n_iter_`` (iterations of the best run), ``n_features_in_``.
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y=None):
        """Run Lloyd's algorithm ``n_init`` times on ``X`` ``[n, d]``; keep the best run."""
        X = _validated(self, X, reset=True)
        n_clusters = check_positive_int(self.n_clusters, "n_clusters")
        if X.shape[0] < n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}")
        max_iter = check_positive_int(self.max_iter, "max_iter")
        tol = check_positive_float(self.tol, "tol", allow_zero=True)
        x_squared_norms = np.einsum("ij,ij->i", X, X)  # ||x_i||^2, for the spread and inertia
        # mean_j Var(x^j) = (mean_i ||x_i||^2 - ||mean_i x_i||^2) / d, without a centred copy
        spread = np.mean(x_squared_norms) - np.sum(X.mean(axis=0) ** 2)
        delta = tol * max(spread, 0.0) / X.shape[1]
        rng = check_random_state(self.random_state)
        best = None
        for _ in range(self._n_runs()):
            centers = self._initial_centers(X, n_clusters, rng)
            run = self._lloyd(X, centers, max_iter, delta, x_squared_norms)
            if best is None or run[2] < best[2]:
                best = run
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        return self

    @staticmethod
    def _lloyd(X, centers, max_iter, delta, x_squared_norms):
        """Lloyd's iterations until the delta rule holds; final labels match final centres.

        Returns ``(centres, labels, inertia, iterations)``; the inertia
        ``sum_i ||x_i - w_a(x_i)||^2`` comes from the same expansion as the assignment.
        """
        for n_iter in range(1, max_iter + 1):
            new_centers, _ = lloyd_step(X, centers)
            shift = np.max(np.sum((new_centers - centers) ** 2, axis=1))
            centers = new_centers
            if shift <= delta:  # the lecture's rule: no centre moved by more than delta
                break
        labels, scores = nearest_center(X, centers)
        nearest = x_squared_norms - 2.0 * scores[np.arange(X.shape[0]), labels]
        return centers, labels, float(np.sum(np.maximum(nearest, 0.0))), n_iter

    def _n_runs(self):
        if isinstance(self.n_init, str):
            if self.n_init != "auto":
                raise ValueError(
                    f"n_init must be a positive integer or 'auto', got {self.n_init!r}"
                )
            return 10 if isinstance(self.init, str) and self.init == "random" else 1
        n_init = check_positive_int(self.n_init, "n_init")
        return 1 if not isinstance(self.init, str) else n_init

    def _initial_centers(self, X, n_clusters, rng):
        if isinstance(self.init, str):
            if self.init == "k-means++":
                return kmeans_plusplus(X, n_clusters, random_state=rng)[0]
            if self.init == "random":
                return X[rng.choice(X.shape[0], n_clusters, replace=False)].copy()
            raise ValueError(
                f"init must be 'k-means++', 'random' or an array [n_clusters, n_features], "
                f"got {self.init!r}"
            )
        centers = check_matrix(self.init, "init")
        if centers.shape != (n_clusters, X.shape[1]):
            raise ValueError(
                f"init must have shape (n_clusters, n_features) = ({n_clusters}, {X.shape[1]}), "
                f"got {centers.shape}"
            )
        return centers.copy()

    def predict(self, X):
        """Index of the nearest centre for each row of ``X`` ``[n, d]`` -> ``[n]``."""
        check_is_fitted(self)
        X = _validated(self, X, reset=False)
        return nearest_center(X, self.cluster_centers_)[0]

    def transform(self, X):
        """Euclidean distances to the centres, ``[n, d] -> [n, K]`` (scikit-learn's convention)."""
        check_is_fitted(self)
        X = _validated(self, X, reset=False)
        return np.sqrt(sqeuclidean(X, self.cluster_centers_))

    def score(self, X, y=None):
        """Minus the inertia of ``X`` under the fitted centres (higher is better)."""
        check_is_fitted(self)
        X = _validated(self, X, reset=False)
        return -float(np.sum(np.min(sqeuclidean(X, self.cluster_centers_), axis=1)))


def _validated(estimator, X, *, reset):
    """``X`` as a finite float64 ``[n, d]`` array, with scikit-learn's feature bookkeeping.

    scikit-learn's ``validate_data`` rejects sparse, complex, 1-D, empty and non-finite input
    with its standard messages and records (``reset=True``) or checks ``n_features_in_`` and
    DataFrame column names; :func:`coursekit.validation.check_matrix` then fixes the type.
    """
    X = validate_data(estimator, X, reset=reset, dtype=np.float64)
    return check_matrix(X, "X")


# --- Chapter 2: Gaussian mixtures and the EM algorithm ----------------------------------------

COVARIANCE_TYPES = ("full", "diag")
"""Covariance shapes of :class:`GaussianMixture`: ``full`` ``[K, d, d]``, ``diag`` ``[K, d]``."""


def gaussian_log_density(X, means, covariances, covariance_type="full"):
    """``ln N(x_i | mu_j, Sigma_j)`` for every object and component, ``[n, K]``.

    ``ln N = -1/2 (d ln 2pi + ln det Sigma + (x - mu)^T Sigma^-1 (x - mu))``, computed through
    the Cholesky factor ``Sigma = L L^T``: ``ln det Sigma = 2 sum ln diag L`` and the quadratic
    form is ``||L^-1 (x - mu)||^2`` (``L^-1`` by a triangular solve, never ``Sigma^-1``). ``means`` ``[K, d]``;
    ``covariances`` ``[K, d, d]`` (``full``) or ``[K, d]`` (``diag``, the variances).
    """
    X = check_matrix(X, "X")
    means = check_matrix(means, "means")
    check_same_features(X, means, "X", "means")
    covariances = np.asarray(covariances, dtype=np.float64)
    d = X.shape[1]
    if covariance_type == "diag":
        if covariances.shape != means.shape or np.any(covariances <= 0):
            raise ValueError(f"diag covariances must be positive, of shape {means.shape}")
        # sum_d (x^d - mu^d)^2 / var^d, expanded like sqeuclidean: three matrix products.
        precision = 1.0 / covariances  # [K, d]
        quadratic = (
            X**2 @ precision.T - 2.0 * X @ (means * precision).T
            + np.sum(means**2 * precision, axis=1)[None, :]
        )
        quadratic = np.maximum(quadratic, 0.0)
        log_det = np.sum(np.log(covariances), axis=1)
    elif covariance_type == "full":
        if covariances.shape != (means.shape[0], d, d):
            raise ValueError(
                f"full covariances must have shape {(means.shape[0], d, d)}, "
                f"got {covariances.shape}"
            )
        quadratic = np.empty((X.shape[0], means.shape[0]))
        log_det = np.empty(means.shape[0])
        for j, (mu, sigma) in enumerate(zip(means, covariances)):
            cholesky = _cholesky(sigma, j)
            # L^-1 once ([d, d], a triangular solve), then L^-1 (x - mu) for all x as one
            # matrix product: much faster than a triangular solve with n right-hand sides.
            inverse = linalg.solve_triangular(cholesky, np.eye(d), lower=True)
            whitened = X @ inverse.T - inverse @ mu  # rows L^-1 (x_i - mu), [n, d]
            quadratic[:, j] = np.einsum("ij,ij->i", whitened, whitened)
            log_det[j] = 2.0 * np.sum(np.log(np.diag(cholesky)))
    else:
        raise ValueError(
            f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}"
        )
    return -0.5 * (d * np.log(2 * np.pi) + log_det[None, :] + quadratic)


def e_step(X, weights, means, covariances, covariance_type="full"):
    """E-step: the posterior of the hidden component, ``g_i(j) = P(j | x_i)``.

    ``g_i(j) = w_j F(x_i, q_j) / sum_s w_s F(x_i, q_s)`` with ``F`` the Gaussian density, in
    log space: ``ln g_i(j) = ln w_j + ln F(x_i, q_j) - logsumexp_s(ln w_s + ln F(x_i, q_s))``.
    The log-sum-exp is also ``ln p(x_i)``, the object's log-likelihood under the mixture.
    ``weights`` ``[K]`` -> ``(g [n, K] with rows summing to 1, ln p(x_i) [n])``.
    """
    weighted = np.log(weights)[None, :] + gaussian_log_density(
        X, means, covariances, covariance_type
    )  # ln w_j F(x_i, q_j), [n, K]
    log_likelihood = logsumexp(weighted, axis=1)  # ln p(x_i), [n]
    return np.exp(weighted - log_likelihood[:, None]), log_likelihood


def m_step(X, responsibilities, covariance_type="full", reg_covar=1e-6):
    """M-step: the weighted maximum-likelihood parameters for fixed ``g_i(j)``.

    ``w_j = (1/N) sum_i g_i(j)``; ``mu_j = sum_i g_i(j) x_i / sum_i g_i(j)``;
    ``Sigma_j = sum_i g_i(j) (x_i - mu_j)(x_i - mu_j)^T / sum_i g_i(j) + reg_covar * I``
    (``diag``: only the diagonal). ``reg_covar`` is the covariance floor: it keeps a
    component that collapsed onto one point (or a line) invertible, at the price of a tiny
    bias. ``X`` ``[n, d]``, ``responsibilities`` ``[n, K]`` -> ``(weights [K], means [K, d],
    covariances [K, d, d] or [K, d])``.
    """
    X = check_matrix(X, "X")
    g = check_matrix(responsibilities, "responsibilities")
    if g.shape[0] != X.shape[0]:
        raise ValueError(f"responsibilities has {g.shape[0]} rows but X has {X.shape[0]}")
    # A component nobody belongs to would divide by zero; 10 eps keeps it finite.
    totals = np.maximum(g.sum(axis=0), 10 * np.finfo(np.float64).eps)  # sum_i g_i(j), [K]
    weights = totals / totals.sum()
    means = g.T @ X / totals[:, None]
    if covariance_type == "full":
        covariances = np.empty((g.shape[1], X.shape[1], X.shape[1]))
        for j in range(g.shape[1]):
            centred = X - means[j]
            covariances[j] = (g[:, j, None] * centred).T @ centred / totals[j]
            covariances[j].flat[:: X.shape[1] + 1] += reg_covar
    elif covariance_type == "diag":
        # E_g[(x - mu)^2] = E_g[x^2] - mu^2, clipped at 0 against rounding.
        covariances = np.maximum(g.T @ X**2 / totals[:, None] - means**2, 0.0) + reg_covar
    else:
        raise ValueError(
            f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}"
        )
    return weights, means, covariances


def lower_bound(X, responsibilities, weights, means, covariances, covariance_type="full"):
    """The lecture's lower bound ``L = sum_i sum_j g_i(j) ln(w_j F(x_i, q_j) / g_i(j))``.

    By Jensen's inequality ``L <= ln P(X) = sum_i ln sum_j w_j F(x_i, q_j)``, and the gap is
    ``ln P(X) - L = sum_i KL(g_i || P(. | x_i))``, zero exactly when ``g`` is the posterior
    (after an E-step). Terms with ``g_i(j) = 0`` contribute 0. Returns a float (a sum, not a mean).
    """
    g = check_matrix(responsibilities, "responsibilities")
    weighted = np.log(weights)[None, :] + gaussian_log_density(
        X, means, covariances, covariance_type
    )
    positive = g > 0
    return float(np.sum(g[positive] * (weighted[positive] - np.log(g[positive]))))


class GaussianMixture(DensityMixin, BaseEstimator):
    """A mixture of Gaussians ``p(x) = sum_j w_j N(x | mu_j, Sigma_j)`` fitted by EM.

    EM (lecture 003): from an initial approximation, repeat the E-step (:func:`e_step`, the
    posteriors ``g_i(j)``) and the M-step (:func:`m_step`, weighted maximum likelihood) until
    the mean log-likelihood ``(1/N) ln P(X)`` grows by less than ``tol``. Each EM iteration
    cannot lower ``ln P(X)`` (with ``reg_covar = 0`` exactly; the floor perturbs it by
    ``O(reg_covar)``).

    ``init_params``: ``"kmeans"`` (hard responsibilities from :class:`KMeans`) or ``"random"``
    (random responsibilities). ``covariance_type``: ``"full"`` or ``"diag"``. ``reg_covar``:
    added to every variance (the covariance floor).

    Fitted: ``weights_`` ``[K]``, ``means_`` ``[K, d]``, ``covariances_`` (``[K, d, d]`` or
    ``[K, d]``), ``log_likelihood_history_`` (mean log-likelihood after the initialisation
    and after each EM iteration, non-decreasing), ``lower_bound_`` (its last value: after an
    E-step the bound is tight), ``converged_``, ``n_iter_`` (EM iterations), ``n_features_in_``.
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        max_iter=100,
        tol=1e-3,
        reg_covar=1e-6,
        init_params="kmeans",
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.max_iter = max_iter
        self.tol = tol
        self.reg_covar = reg_covar
        self.init_params = init_params
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit the mixture to ``X`` ``[n, d]`` by EM; returns ``self``."""
        X = _validated(self, X, reset=True)
        n_components = check_positive_int(self.n_components, "n_components")
        if X.shape[0] < n_components:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_components={n_components}")
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {COVARIANCE_TYPES}, got {self.covariance_type!r}"
            )
        max_iter = check_positive_int(self.max_iter, "max_iter", minimum=0)
        tol = check_positive_float(self.tol, "tol", allow_zero=True)
        reg_covar = check_positive_float(self.reg_covar, "reg_covar", allow_zero=True)

        g = self._initial_responsibilities(X, n_components)
        params = m_step(X, g, self.covariance_type, reg_covar)
        g, log_likelihood = e_step(X, *params, self.covariance_type)
        history = [float(np.mean(log_likelihood))]
        self.converged_, self.n_iter_ = False, 0
        for self.n_iter_ in range(1, max_iter + 1):
            params = m_step(X, g, self.covariance_type, reg_covar)
            g, log_likelihood = e_step(X, *params, self.covariance_type)
            history.append(float(np.mean(log_likelihood)))
            if history[-1] - history[-2] < tol:
                self.converged_ = True
                break
        self.weights_, self.means_, self.covariances_ = params
        self.log_likelihood_history_ = np.array(history)
        self.lower_bound_ = history[-1]
        return self

    def _initial_responsibilities(self, X, n_components):
        rng = check_random_state(self.random_state)
        if self.init_params == "kmeans":
            labels = KMeans(n_components, n_init=1, random_state=rng).fit(X).labels_
            return np.eye(n_components)[labels]
        if self.init_params == "random":
            g = rng.uniform(size=(X.shape[0], n_components))
            return g / g.sum(axis=1, keepdims=True)
        raise ValueError(f"init_params must be 'kmeans' or 'random', got {self.init_params!r}")

    def _parameters(self):
        return self.weights_, self.means_, self.covariances_

    def predict_proba(self, X):
        """Posterior ``P(j | x_i)`` of each component, ``[n, d] -> [n, K]`` (the E-step)."""
        check_is_fitted(self)
        return e_step(_validated(self, X, reset=False), *self._parameters(),
                      self.covariance_type)[0]

    def predict(self, X):
        """The most probable component, ``argmax_j P(j | x_i)``, ``[n, d] -> [n]``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score_samples(self, X):
        """Log-density ``ln p(x_i) = ln sum_j w_j N(x_i | mu_j, Sigma_j)``, ``[n, d] -> [n]``."""
        check_is_fitted(self)
        return e_step(_validated(self, X, reset=False), *self._parameters(),
                      self.covariance_type)[1]

    def score(self, X, y=None):
        """Mean log-likelihood ``(1/n) sum_i ln p(x_i)`` (higher is better)."""
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1):
        """Draw ``n_samples`` objects: a component ``j ~ w``, then ``x ~ N(mu_j, Sigma_j)``.

        Returns ``(X [n_samples, d], components [n_samples])``; uses ``random_state``.
        """
        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(self.random_state)
        components = rng.choice(len(self.weights_), size=n_samples, p=self.weights_)
        noise = rng.standard_normal((n_samples, self.means_.shape[1]))
        if self.covariance_type == "diag":
            noise = noise * np.sqrt(self.covariances_[components])
        else:
            factors = np.linalg.cholesky(self.covariances_)[components]  # [n, d, d]
            noise = np.einsum("nij,nj->ni", factors, noise)
        return self.means_[components] + noise, components


def _cholesky(covariance, component):
    """Lower Cholesky factor of one covariance; a clear error when it is not positive definite."""
    try:
        return linalg.cholesky(covariance, lower=True)
    except linalg.LinAlgError:
        raise ValueError(
            f"the covariance of component {component} is not positive definite (a component "
            "collapsed onto too few points); increase reg_covar"
        ) from None
