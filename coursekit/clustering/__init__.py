"""Clustering (кластеризация), chapters 1 and 2, one module per idea.

* :mod:`~coursekit.clustering.criteria` — chapter 1: the nearest-centre rule
  ``a(x) = argmin_y rho(x, w_y)`` (:func:`assign`, from :mod:`coursekit.distances`), quantization
  and the criteria of a partition (:func:`quantization_error`, :func:`within_cluster_sum`,
  the mean distances within and across clusters);
* :mod:`~coursekit.clustering.kmeans` — chapter 2: :class:`KMeans` by Lloyd's algorithm
  (:func:`lloyd_step`), started by k-means++ (:func:`kmeans_plusplus`);
* :mod:`~coursekit.clustering.mixtures` — chapter 2: :class:`GaussianMixture` fitted by EM
  (:func:`e_step`, :func:`m_step`, :func:`lower_bound`, :func:`gaussian_log_density`).

Every public name is importable from here: ``from coursekit.clustering import KMeans``.
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
