"""Built-in adapters, registered through the same hook as third-party ones."""

from ..plugin.hookspecs import hookimpl
from .qdrant import AsyncQdrantAdapter, QdrantAdapter
from .qdrant_edge import AsyncEdgeAdapter, EdgeAdapter


@hookimpl
def register_adapters(register):
    register(QdrantAdapter)
    register(AsyncQdrantAdapter)
    register(EdgeAdapter)  # imports qdrant_edge lazily: registered even without the 'edge' extra
    register(AsyncEdgeAdapter)
