"""Unit tests run torch on one intra-op thread.

Their models and matrices are tiny: extra threads gain nothing, and on a busy 2-core machine
their spin-waiting made small tests up to ten times slower (0.3 s -> 4 s for a digits model).
"""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
