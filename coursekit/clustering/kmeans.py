"""k-means (Lloyd's algorithm) of chapter 2: :func:`kmeans_plusplus`, :func:`lloyd_step`, :class:`KMeans`.

The assignment step is the nearest-centre rule of chapter 1, :func:`coursekit.distances.nearest`;
the update step moves every centre to the mean of its cluster. :class:`KMeans` runs the same
iterations through :class:`BoundedLloyd`, which skips the objects whose centre provably stays.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from coursekit.clustering.criteria import _cluster_sums
from coursekit.distances import nearest, nearest_two, sqeuclidean
from coursekit.validation import (
    check_estimator_input,
    check_matrix,
    check_positive_float,
    check_positive_int,
)

__all__ = ["BoundedLloyd", "KMeans", "kmeans_plusplus", "lloyd_step"]


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
    x_squared_norms = np.einsum("ij,ij->i", X, X)  # once, for every step below
    indices[0] = rng.randint(X.shape[0])
    closest = sqeuclidean.unchecked(X, X[indices[:1]], x_squared_norms)[:, 0]  # D(x_i)^2, [n]
    for k in range(1, n_clusters):
        if closest.sum() <= 0:  # fewer distinct objects than clusters: take unused ones
            unused = np.setdiff1d(np.arange(X.shape[0]), indices[:k])
            indices[k] = rng.choice(unused)
            continue
        draws = rng.uniform(size=trials) * closest.sum()
        candidates = np.minimum(np.searchsorted(np.cumsum(closest), draws), X.shape[0] - 1)
        to_candidates = sqeuclidean.unchecked(X, X[candidates], x_squared_norms).T  # [trials, n]
        candidate_closest = np.minimum(closest, to_candidates)
        best = np.argmin(candidate_closest.sum(axis=1))
        indices[k], closest = candidates[best], candidate_closest[best]
    return X[indices].copy(), indices


def lloyd_step(X, centers):
    """One iteration of Lloyd's algorithm: assign every object, then move every centre.

    Assignment: ``a(x_i) = argmin_y ||x_i - w_y||^2`` (chapter 1's rule,
    :func:`coursekit.distances.nearest`). Update:
    ``w_y = mean{x_i : a(x_i) = y}``, the sums over clusters taken as one product of the sparse
    ``[K, n]`` indicator matrix ``[a(x_i) = y]`` with ``X`` (``_cluster_sums``). A cluster left
    empty gets the object
    farthest from its centre (scikit-learn's choice). ``X`` ``[n, d]``, ``centers`` ``[K, d]``
    -> ``(new centres [K, d], labels [n])``.
    """
    labels, _ = nearest(X, centers, "sqeuclidean", with_distances=False)
    sums, counts = _cluster_sums(X, labels, centers.shape[0])  # [K, d] and [K]
    empty = np.flatnonzero(counts == 0)
    if empty.size:  # rare: only now are the distances ||x_i - w_a(x_i)||^2 needed
        distances = nearest(X, centers, "sqeuclidean")[1]
        farthest = np.argsort(distances)[::-1][: empty.size]
        sums[empty], counts[empty] = X[farthest], 1
    return sums / counts[:, None], labels


class BoundedLloyd:
    """:func:`lloyd_step` that skips the objects whose nearest centre cannot have changed.

    Called with the centres of one iteration, it returns the next ones, as ``lloyd_step``
    does; only the assignment is cheaper (Hamerly 2010). Each object keeps an upper bound
    ``u_i >= ||x_i - w_a(x_i)||`` and a lower bound ``l_i <=`` its distance to every other
    centre. When the centres move by ``m_y``, the triangle inequality gives
    ``u_i += m_a(x_i)`` and ``l_i -= max_{y != a(x_i)} m_y``. If ``u_i < l_i``, or ``u_i`` is
    below half the distance from ``w_a(x_i)`` to the centre nearest to it, no other centre can
    be nearer, and ``a(x_i)`` stands without a single distance computed. Only the others are
    assigned afresh (:func:`coursekit.distances.nearest_two`, the same rule as ``nearest``),
    all of them at once when they are more than half the sample. A bound must win by a margin
    of ``1e-9 (||x_i|| + 1)``, far above the rounding of the expansion, so a near tie is always
    recomputed.
    """

    def __init__(self, X, centers):
        self.X = X
        self.x_squared_norms = np.einsum("ij,ij->i", X, X)
        self.margin = 1e-9 * (np.sqrt(self.x_squared_norms) + 1.0)
        self.labels = None  # a(x_i) for the centres of the last call
        self.previous = None  # those centres, to measure how far each has moved since

    def __call__(self, centers):
        if centers.shape[0] < 2:
            return lloyd_step(self.X, centers)[0]
        if self.labels is None:
            self._assign_all(centers)
        else:
            self._reassign(centers)
        sums, counts = _cluster_sums(self.X, self.labels, centers.shape[0])
        if np.any(counts == 0):  # rare: lloyd_step's remedy, and fresh bounds next time
            self.labels = None
            return lloyd_step(self.X, centers)[0]
        self.previous = centers
        return sums / counts[:, None]

    def _assign_all(self, centers):
        self.labels, self.upper, self.lower = nearest_two(self.X, centers, self.x_squared_norms)

    def _reassign(self, centers):
        moved = np.sqrt(np.sum((centers - self.previous) ** 2, axis=1))  # m_y
        self.upper += moved[self.labels]
        fastest, runner_up = np.argsort(moved)[[-1, -2]]  # the other centres moved at most:
        self.lower -= np.where(self.labels == fastest, moved[runner_up], moved[fastest])
        gaps = np.sqrt(sqeuclidean.unchecked(centers, centers))
        np.fill_diagonal(gaps, np.inf)
        bound = np.maximum(self.lower, 0.5 * gaps.min(axis=1)[self.labels])
        unsure = np.flatnonzero(self.upper + self.margin >= bound)
        if unsure.size > self.X.shape[0] // 2:  # gathering the rows would cost more than it saves
            self._assign_all(centers)
        elif unsure.size:
            labels, upper, lower = nearest_two(self.X[unsure], centers,
                                               self.x_squared_norms[unsure])
            self.labels[unsure], self.upper[unsure], self.lower[unsure] = labels, upper, lower


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means clustering by Lloyd's algorithm (lecture 003), started by k-means++.

    Minimises the within-cluster sum of squares ``sum_i ||x_i - w_a(x_i)||^2`` (``2 Q`` of
    chapter 1, scikit-learn's ``inertia_``) by alternating the two steps of :func:`lloyd_step`.

    Stopping (the lecture's delta rule, on squared movements): stop when the largest squared
    movement of a centre in one iteration is at most ``delta`` (no centre moved by more than
    ``sqrt(delta)``), ``max_y ||w_y^new - w_y^old||^2 <= delta = tol * mean_j Var(x^j)``
    (``tol`` is relative to the spread of the data, as in scikit-learn); unchanged assignments give zero
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
        X = check_estimator_input(self, X, reset=True)
        n_clusters = check_positive_int(self.n_clusters, "n_clusters")
        if X.shape[0] < n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}")
        max_iter = check_positive_int(self.max_iter, "max_iter")
        tol = check_positive_float(self.tol, "tol", allow_zero=True)
        # mean_j Var(x^j) = (mean_i ||x_i||^2 - ||mean_i x_i||^2) / d, without a centred copy
        spread = np.mean(np.einsum("ij,ij->i", X, X)) - np.sum(X.mean(axis=0) ** 2)
        delta = tol * max(spread, 0.0) / X.shape[1]
        rng = check_random_state(self.random_state)
        best = None
        # One BLAS thread: the products here, [n, d] x [d, K] with small d and K, are bound by
        # memory, not arithmetic. A second thread gains little on an idle machine, while on a
        # busy one (a shared server, a notebook running beside) the threads wait for each other
        # at every product: fits took 3-4 times longer on the course's 2-core machine under
        # load. scikit-learn's Lloyd loop also calls BLAS on one thread.
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(self._n_runs()):
                centers = self._initial_centers(X, n_clusters, rng)
                run = self._lloyd(X, centers, max_iter, delta)
                if best is None or run[2] < best[2]:
                    best = run
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        return self

    @staticmethod
    def _lloyd(X, centers, max_iter, delta):
        """Lloyd's iterations until the delta rule holds; final labels match final centres.

        Returns ``(centres, labels, inertia, iterations)``; the inertia
        ``sum_i ||x_i - w_a(x_i)||^2`` comes from the same expansion as the assignment.
        """
        step = BoundedLloyd(X, centers)
        for n_iter in range(1, max_iter + 1):
            new_centers = step(centers)
            shift = np.max(np.sum((new_centers - centers) ** 2, axis=1))
            centers = new_centers
            if shift <= delta:  # no centre moved by more than sqrt(delta)
                break
        labels, distances = nearest(X, centers, "sqeuclidean")
        return centers, labels, float(np.sum(distances)), n_iter

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
        X = check_estimator_input(self, X, reset=False)
        return nearest(X, self.cluster_centers_)[0]

    def transform(self, X):
        """Euclidean distances to the centres, ``[n, d] -> [n, K]`` (scikit-learn's convention)."""
        check_is_fitted(self)
        X = check_estimator_input(self, X, reset=False)
        return np.sqrt(sqeuclidean.unchecked(X, self.cluster_centers_))

    def score(self, X, y=None):
        """Minus the inertia of ``X`` under the fitted centres (higher is better)."""
        check_is_fitted(self)
        X = check_estimator_input(self, X, reset=False)
        return -float(np.sum(nearest(X, self.cluster_centers_, "sqeuclidean")[1]))

