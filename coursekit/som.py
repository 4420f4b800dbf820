"""Self-organizing maps (самоорганизующиеся карты Кохонена): the SOM, its quality and its maps.

A map is a grid of nodes ``Y = {1..M} x {1..H}`` (``rows x cols``), each node holding a
Kohonen neuron ``w_mh`` in the data space. Training repeats the lecture's three phases
(Korlyakova 2022): competition (the winner ``c(x) = argmin_j ||x - w_j||``, WTA),
cooperation (the winner's neighbours on the grid, weighted by
``h_jc = exp(-r(j, c)^2 / (2 sigma^2))``) and adaptation
(``w_j += alpha h_jc (x - w_j)`` for every node at once, WTM).

Grid metric ``r``: the Euclidean distance between node positions. A rectangular grid puts
node ``(m, h)`` (row ``m``, column ``h``) at the point ``(h, m)``; a hexagonal grid shifts
every odd row by half a step and packs rows ``sqrt(3)/2`` apart, so all six neighbours of a
node lie at distance 1.

Nodes are numbered row by row (``j = m * cols + h``) wherever a flat index is needed; the
learned ``weights_`` keep the grid shape ``[rows, cols, n_features]``.
"""

import numpy as np
import torch
from scipy import linalg
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from coursekit.clustering import quantization_error
from coursekit.clustering.criteria import _cluster_sums
from coursekit.distances import nearest, sqeuclidean
from coursekit.train import resolve_device
from coursekit.validation import (
    check_choice,
    check_matrix,
    check_positive_float,
    check_positive_int,
)

TOPOLOGIES = ("rect", "hex")
NEIGHBORHOODS = ("gaussian", "bubble")
MODES = ("online", "batch")
INITS = ("small", "pca")
SCHEDULES = ("exponential", "linear")
DTYPES = ("float64", "float32")

ADJACENT = {"rect": np.sqrt(2.0), "hex": 1.0}
"""Largest grid distance between adjacent nodes: 8 neighbours on a rectangular grid (as in
MiniSom's topographic error), 6 on a hexagonal one."""

NEGLIGIBLE = 1e-6
"""Online updates on a large map skip nodes whose step ``alpha * h`` is below this (their move
is < 1e-6 of the distance to the sample): exact for the bubble, a 1e-6 truncation of the
Gaussian's tail."""

SMALL_MAP = 16_384
"""Online training takes its distances from the differences ``x - w_j`` and moves every node at
each step on maps with at most this many weights (rows x cols x features): there a NumPy call
costs more than its work."""


# --- the grid ------------------------------------------------------------------------------


def grid_coordinates(rows, cols, topology="rect"):
    """Positions ``r_j`` of the nodes in the plane, ``[rows * cols, 2]`` as (x, y).

    ``rect``: node ``(m, h)`` sits at ``(h, m)``. ``hex``: odd rows shift right by 1/2 and
    rows are ``sqrt(3)/2`` apart, so each inner node has six neighbours at distance 1.
    """
    _check_topology(topology)
    m, h = np.divmod(np.arange(rows * cols), cols)
    if topology == "rect":
        return np.column_stack([h, m]).astype(float)
    return np.column_stack([h + 0.5 * (m % 2), m * np.sqrt(3.0) / 2.0])


def grid_distances(rows, cols, topology="rect"):
    """The grid metric ``r(j, c) = ||r_j - r_c||`` between all nodes, ``[K, K]``, K = M * H."""
    coordinates = grid_coordinates(rows, cols, topology)
    difference = coordinates[:, None, :] - coordinates[None, :, :]
    return np.sqrt(np.sum(difference**2, axis=2))


def grid_adjacency(rows, cols, topology="rect"):
    """``[K, K]`` booleans: nodes ``j != c`` that are grid neighbours (8 on rect, 6 on hex)."""
    distance = grid_distances(rows, cols, topology)
    return (distance > 0) & (distance <= ADJACENT[topology] + 1e-9)


# --- neighbourhoods and schedules ------------------------------------------------------------


def neighbourhood(grid_distance, sigma, kind="gaussian"):
    """Neighbourhood weights ``h`` from grid distances ``r`` (any shape) and width ``sigma``.

    gaussian: ``h = exp(-r^2 / (2 sigma^2))`` (the lecture's ``h_ji``);
    bubble: ``h = [r <= sigma]`` (every node within radius ``sigma`` moves fully).
    """
    if kind == "gaussian":
        return np.exp(-(grid_distance**2) / (2.0 * sigma**2))
    if kind == "bubble":
        return (grid_distance <= sigma).astype(float)
    raise ValueError(f"neighborhood must be one of {NEIGHBORHOODS}, got {kind!r}")


