"""Storage adapters: how genseek talks to a Qdrant backend."""
