"""Competitive learning (конкурентное обучение): the Kohonen network and LVQ.

Both models keep a set of vectors ``w`` (units, prototypes) and send an object to the nearest
one, ``argmin_c rho(x, w_c)``. Both learn by the lecture's stochastic-gradient (SG) algorithm:

    repeat
        pick an object x_i (here: the next one of a random permutation of the sample);
        find the nearest vector (the winner);
        gradient step: move the winner (and, for soft competition, every unit) towards x_i,
            or, in LVQ, away from x_i when the winner's class is wrong;
        running estimate  Q := (1 - lam) Q + lam * loss(x_i);
    until Q stabilises (or max_iter steps).

* :class:`KohonenNetwork` — clustering, hard (WTA) or soft (WTM) competition, chapter 2.
* :class:`LVQ` — learning vector quantization, classification, chapter 3.

The gradient steps are those of the squared *Euclidean* distance,
``grad_w 1/2 ||x - w||^2 = w - x``; ``metric=`` changes only who wins (and, in WTM, the
kernel's argument), not the direction of the step.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from coursekit.clustering import KMeans, within_cluster_sum
from coursekit.distances import get_metric, nearest, unchecked
from coursekit.validation import (
    check_estimator_input,
    check_matrix,
    check_positive_float,
    check_positive_int,
)

__all__ = ["LVQ", "KohonenNetwork"]


class KohonenNetwork(TransformerMixin, ClusterMixin, BaseEstimator):
    """The Kohonen network (сеть Кохонена) trained by the lecture's SG algorithm.

    Model: ``a(x) = argmin_y rho(x, w_y)`` over ``n_units`` units ``w_y`` ``[n_units, d]``.
    Criterion: ``Q(w) = 1/2 sum_i rho^2(x_i, w_a(x_i))`` (see :meth:`quality`). One SG step on
    an object ``x``, with ``y*`` the winner:

    * ``rule="wta"`` (winner takes all): ``w_y* += lr * (x - w_y*)``, nothing else moves;
    * ``rule="wtm"`` (winner takes most): ``w_y += lr * K(rho(x, w_y)) * (x - w_y)`` for every
      unit, with the non-negative non-increasing kernel
      ``K(rho) = exp(-rho^2 / (2 sigma^2))`` (``kernel="gaussian"``, a common choice: the
      lecture asks only for a non-negative, non-increasing ``K``), or
      ``K = exp(-(rho - rho_y*)^2 / (2 sigma^2))`` (``kernel="relative"``: distance in
      excess of the winner's, so the winner always takes the full step ``lr``), or
      ``K = exp(-r_y / sigma)`` with ``r_y = 0, 1, ...`` the rank of ``rho(x, w_y)`` among
      the units (``kernel="rank"``, the "neural gas" of Martinetz et al. 1993), or any callable
      ``K(rho) -> weights [n_units]``. With the plain Gaussian kernel each unit moves on its
      own (a stochastic mean shift): a unit more than about ``3 * sigma`` from every object
      barely moves, and units that start together end together. The rank kernel makes units
      compete, so none is left dead and none collapses onto another.

    After each step the running estimate ``Q := (1 - lam) Q + lam * rho^2(x, w_y*)`` is
    appended to ``running_q_``; ``rho`` is measured before the step, so the estimate is not
    flattered by the step just taken towards ``x``. It averages ``rho^2`` over recent objects,
    so it estimates ``2 Q / n``, the mean squared distance to the winner; it starts from that
    mean over the sample at the initial centres (the lecture starts from the sum; the mean is
    on the scale the recursion keeps). ``fit`` visits the objects in a fresh random order each
    pass and stops after a pass whose mean running Q differs from the previous pass's by at
    most ``tol`` relative, or after ``max_iter`` steps (``tol=None``: always ``max_iter``).

    ``init``: ``"random"`` (distinct random objects of ``X``), ``"uniform"`` (uniform in the
    bounding box of ``X``) or an array ``[n_units, d]`` of initial centres.

    Fitted attributes: ``cluster_centers_`` ``[n_units, d]``, ``win_counts_`` ``[n_units]``
    (how often each unit won during training), ``running_q_`` ``[n_iter_ + 1]`` (entry 0 is
    the initial estimate), ``n_iter_`` (SG steps taken), ``labels_`` ``[n]`` (after ``fit``).
    """

    def __init__(
        self,
        n_units=8,
        *,
        rule="wta",
        lr=0.05,
        sigma=1.0,
        kernel="gaussian",
        lam=0.01,
        max_iter=10_000,
        tol=1e-3,
        metric="euclidean",
        init="random",
        random_state=None,
    ):
        self.n_units = n_units
        self.rule = rule
        self.lr = lr
        self.sigma = sigma
        self.kernel = kernel
        self.lam = lam
        self.max_iter = max_iter
        self.tol = tol
        self.metric = metric
        self.init = init
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the centres from ``X`` ``[n, d]`` by SG; returns ``self``."""
        X = check_estimator_input(self, X, reset=True)
        self._check_params()
        rng = check_random_state(self.random_state)
        self._initialize(X, rng)
        self.running_q_ = _sg_passes(self, X, None, rng)
        self.labels_ = nearest(X, self.cluster_centers_, self.metric)[0]
        return self

    def partial_fit(self, X, y=None):
        """One SG step per object of ``X`` (``[d]``, ``[1, d]`` or ``[m, d]``), in order.

        The first call initialises the centres (``init``) and the running Q from ``X``.
        Extends ``running_q_`` by one entry per object; returns ``self``.
        """
        first_call = not hasattr(self, "cluster_centers_")
        X = check_estimator_input(self, np.atleast_2d(X), reset=first_call)
        if first_call:
            self._check_params()
            self._initialize(X, check_random_state(self.random_state))
        losses = np.array([self._step(x) for x in X])
        self.running_q_ = _running_mean(self.running_q_, losses, self.lam)
        self.n_iter_ += len(X)
        return self

    def _step(self, x):
        """One SG step on the object ``x`` ``[d]``; returns ``rho^2(x, w_winner)`` before it."""
        rho = self._rho(x[None, :], self.cluster_centers_)[0]  # rho(x, w_y), [K]
        winner = np.argmin(rho)  # a(x) = argmin_y rho(x, w_y)
        if self.rule == "wta":  # w_y += lr (x - w_y) [a(x) = y]
            self.cluster_centers_[winner] += self.lr * (x - self.cluster_centers_[winner])
        else:  # w_y += lr (x - w_y) K(rho(x, w_y)), every y
            weight = self._kernel_weights(rho, rho[winner])
            self.cluster_centers_ += self.lr * weight[:, None] * (x - self.cluster_centers_)
        self.win_counts_[winner] += 1
        return rho[winner] ** 2

    def _kernel_weights(self, rho, rho_winner):
        """``K(rho(x, w_y))`` for every unit, ``[K]``."""
        if callable(self.kernel):
            return np.asarray(self.kernel(rho), dtype=np.float64)
        if self.kernel == "rank":
            rank = np.argsort(np.argsort(rho, kind="stable"), kind="stable")
            return np.exp(-rank / self.sigma)
        excess = rho if self.kernel == "gaussian" else rho - rho_winner
        return np.exp(-(excess**2) / (2.0 * self.sigma**2))

    def predict(self, X):
        """Index of the nearest unit, ``a(x) = argmin_y rho(x, w_y)``. ``[n, d] -> [n]``."""
        check_is_fitted(self, "cluster_centers_")
        X = check_estimator_input(self, X, reset=False)
        return nearest(X, self.cluster_centers_, self.metric)[0]

    def transform(self, X):
        """Distances to every unit, ``rho(x_i, w_y)``. ``[n, d] -> [n, n_units]``."""
        check_is_fitted(self, "cluster_centers_")
        X = check_estimator_input(self, X, reset=False)
        return unchecked(self.metric)(X, self.cluster_centers_)

    def quality(self, X):
        """The lecture's criterion ``Q = 1/2 sum_i rho^2(x_i, w_a(x_i))`` on ``X`` ``[n, d]``
        (:func:`coursekit.clustering.within_cluster_sum` of the units)."""
        check_is_fitted(self, "cluster_centers_")
        X = check_estimator_input(self, X, reset=False)
        return within_cluster_sum(X, self.cluster_centers_, self.metric)

    def _initialize(self, X, rng):
        """Initial centres, zero win counts, and the running Q at its starting value."""
        self.cluster_centers_ = _initial_vectors(self.init, X, self.n_units, rng)
        self.win_counts_ = np.zeros(self.n_units, dtype=np.int64)
        self._rho = unchecked(self.metric)
        distances = nearest(X, self.cluster_centers_, self.metric)[1]
        self.running_q_ = np.array([np.mean(distances**2)])
        self.n_iter_ = 0

    def _check_params(self):
        check_positive_int(self.n_units, "n_units")
        if self.rule not in ("wta", "wtm"):
            raise ValueError(f"rule must be 'wta' or 'wtm', got {self.rule!r}")
        if not (callable(self.kernel) or self.kernel in ("gaussian", "relative", "rank")):
            raise ValueError(
                "kernel must be 'gaussian', 'relative', 'rank' or a callable K(rho), "
                f"got {self.kernel!r}"
            )
        check_positive_float(self.sigma, "sigma")
        _check_sg_params(self)
        get_metric(self.metric)


class LVQ(ClassifierMixin, BaseEstimator):
    """Learning vector quantization, LVQ1 (обучаемое векторное квантование).

    Each class is split into ``prototypes_per_class`` clusters with prototypes ``w_c``
    ``[P, d]`` and classes ``y(c)``. Model: ``c(x) = argmin_c rho(x, w_c)``,
    ``a(x) = y(c(x))``. Criterion (to minimise):
    ``Q = sum_i rho^2(x_i, w_c(x_i)) ([y(c(x_i)) = y_i] - [y(c(x_i)) != y_i])``
    (see :meth:`quality`). One SG step on ``(x_i, y_i)`` with the nearest prototype ``c``:
    ``w_c += lr * (x_i - w_c)`` if ``y(c) = y_i`` (attract), ``w_c -= lr * (x_i - w_c)``
    otherwise (repel); then ``Q := (1 - lam) Q + lam * rho^2(x_i, w_c) * (+1 or -1)``, with
    ``rho`` measured before the step, appended to ``running_q_`` (a mean, like
    :class:`KohonenNetwork`'s). Stopping as in :class:`KohonenNetwork`.

    ``init``: ``"random"`` (distinct random members of each class; with fewer members than
    prototypes, members are reused) or ``"kmeans"`` (k-means centres of each class,
    scikit-learn's ``KMeans``, so the prototypes start as a within-class clustering).

    Fitted attributes: ``prototypes_`` ``[P, d]``, ``prototype_labels_`` ``[P]`` (in the
    label type of ``y``, strings allowed), ``classes_``, ``running_q_`` ``[n_iter_ + 1]``,
    ``n_iter_``.
    """

    def __init__(
        self,
        prototypes_per_class=1,
        *,
        lr=0.05,
        lam=0.01,
        max_iter=10_000,
        tol=1e-3,
        metric="euclidean",
        init="random",
        random_state=None,
    ):
        self.prototypes_per_class = prototypes_per_class
        self.lr = lr
        self.lam = lam
        self.max_iter = max_iter
        self.tol = tol
        self.metric = metric
        self.init = init
        self.random_state = random_state

    def fit(self, X, y):
        """Learn prototypes from ``X`` ``[n, d]`` and labels ``y`` ``[n]``; returns ``self``."""
        X = check_estimator_input(self, X, reset=True)
        classes, y_index = self._check_labels(y, X.shape[0])
        self._check_params()
        rng = check_random_state(self.random_state)
        self.classes_ = classes
        self._initialize(X, y_index, rng)
        self.running_q_ = _sg_passes(self, X, y_index, rng)
        return self

    def partial_fit(self, X, y, classes=None):
        """One LVQ1 step per object of ``X`` (``[d]``, ``[1, d]`` or ``[m, d]``) with labels ``y``.

        The steps are taken in the order of the rows. The first call initialises the
        prototypes (``init``) and the running Q from ``X`` and ``y``, so its ``y`` must hold
        every class (``classes``, scikit-learn's argument, may name them and must then agree);
        later calls accept only those classes. Extends ``running_q_`` by one entry per object;
        returns ``self``.
        """
        first_call = not hasattr(self, "prototypes_")
        X = check_estimator_input(self, np.atleast_2d(X), reset=first_call)
        if first_call:
            self.classes_, y_index = self._check_labels(y, X.shape[0])
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes must be the classes present in the first call's y "
                    f"({self.classes_.tolist()}): each class's prototypes start from its "
                    f"members; got {np.unique(classes).tolist()}"
                )
            self._check_params()
            self._initialize(X, y_index, check_random_state(self.random_state))
        else:
            y_index = self._class_index(np.atleast_1d(y), X.shape[0])
        losses = np.array([self._step(x, label) for x, label in zip(X, y_index)])
        self.running_q_ = _running_mean(self.running_q_, losses, self.lam)
        self.n_iter_ += len(X)
        return self

    def _class_index(self, y, n_samples):
        """Indices into ``classes_`` of labels ``y`` ``[n_samples]``; unknown labels raise."""
        y = column_or_1d(y)
        if y.shape[0] != n_samples:
            raise ValueError(
                f"y has {y.shape[0]} entries but X has {n_samples} rows; they must match"
            )
        index = np.clip(np.searchsorted(self.classes_, y), 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(
                f"y has labels the model was not initialised with: {np.unique(y[unknown])[:5]}; "
                f"known classes are {self.classes_.tolist()}"
            )
        return index

    def _step(self, x, label):
        """One LVQ1 step on ``(x [d], class index)``; returns the signed ``rho^2`` before it."""
        rho = self._rho(x[None, :], self.prototypes_)[0]  # rho(x, w_c), [P]
        winner = np.argmin(rho)  # c(x) = argmin_c rho(x, w_c)
        sign = 1.0 if self._prototype_class[winner] == label else -1.0  # [a = y] - [a != y]
        self.prototypes_[winner] += sign * self.lr * (x - self.prototypes_[winner])
        return sign * rho[winner] ** 2

    def predict(self, X):
        """The class of the nearest prototype, ``a(x) = y(c(x))``. ``[n, d] -> [n]``."""
        check_is_fitted(self, "prototypes_")
        X = check_estimator_input(self, X, reset=False)
        return self.prototype_labels_[nearest(X, self.prototypes_, self.metric)[0]]

    def quality(self, X, y):
        """The signed criterion ``Q = sum_i rho^2(x_i, w_c(x_i)) (+1 right, -1 wrong)``."""
        check_is_fitted(self, "prototypes_")
        X = check_estimator_input(self, X, reset=False)
        y = column_or_1d(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows")
        winners, distances = nearest(X, self.prototypes_, self.metric)
        sign = np.where(self.prototype_labels_[winners] == y, 1.0, -1.0)
        return float(np.sum(distances**2 * sign))

    def _initialize(self, X, y_index, rng):
        """Prototypes per class (``init``), their classes, and the running Q at its start."""
        prototypes, owners = [], []
        for label in range(len(self.classes_)):
            members = X[y_index == label]
            prototypes.append(_class_prototypes(self.init, members, self.prototypes_per_class, rng))
            owners.append(np.full(self.prototypes_per_class, label))
        self.prototypes_ = np.concatenate(prototypes)
        self._prototype_class = np.concatenate(owners)
        self.prototype_labels_ = self.classes_[self._prototype_class]
        self._rho = unchecked(self.metric)
        winners, distances = nearest(X, self.prototypes_, self.metric)
        sign = np.where(self._prototype_class[winners] == y_index, 1.0, -1.0)
        self.running_q_ = np.array([np.mean(distances**2 * sign)])
        self.n_iter_ = 0

    @staticmethod
    def _check_labels(y, n_samples):
        if y is None:
            raise ValueError("LVQ requires y to be passed, but the target y is None")
        y = column_or_1d(y, warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(
                f"y has {y.shape[0]} entries but X has {n_samples} rows; they must match"
            )
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(f"y has one class ({classes[0]!r}); LVQ needs at least two classes")
        return classes, y_index

    def _check_params(self):
        check_positive_int(self.prototypes_per_class, "prototypes_per_class")
        if isinstance(self.init, str) and self.init not in ("random", "kmeans"):
            raise ValueError(f"init must be 'random' or 'kmeans', got {self.init!r}")
        if not isinstance(self.init, str):
            raise TypeError(f"init must be 'random' or 'kmeans', got {type(self.init).__name__}")
        _check_sg_params(self)
        get_metric(self.metric)


# --- the SG loop and helpers shared by both models ------------------------------------------


def _sg_passes(model, X, y_index, rng):
    """Run ``model._step`` over random permutations of the sample until Q stabilises.

    Each pass visits every object once in a fresh random order (the last pass is cut short at
    ``max_iter`` steps). After each pass the mean running Q over that pass is compared with
    the previous pass's; a relative change of at most ``tol`` stops training.
    Returns the running Q ``[n_iter_ + 1]`` (starting value first); sets ``model.n_iter_``.
    """
    running_q, previous_mean = model.running_q_, None
    while model.n_iter_ < model.max_iter:
        order = rng.permutation(X.shape[0])[: model.max_iter - model.n_iter_]
        if y_index is None:
            losses = [model._step(X[i]) for i in order]
        else:
            losses = [model._step(X[i], y_index[i]) for i in order]
        model.n_iter_ += len(order)
        running_q = _running_mean(running_q, losses, model.lam)
        pass_mean = np.mean(running_q[-len(order) :])
        if _stabilised(previous_mean, pass_mean, model.tol):
            break
        previous_mean = pass_mean
    return running_q


def _running_mean(history, losses, lam):
    """Extend the running estimates by ``Q := (1 - lam) Q + lam * loss`` for each loss.

    ``history`` is a number or an array whose last entry is the current ``Q``; the result is
    ``history`` followed by one new estimate per loss.
    """
    history = np.atleast_1d(np.asarray(history, dtype=np.float64))
    q = history[-1]
    extended = np.empty(len(losses))
    for t, loss in enumerate(losses):
        q = (1.0 - lam) * q + lam * loss
        extended[t] = q
    return np.concatenate([history, extended])


def _stabilised(previous, current, tol):
    """True when ``|current - previous| <= tol * |previous|`` (never with ``tol=None``)."""
    if tol is None or previous is None:
        return False
    return abs(current - previous) <= tol * abs(previous)


def _initial_vectors(init, X, n_units, rng):
    """Initial centres ``[n_units, d]`` by the rule ``init`` (see :class:`KohonenNetwork`)."""
    if isinstance(init, str):
        if init == "random":
            if X.shape[0] < n_units:
                raise ValueError(
                    f"init='random' picks n_units distinct objects, but n_samples={X.shape[0]} "
                    f"should be >= n_units={n_units}; pass an array of initial centres instead"
                )
            return X[rng.choice(X.shape[0], size=n_units, replace=False)].copy()
        if init == "uniform":
            low, high = X.min(axis=0), X.max(axis=0)
            return rng.uniform(low, high, size=(n_units, X.shape[1]))
        raise ValueError(f"init must be 'random', 'uniform' or an array, got {init!r}")
    centers = check_matrix(init, "init")
    if centers.shape != (n_units, X.shape[1]):
        raise ValueError(
            f"init must have shape (n_units, n_features) = ({n_units}, {X.shape[1]}), "
            f"got {centers.shape}"
        )
    return centers.copy()


def _class_prototypes(init, members, count, rng):
    """``count`` initial prototypes ``[count, d]`` for one class from its ``members``."""
    if init == "kmeans" and len(members) >= count:
        kmeans = KMeans(count, n_init=1, random_state=rng.randint(2**31 - 1)).fit(members)
        return kmeans.cluster_centers_
    replace = len(members) < count
    return members[rng.choice(len(members), size=count, replace=replace)].copy()


def _check_sg_params(model):
    check_positive_float(model.lr, "lr")
    lam = check_positive_float(model.lam, "lam")
    if lam > 1:
        raise ValueError(f"lam must be in (0, 1], got {lam}")
    check_positive_int(model.max_iter, "max_iter")
    if model.tol is not None:
        check_positive_float(model.tol, "tol", allow_zero=True)
