import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Training tests run on one intra-op thread: fastest on a shared 2-core CPU, and deterministic."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
