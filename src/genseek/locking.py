"""One lock per qdrant-client *local-mode* client, shared by genseek and by the application.

qdrant-client's local mode (``QdrantClient(":memory:")`` or ``QdrantClient(path=...)``) is a
pure-Python engine without any locking: two threads that use one client at the same time — a
search while a point or a tenant configuration is written, two writers — corrupt its in-memory
arrays and fail with ``IndexError`` (or return wrong results). A server or cluster client needs no
lock: the server serialises its own state.

Contract:

* :func:`local_client_lock` returns, for a local-mode client, the one :class:`threading.RLock`
  of that client's engine (created on first use, dropped with the client); for any other client
  it returns :data:`NO_LOCK`, a context manager that does nothing, so calling code never has to
  ask which kind of client it holds.
* genseek takes this lock around **every** call it makes on a local-mode client — the
  ``qdrant`` / ``qdrant-async`` adapters (searches, refines, collection metadata) and
  :class:`~genseek.tenants.store.TenantStore` (configuration reads and writes) — and holds it only
  for the duration of the call.
* Other code that shares the client between threads must take the **same** lock around its own
  calls, or it can still break genseek's (and its own) requests::

      with genseek.local_client_lock(client):
          client.upsert("tracks", points)

  The lock is re-entrant, so code holding it may call genseek (which takes it again).
* ``AsyncQdrantClient(":memory:")``: its local engine runs every call to completion without
  suspending, so tasks of one event loop cannot interleave inside it and need no ``asyncio.Lock``;
  the same thread lock still serialises event loops of *different* threads that share the client
  (an acquisition waits at most for one local call of another thread).
"""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Any

#: Engine object (``QdrantLocal`` / ``AsyncQdrantLocal``) → its lock.
_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_CREATING = threading.Lock()


class _NoLock:
    """A lock-shaped object that does nothing (returned for clients that need no lock)."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        return None

    def __enter__(self) -> _NoLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        return "genseek.locking.NO_LOCK"


#: What :func:`local_client_lock` returns for clients that are not in local mode.
NO_LOCK = _NoLock()


def _local_engine(client: Any) -> Any | None:
    """The local-mode engine behind ``client`` (``None`` for a server client or any other object).

    Detected as qdrant-client itself does: ``client._client`` is a ``QdrantLocal`` (sync) or an
    ``AsyncQdrantLocal`` (async) instance.
    """
    engine = getattr(client, "_client", None)
    if engine is None:
        return None
    try:
        from qdrant_client.local.async_qdrant_local import AsyncQdrantLocal
        from qdrant_client.local.qdrant_local import QdrantLocal
    except ImportError:  # pragma: no cover - a qdrant-client without local mode
        return None
    return engine if isinstance(engine, (QdrantLocal, AsyncQdrantLocal)) else None


def is_local_mode(client: Any) -> bool:
    """Whether ``client`` is a qdrant-client local-mode client (``":memory:"`` or ``path=``)."""
    return _local_engine(client) is not None


def local_client_lock(client: Any) -> Any:
    """The lock genseek takes around its calls on ``client``; take it around yours.

    Returns the client's re-entrant :class:`threading.RLock` when ``client`` is a qdrant-client
    local-mode client (sync or async), and :data:`NO_LOCK` (does nothing) otherwise. The same
    client always gets the same lock. Use it as ``with local_client_lock(client): ...``.
    """
    engine = _local_engine(client)
    if engine is None:
        return NO_LOCK
    with _CREATING:
        lock = _LOCKS.get(engine)
        if lock is None:
            lock = _LOCKS[engine] = threading.RLock()
        return lock


class _Serialized:
    """A qdrant-client proxy that runs every call under one lock per local-mode engine."""

    def __init__(self, client: Any, lock: threading.RLock) -> None:
        self._genseek_client = client
        self._genseek_lock = lock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._genseek_client, name)
        if not callable(attr):
            return attr
        lock = self._genseek_lock

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return attr(*args, **kwargs)

        return call

    def __repr__(self) -> str:
        return f"<thread-safe {self._genseek_client!r}>"


def thread_safe_client(client: Any) -> Any:
    """``client`` itself, or — for qdrant-client local mode, which has no locking of its own — a
    proxy that runs every call under :func:`local_client_lock` (the one lock of that
    client's engine, which genseek's adapters, the tenant store and the application also take),
    so the heartbeat thread, the migrator and other threads never run a call at the same time.
    Server clients are thread-safe and returned unchanged. A local-mode ``AsyncQdrantClient`` is
    refused: its calls return coroutines, which a proxy cannot hold the lock across; take
    :func:`local_client_lock` around each awaited call instead.
    """
    if isinstance(client, _Serialized):
        return client
    lock = local_client_lock(client)
    if lock is NO_LOCK:
        return client
    from qdrant_client import AsyncQdrantClient

    if isinstance(client, AsyncQdrantClient):
        raise TypeError(
            "thread_safe_client() serialises synchronous clients only; for an AsyncQdrantClient in local mode, "
            "take genseek.local_client_lock(client) around each awaited call"
        )
    return _Serialized(client, lock)


__all__ = ["NO_LOCK", "is_local_mode", "local_client_lock", "thread_safe_client"]
