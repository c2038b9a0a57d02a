"""Built-in adapters, registered through the same hook as third-party ones."""

from ..plugin.hookspecs import hookimpl
from .qdrant import AsyncQdrantAdapter, QdrantAdapter


@hookimpl
def register_adapters(register):
    register(QdrantAdapter)
    register(AsyncQdrantAdapter)
