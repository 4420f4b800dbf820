"""Clustering (кластеризация): the criteria of chapter 1.

Chapter 1 states the problem: given objects ``X`` ``[n, d]``, a distance ``rho`` and
``K`` clusters, find an algorithm ``a: X -> {0..K-1}``. With cluster centres ``w_y`` the
algorithm is the nearest-centre rule ``a(x) = argmin_y rho(x, w_y)``
(:func:`coursekit.distances.assign`).
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

One module per idea: :mod:`~coursekit.clustering.criteria` (chapter 1),
:mod:`~coursekit.clustering.kmeans` and :mod:`~coursekit.clustering.mixtures` (chapter 2); every
public name is re-exported here (``from coursekit.clustering import KMeans``).
"""

from coursekit.clustering.criteria import (  # noqa: F401
    assign,
    cluster_centers,
    mean_inter_cluster_distance,
    mean_intra_cluster_distance,
    quantization_error,
    quantize,
    within_cluster_sum,
)
from coursekit.clustering.kmeans import KMeans, kmeans_plusplus, lloyd_step  # noqa: F401
from coursekit.clustering.mixtures import (  # noqa: F401
    COVARIANCE_TYPES,
    GaussianMixture,
    e_step,
    gaussian_log_density,
    lower_bound,
    m_step,
)
