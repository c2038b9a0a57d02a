"""Built-in encoders, registered through the same hook as third-party ones.

Importing the encoder modules imports no heavy library: transformers, open_clip and laion_clap
load inside each encoder on first use.
"""

from ..plugin.hookspecs import hookimpl
from .clap import ClapEncoder
from .hf_text import HFTextEncoder
from .openclip import OpenClipEncoder
from .precomputed import PrecomputedEncoder


@hookimpl
def register_encoders(register):
    register(PrecomputedEncoder)
    register(HFTextEncoder)
    register(ClapEncoder)
    register(OpenClipEncoder)
