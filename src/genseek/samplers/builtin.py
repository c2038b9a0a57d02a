"""Built-in samplers, registered through the same hook as third-party ones."""

from ..plugin.hookspecs import hookimpl
from .identity import IdentitySampler


@hookimpl
def register_samplers(register):
    register(IdentitySampler)
