"""Test kit for applications and plugin authors.

* :class:`HashingEncoder` — a deterministic text encoder with no weights (token hashing);
* :class:`FixedSeedsSampler` — returns the seeds you give it, so a test controls exactly what
  is searched;
* :func:`clustered_vectors` — structured (clustered, low intrinsic dimension) vectors, the kind
  of data on which ANN indexes behave like they do on real embeddings;
* :func:`make_collection` — a local-mode collection filled with such vectors and a payload;
* this module is also a plugin: ``build_registry(extra_plugins=[genseek.testing])`` registers
  the fakes as ``hashing`` (encoder) and ``fixed`` (sampler).
"""

from .fakes import FixedSeedsSampler, HashingEncoder
from .data import clustered_vectors, make_collection
from ..plugin.hookspecs import hookimpl


@hookimpl
def register_encoders(register):
    register(HashingEncoder)


@hookimpl
def register_samplers(register):
    register(FixedSeedsSampler)


__all__ = ["FixedSeedsSampler", "HashingEncoder", "clustered_vectors", "make_collection"]
