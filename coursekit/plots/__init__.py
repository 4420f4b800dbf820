"""Matplotlib figures used by the book, one module per family of figures.

Every function draws on the ``ax`` it is given (or on a new figure), returns the ``Axes`` or
``Figure`` and never calls ``plt.show()``: the notebook decides when to show. The one
exception, :mod:`coursekit.plots.demos`, draws the interactive demos' frames and returns them
as PNG bytes (for :mod:`coursekit.widgets`). Import them from
here (``from coursekit import plots; plots.plot_clusters(...)``); the submodules only keep
each file short.
"""

from coursekit.plots import autoencoders, clusters, demos, images, latent, prototypes, rbm, som
from coursekit.plots.autoencoders import *
from coursekit.plots.clusters import *
from coursekit.plots.demos import *
from coursekit.plots.images import *
from coursekit.plots.latent import *
from coursekit.plots.prototypes import *
from coursekit.plots.rbm import *
from coursekit.plots.som import *

__all__ = [name for module in (autoencoders, clusters, demos, images, latent, prototypes, rbm, som)
           for name in module.__all__]
