"""Gaussian mixtures and the EM algorithm of chapter 2.

:class:`GaussianMixture` fits ``p(x) = sum_j w_j N(x | mu_j, Sigma_j)`` by EM: :func:`e_step`
(the posteriors ``g_i(j)``), :func:`m_step` (weighted maximum likelihood), :func:`lower_bound`
(the lecture's bound ``L``), with densities from :func:`gaussian_log_density`.
"""

import numpy as np
from scipy import linalg
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from coursekit.clustering.kmeans import KMeans
from coursekit.validation import (
    check_choice,
    check_estimator_input,
    check_matrix,
    check_positive_float,
    check_positive_int,
    check_same_features,
)

__all__ = [
    "COVARIANCE_TYPES",
    "GaussianMixture",
    "e_step",
    "gaussian_log_density",
    "lower_bound",
    "m_step",
]

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
        check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
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
        check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
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
        X = check_estimator_input(self, X, reset=True)
        n_components = check_positive_int(self.n_components, "n_components")
        if X.shape[0] < n_components:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_components={n_components}")
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        max_iter = check_positive_int(self.max_iter, "max_iter")
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
        return e_step(check_estimator_input(self, X, reset=False), *self._parameters(),
                      self.covariance_type)[0]

    def predict(self, X):
        """The most probable component, ``argmax_j P(j | x_i)``, ``[n, d] -> [n]``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score_samples(self, X):
        """Log-density ``ln p(x_i) = ln sum_j w_j N(x_i | mu_j, Sigma_j)``, ``[n, d] -> [n]``."""
        check_is_fitted(self)
        return e_step(check_estimator_input(self, X, reset=False), *self._parameters(),
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
