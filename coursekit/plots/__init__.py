"""Matplotlib figures used by the book, one module per family of figures.

Every function draws on the ``ax`` it is given (or on a new figure), returns the ``Axes`` or
``Figure`` and never calls ``plt.show()``: the notebook decides when to show. Import them from
here (``from coursekit import plots; plots.plot_clusters(...)``); the submodules only keep
each file short.
"""

from coursekit.plots import autoencoders, clusters, images, latent, prototypes, rbm, som
from coursekit.plots.autoencoders import *  # noqa: F401,F403
from coursekit.plots.clusters import *  # noqa: F401,F403
from coursekit.plots.images import *  # noqa: F401,F403
from coursekit.plots.latent import *  # noqa: F401,F403
from coursekit.plots.prototypes import *  # noqa: F401,F403
from coursekit.plots.rbm import *  # noqa: F401,F403
from coursekit.plots.som import *  # noqa: F401,F403

__all__ = [name for module in (autoencoders, clusters, images, latent, prototypes, rbm, som)
           for name in module.__all__]
