"""Encoders: text, images, audio (or raw vectors) into embedding vectors.

Built-in model encoders (each imports its heavy library only on first use):

* :class:`~genseek.encoders.hf_text.HFTextEncoder` (``hf-text``) — local transformers /
  sentence-transformers models; pooled vectors or token states (:class:`TokenStates`);
* :class:`~genseek.encoders.clap.ClapEncoder` (``clap``) — LAION-CLAP text / audio;
* :class:`~genseek.encoders.openclip.OpenClipEncoder` (``open-clip``) — OpenCLIP text / images;
* :class:`~genseek.encoders.precomputed.PrecomputedEncoder` (``precomputed``) — vectors as given.
"""

from .clap import ClapEncoder
from .hf_text import HFTextEncoder, TokenStates
from .openclip import OpenClipEncoder
from .precomputed import PrecomputedEncoder

__all__ = ["ClapEncoder", "HFTextEncoder", "OpenClipEncoder", "PrecomputedEncoder", "TokenStates"]
