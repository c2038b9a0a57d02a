"""A memory cap for tests that must prove a bad file is refused before anything is allocated."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def bounded_memory(extra: int = 1 << 30) -> Iterator[None]:
    """Cap the process's address space at its current size + ``extra`` bytes, then restore it.

    Linux only (reads ``/proc/self/status``); elsewhere it caps nothing. Inside the block an
    allocation beyond the cap raises ``MemoryError`` instead of swapping the machine.
    """
    import resource

    try:
        status = open("/proc/self/status").read()
    except OSError:
        yield
        return
    current = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + extra if hard == resource.RLIM_INFINITY else min(current + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


__all__ = ["bounded_memory"]
