"""Built-in samplers, registered through the same hook as third-party ones."""

from ..plugin.hookspecs import hookimpl
from .diffusion import DiffusionSampler
from .identity import IdentitySampler
from .regression import RegressionSampler


@hookimpl
def register_samplers(register):
    register(IdentitySampler)
    register(DiffusionSampler)
    register(RegressionSampler)
