import pytest
from channels.layers import channel_layers


@pytest.fixture(autouse=True)
def fresh_layer():
    """A channel layer per test: each async test runs on its own event loop, and a layer is bound to one."""
    channel_layers.backends = {}
    yield
    channel_layers.backends = {}