def decay(start, end, step, total, schedule="exponential"):
    """A decaying value (learning rate or width) at ``step`` out of ``total`` steps.

    exponential (the lecture): ``a(n) = a_0 exp(-n / tau)`` with ``tau = total / ln(a_0 / a_end)``,
    so that ``a(total) = a_end``; linear: ``a(n) = a_0 + (a_end - a_0) n / total``.
    An ``end >= start`` keeps the value constant. ``step`` may be an array.
    """
    step = np.asarray(step, dtype=float)
    end = min(end, start)
    if schedule == "exponential":
        if end == start:
            return np.full_like(step, start)
        tau = total / np.log(start / end)
        return start * np.exp(-step / tau)
    if schedule == "linear":
        return start + (end - start) * step / total
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")


# --- maps of any weights ---------------------------------------------------------------------


def umatrix(weights, topology="rect"):
    """The U-matrix: each node's mean distance ``||w_j - w_c||`` to its grid neighbours.

    ``weights`` ``[rows, cols, d]`` -> ``[rows, cols]``. Neighbours are those of
    :func:`grid_adjacency` (8 on a rectangular grid, 6 on a hexagonal one). High values mark
    borders between clusters: adjacent nodes whose neurons lie far apart in the data space.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 3:
        raise ValueError(f"weights must be 3-D [rows, cols, d], got shape {weights.shape}")
    rows, cols, d = weights.shape
    flat = weights.reshape(rows * cols, d)
    node, neighbour = np.nonzero(grid_adjacency(rows, cols, topology))  # all adjacent pairs
    gaps = np.linalg.norm(flat[node] - flat[neighbour], axis=1)
    total = np.bincount(node, weights=gaps, minlength=rows * cols)
    n_neighbours = np.maximum(np.bincount(node, minlength=rows * cols), 1)  # 1x1 map: U = 0
    return (total / n_neighbours).reshape(rows, cols)


# --- the estimator ---------------------------------------------------------------------------


class SOM(TransformerMixin, BaseEstimator):
    """A self-organizing map trained online (the lecture) or in batch (Kohonen's batch map).

    Online, one sample ``x`` at a time in random order, step ``n``:
    ``c = argmin_j ||x - w_j||``; ``w_j += alpha(n) h_jc(n) (x - w_j)`` for all nodes ``j``,
    ``h_jc = exp(-r(j, c)^2 / (2 sigma(n)^2))`` (or the bubble ``[r(j, c) <= sigma(n)]``).
    Batch, once per epoch: ``w_j = sum_i h_{j c(i)} x_i / sum_i h_{j c(i)}`` (no learning rate).
    ``alpha`` decays from ``lr`` to ``lr_end`` and ``sigma`` from ``sigma`` to ``sigma_end``
    (:func:`decay`) over all steps (online: every sample; batch: every epoch).

    Initialisation ``small`` is the lecture's ``w ~ U(-1/(2MH), 1/(2MH))``: tiny weights near
    the origin, which assumes standardised (centred) data (it is not ``init="random"`` of
    :class:`~coursekit.clustering.KMeans` and :class:`~coursekit.competitive.KohonenNetwork`,
    which pick random objects of ``X``). ``pca`` spreads the grid over the
    plane of the top two principal components, from ``-s_k`` to ``+s_k`` along component
    ``k`` (``s_k`` its standard deviation), the first along the longer side of the grid.

    Parameters: ``rows``, ``cols`` (grid size M x H); ``epochs``; ``topology`` "rect" | "hex";
    ``neighborhood`` "gaussian" | "bubble"; ``sigma`` initial width (``None``:
    ``max(rows, cols) / 2``); ``sigma_end``; ``lr``, ``lr_end`` (online only); ``mode``
    "online" | "batch"; ``init`` "small" | "pca"; ``schedule`` "exponential" | "linear";
    ``keep_snapshots``; ``dtype`` "float64" | "float32", the precision of training (float32
    halves the memory traffic, which speeds up large maps); ``device`` where batch training
    runs: ``None`` (a CUDA GPU when there is one, else NumPy on the CPU), ``"cpu"`` (NumPy)
    or a CUDA device such as ``"cuda"`` (torch, :func:`batch_step_torch`); online training,
    one sample at a time, always runs on the CPU; ``random_state``.

    Fitted: ``weights_`` ``[rows, cols, d]`` (float64 whatever ``dtype``); ``snapshots_``
    ``[epochs + 1, rows, cols, d]`` when ``keep_snapshots`` (snapshot 0 is the initial
    weights, snapshot ``e`` the weights after epoch ``e``); ``n_features_in_``.
    ``transform(X)`` gives the distances to every node ``[n, rows * cols]`` (row by row).
    """

    def __init__(
        self,
        rows=10,
        cols=10,
        *,
        epochs=10,
        topology="rect",
        neighborhood="gaussian",
        sigma=None,
        sigma_end=0.5,
        lr=0.5,
        lr_end=0.01,
        mode="online",
        init="small",
        schedule="exponential",
        keep_snapshots=False,
        dtype="float64",
        device=None,
        random_state=None,
    ):
        self.rows = rows
        self.cols = cols
        self.epochs = epochs
        self.topology = topology
        self.neighborhood = neighborhood
        self.sigma = sigma
        self.sigma_end = sigma_end
        self.lr = lr
        self.lr_end = lr_end
        self.mode = mode
        self.init = init
        self.schedule = schedule
        self.keep_snapshots = keep_snapshots
        self.dtype = dtype
        self.device = device
        self.random_state = random_state

    # --- training ---

    def fit(self, X, y=None):
        """Train the map on ``X`` ``[n, d]`` for ``epochs`` passes; returns ``self``."""
        self._check_params()
        device = self._torch_device()
        X = check_matrix(X, "X").astype(self.dtype, copy=False)
        self.n_features_in_ = X.shape[1]
        rng = check_random_state(self.random_state)
        if device is not None:  # batch epochs on a GPU: the same steps on torch tensors
            X = torch.as_tensor(X, device=device)  # the PCA start is computed there too
        weights = self._initial_weights(X, rng)
        snapshots = [_numpy(weights).copy()]
        r = grid_distances(self.rows, self.cols, self.topology)
        sigma0 = self._sigma0()
        for epoch in range(self.epochs):
            if self.mode == "online":
                order = rng.permutation(X.shape[0])
                first, total = epoch * X.shape[0], self.epochs * X.shape[0]
                steps = np.arange(first, first + X.shape[0])
                alphas = decay(self.lr, self.lr_end, steps, total, self.schedule)
                sigmas = decay(sigma0, self.sigma_end, steps, total, self.schedule)
                _online_epoch(X[order], weights, r, alphas, sigmas, self.neighborhood)
            else:
                sigma = decay(sigma0, self.sigma_end, epoch, self.epochs, self.schedule)
                h = neighbourhood(r, sigma, self.neighborhood).astype(self.dtype)
                if device is None:
                    weights = batch_step(X, weights, h)
                else:
                    weights = batch_step_torch(X, weights, torch.as_tensor(h, device=device))
            if self.keep_snapshots:
                snapshots.append(_numpy(weights).copy())
        weights = _numpy(weights)
        self.weights_ = weights.reshape(self.rows, self.cols, -1).astype(np.float64)
        if self.keep_snapshots:
            shape = (-1, self.rows, self.cols, X.shape[1])
            self.snapshots_ = np.stack(snapshots).reshape(shape).astype(np.float64)
        return self

    def _torch_device(self):
        """The CUDA device batch training runs on, or ``None`` for NumPy on the CPU."""
        if self.device is None:
            use_gpu = self.mode == "batch" and torch.cuda.is_available()
            return torch.device("cuda") if use_gpu else None
        device = resolve_device(self.device)
        if device.type == "cpu":
            return None
        if device.type != "cuda":
            raise ValueError(f"device must be None, 'cpu' or a CUDA device, got {self.device!r}")
        if self.mode != "batch":
            raise ValueError(
                f"device={self.device!r} needs mode='batch': online training updates the map "
                "one sample at a time and runs on the CPU"
            )
        return device

    def _sigma0(self):
        return max(self.rows, self.cols) / 2.0 if self.sigma is None else float(self.sigma)

    def _initial_weights(self, X, rng):
        """Flat initial weights ``[K, d]`` in the dtype and on the device of ``X`` (an array or
        a tensor): the lecture's random ones or the PCA plane."""
        n_nodes = self.rows * self.cols
        if self.init == "small":
            bound = 1.0 / (2.0 * n_nodes)
            weights = rng.uniform(-bound, bound, size=(n_nodes, X.shape[1])).astype(self.dtype)
            return torch.as_tensor(weights, device=X.device) if torch.is_tensor(X) else weights
        return pca_weights(X, self.rows, self.cols, self.topology)

    def _check_params(self):
        check_positive_int(self.rows, "rows")
        check_positive_int(self.cols, "cols")
        check_positive_int(self.epochs, "epochs")
        for name, allowed in [
            ("topology", TOPOLOGIES),
            ("neighborhood", NEIGHBORHOODS),
            ("mode", MODES),
            ("init", INITS),
            ("schedule", SCHEDULES),
            ("dtype", DTYPES),
        ]:
            check_choice(getattr(self, name), name, allowed)
        if self.sigma is not None:
            check_positive_float(self.sigma, "sigma")
        check_positive_float(self.sigma_end, "sigma_end")
        check_positive_float(self.lr, "lr")
        check_positive_float(self.lr_end, "lr_end")

    # --- mapping samples to nodes ---

    def _flat_weights(self):
        check_is_fitted(self, "weights_")
        return self.weights_.reshape(-1, self.weights_.shape[2])

    def _check_X(self, X):
        check_is_fitted(self, "weights_")
        X = check_matrix(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but SOM is expecting "
                f"{self.n_features_in_} features as input"
            )
        return X

    def transform(self, X):
        """Distances ``||x_i - w_j||`` to every node, ``[n, rows * cols]`` (nodes row by row)."""
        weights = self._flat_weights()
        return np.sqrt(sqeuclidean.unchecked(self._check_X(X), weights))

    def winner(self, X):
        """Grid coordinates ``(row, col)`` of each sample's best-matching unit, ``[n, 2]`` ints."""
        weights = self._flat_weights()
        best = nearest(self._check_X(X), weights)[0]
        return np.column_stack(np.divmod(best, self.cols))

    # --- quality ---

    def quantization_error(self, X):
        """``E_q = (1/n) sum_i ||x_i - w_c(x_i)||``, the mean distance to the winner
        (:func:`coursekit.clustering.quantization_error` of the nodes)."""
        return quantization_error(self._check_X(X), self._flat_weights())

    def topographic_error(self, X):
        """Share of samples whose first and second best-matching units are not grid neighbours.

        Adjacent means grid distance ``<= sqrt(2)`` on a rectangular grid (8 neighbours, as in
        MiniSom) and ``<= 1`` on a hexagonal one (6 neighbours). Needs at least 2 nodes.
        """
        distances = self.transform(X)
        if distances.shape[1] < 2:
            raise ValueError("topographic_error needs a map with at least 2 nodes")
        first_two = np.argsort(distances, axis=1)[:, :2]
        adjacency = grid_adjacency(self.rows, self.cols, self.topology)
        return float(np.mean(~adjacency[first_two[:, 0], first_two[:, 1]]))

    # --- maps ---

    def umatrix(self):
        """The U-matrix of the fitted weights, ``[rows, cols]`` (see :func:`umatrix`)."""
        check_is_fitted(self, "weights_")
        return umatrix(self.weights_, self.topology)

    def component_planes(self):
        """One plane per feature: node ``(m, h)`` coloured by ``w_mh^j``, ``[d, rows, cols]``."""
        check_is_fitted(self, "weights_")
        return np.transpose(self.weights_, (2, 0, 1)).copy()

    def density_map(self, X, k=5):
        """Local density: each node's mean distance to its ``k`` nearest samples, ``[rows, cols]``.

        Small values mark dense regions of the data (the lecture's colouring of the map).
        """
        distances = self.transform(X)
        k = check_positive_int(k, "k")
        if k > distances.shape[0]:
            raise ValueError(f"k must be <= the number of samples {distances.shape[0]}, got {k}")
        nearest = np.partition(distances, k - 1, axis=0)[:k]
        return nearest.mean(axis=0).reshape(self.rows, self.cols)

    def hit_map(self, X):
        """How many samples each node wins, ``[rows, cols]`` integers summing to ``n``."""
        best = nearest(self._check_X(X), self._flat_weights())[0]
        return np.bincount(best, minlength=self.rows * self.cols).reshape(self.rows, self.cols)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


# --- the three phases, vectorised over nodes ----------------------------------------------


def online_step(x, weights, grid_distance, alpha, sigma, kind="gaussian"):
    """One step of the lecture's algorithm on sample ``x`` ``[d]``; updates ``weights`` ``[K, d]``.

    Competition ``c = argmin_j ||x - w_j||``; cooperation ``h_j = exp(-r(j, c)^2 / (2 sigma^2))``;
    adaptation ``w_j += alpha h_j (x - w_j)`` for all ``j`` at once. Returns the winner ``c``.
    """
    winner = nearest(x[None, :], weights)[0][0]  # the rule of chapter 1, a(x) = argmin_j rho(x, w_j)
    h = neighbourhood(grid_distance[winner], sigma, kind)
    weights += (alpha * h)[:, None] * (x - weights)
    return winner


def _online_epoch(X, weights, grid_distance, alphas, sigmas, kind):
    """:func:`online_step` over the rows of ``X`` (already shuffled), updating ``weights`` in
    place, with the neighbourhood's constants taken out of the loop.

    On a small map (at most :data:`SMALL_MAP` weights) a NumPy call costs more than its work, so
    each step makes as few as it can: the differences ``x - w_j`` that the adaptation needs give
    the competition its distances ``||x - w_j||^2`` too, and every node moves. On a large map
    steps of at most :data:`NEGLIGIBLE` are dropped and ``||w_j||^2`` is kept up to date in
    O(K) from the dot products of the competition, ``w' = (1 - s) w + s x`` giving
    ``||w'||^2 = (1-s)^2 ||w||^2 + 2 s (1-s) w.x + s^2 ||x||^2``."""
    if kind not in NEIGHBORHOODS:
        raise ValueError(f"neighborhood must be one of {NEIGHBORHOODS}, got {kind!r}")
    dtype = weights.dtype  # every per-step array in the weights' dtype: no mixed-precision passes
    gaussian = kind == "gaussian"
    # h = exp(-r^2 / (2 sigma^2)) = width ** (r^2) with width = exp(-1 / (2 sigma^2))
    # (gaussian), h = [r^2 <= width] with width = sigma^2 (bubble); squared grid distances
    # [K, K, 1], so that a winner's row multiplies [K, d] directly
    squared_grid = (grid_distance**2).astype(dtype)[:, :, None]
    alphas = alphas.astype(dtype)
    widths = (np.exp(-0.5 / sigmas**2) if gaussian else sigmas**2).astype(dtype)
    buffer = np.empty_like(weights)  # one [K, d] scratch array: no allocation per step
    if weights.size <= SMALL_MAP:
        for x, alpha, width in zip(X, alphas, widths):
            np.subtract(x, weights, out=buffer)  # x - w_j, [K, d]
            winner = np.vecdot(buffer, buffer).argmin()  # competition
            r2 = squared_grid[winner]  # [K, 1]
            buffer *= alpha * (width**r2 if gaussian else (r2 <= width))  # cooperation
            weights += buffer  # adaptation, the whole map at once
        return
    squared_grid = squared_grid[:, :, 0]
    n_nodes = weights.shape[0]
    squared_norms = np.einsum("ij,ij->i", weights, weights)
    for x, alpha, width in zip(X, alphas, widths):
        dots = weights @ x
        winner = np.argmin(squared_norms - 2 * dots)  # competition
        r2 = squared_grid[winner]
        step = alpha * (width**r2 if gaussian else (r2 <= width))  # cooperation
        step[step <= NEGLIGIBLE] = 0
        squared_norms = (
            (1 - step) ** 2 * squared_norms + 2 * step * (1 - step) * dots + step**2 * (x @ x)
        )
        moving = np.flatnonzero(step)
        if moving.size > n_nodes // 2:  # adaptation, the whole neighbourhood at once
            np.subtract(x, weights, out=buffer)
            buffer *= step[:, None]
            weights += buffer
        else:
            weights[moving] += step[moving, None] * (x - weights[moving])


def batch_step(X, weights, h):
    """One epoch of Kohonen's batch map: ``w_j = sum_i h[j, c(i)] x_i / sum_i h[j, c(i)]``.

    ``X`` ``[n, d]``, ``weights`` ``[K, d]``, ``h`` ``[K, K]`` neighbourhood weights
    ``h[j, c]``. Computed as ``h @ S / h @ N`` with ``S_c`` the sum and ``N_c`` the count of
    samples won by node ``c``. A node with no sample in its neighbourhood keeps its weights.
    """
    best = nearest(X, weights, with_distances=False)[0]  # competition: the winner c(i) of x_i
    sums, counts = _cluster_sums(X, best, weights.shape[0])  # S_c, [K, d], and N_c, [K]
    counts = counts.astype(X.dtype)
    numerator, denominator = h @ sums, h @ counts
    covered = denominator > 0
    new = weights.copy()
    new[covered] = numerator[covered] / denominator[covered, None]
    return new


def batch_step_torch(X, weights, h):
    """:func:`batch_step` on torch tensors (on any device, a GPU's included): the same epoch,
    with the competition by :func:`coursekit.distances.nearest` (on the tensors' device) and
    the sums ``S_c`` by ``index_add_``. ``X`` ``[n, d]``, ``weights`` ``[K, d]`` and ``h`` ``[K, K]`` share one
    dtype and device."""
    best = nearest(X, weights, with_distances=False)[0]  # c(i), [n]
    sums = torch.zeros_like(weights).index_add_(0, best, X)  # S_c, [K, d]
    counts = torch.bincount(best, minlength=weights.shape[0]).to(weights.dtype)  # N_c, [K]
    numerator, denominator = h @ sums, h @ counts
    covered = denominator > 0
    return torch.where(covered[:, None], numerator / denominator.clamp(min=1e-30)[:, None], weights)


def pca_weights(X, rows, cols, topology="rect"):
    """PCA initialisation: nodes spread over the plane of the top two principal components.

    ``w = mean + a s_1 v_1 + b s_2 v_2`` with node coordinates rescaled to ``a, b`` in
    ``[-1, 1]``, ``v_k`` the principal axes and ``s_k`` the standard deviations along them; the
    first axis runs along the longer side of the grid. ``-> [rows * cols, d]``. ``X`` may be a
    NumPy array or a torch tensor; the weights come in its dtype, on its device.
    """
    mean = X.mean(0)
    spread, axes = _principal_axes(X - mean, 2)
    coordinates = grid_coordinates(rows, cols, topology)  # (x along cols, y along rows)
    low, high = coordinates.min(axis=0), coordinates.max(axis=0)
    span = high - low
    unit = 2 * (coordinates - low) / np.where(span > 0, span, 1.0) - 1  # into [-1, 1]
    unit[:, span == 0] = 0.0  # a grid one node wide stays on the mean along that axis
    if span[1] > span[0]:  # taller than wide: the first component along the rows
        unit = unit[:, ::-1]
    unit = unit[:, : len(spread)].astype(np.float64)
    if torch.is_tensor(X):
        unit = torch.as_tensor(unit.copy(), dtype=X.dtype, device=X.device)
    else:
        unit = unit.astype(X.dtype)
    return mean + (unit * spread) @ axes  # w = mean + sum_k a_k s_k v_k, [rows * cols, d]


def _principal_axes(centred, k):
    """Top ``k`` principal axes ``[<=k, d]`` of centred data and the standard deviations along
    them. With more samples than features the ``d x d`` covariance is cheaper than an SVD.
    A torch tensor stays a tensor, on its device."""
    n, d = centred.shape
    if torch.is_tensor(centred):
        k = min(k, n, d)
        if n > d:
            variances, vectors = torch.linalg.eigh(centred.T @ centred / (n - 1))  # ascending
            return variances.flip(0)[:k].clamp(min=0).sqrt(), vectors.flip(1)[:, :k].T
        _, singular, axes = torch.linalg.svd(centred, full_matrices=False)
        return singular[:k] / np.sqrt(max(n - 1, 1)), axes[:k]
    if n > d:  # only the top k eigenpairs of the covariance: several times faster than all d
        covariance = centred.T @ centred / (n - 1)
        k = min(k, d)
        variances, vectors = linalg.eigh(covariance, subset_by_index=[d - k, d - 1])
        top = np.argsort(variances)[::-1]
        return np.sqrt(np.maximum(variances[top], 0.0)), vectors[:, top].T
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    return singular[:k] / np.sqrt(max(n - 1, 1)), axes[:k]


def _numpy(weights):
    """Weights as a NumPy array, fetched from the GPU when they are a torch tensor."""
    return weights.cpu().numpy() if isinstance(weights, torch.Tensor) else weights


def _check_topology(topology):
    check_choice(topology, "topology", TOPOLOGIES)
