"""Appendix: the building blocks that Parts II and III use, written out so they can be read.

One module per idea: ``mlp`` (the fully connected network every neural model is built from),
``conv`` (convolution and max pooling written out, and the convolutional encoder and decoder
of Parts II and III), ``recurrent`` (RNN, LSTM and GRU cells with torch's parameter names),
``word2vec`` (skip-gram with negative sampling). Their public names are importable from
``coursekit.blocks`` directly.
"""

from coursekit.blocks.conv import conv2d, conv_decoder, conv_encoder, max_pool2d  # noqa: F401
from coursekit.blocks.mlp import mlp  # noqa: F401
from coursekit.blocks.recurrent import GRUCell, LSTMCell, RNNCell  # noqa: F401
from coursekit.blocks.word2vec import SkipGram, nearest_words, skipgram_pairs  # noqa: F401
