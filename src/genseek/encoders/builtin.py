"""Built-in encoders, registered through the same hook as third-party ones."""

from ..plugin.hookspecs import hookimpl
from .precomputed import PrecomputedEncoder


@hookimpl
def register_encoders(register):
    register(PrecomputedEncoder)
