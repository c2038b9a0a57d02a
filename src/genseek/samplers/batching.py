"""Micro-batching: concurrent ``sample`` calls of one prior share one batched network pass.

An app serves many users at once; each search samples a handful of seeds, a batch of one query
on a network that runs a batch of many for nearly the same cost. :class:`MicroBatcher` collects
the calls that arrive together and runs them as one job:

* **no helper thread** — the first caller to find the batcher idle becomes the *leader*: it waits
  ``window_ms`` (0 by default: no wait) for more calls, takes every queued call that can share
  its pass (same ``key``, up to ``max_batch``), runs the pass in its own thread and hands each
  caller its share. Calls that arrive while a pass runs queue for the next one, so batches form
  by themselves under load while a lone caller never waits;
* **the same result as alone** — the job runs each call with its own inputs (for samplers: its
  own torch generator seed), so a call's output does not depend on the batch it was in, up to
  floating-point rounding of batched kernels;
* **errors stay with their call** — when a batched pass raises, each call of that batch is run
  alone, so one bad request never fails its neighbours;
* **bounded** — at most ``max_pending`` calls may wait; the next one gets
  :class:`~genseek.errors.SamplerBusyError` at once (back-pressure, not unbounded memory).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from ..errors import ConfigError, SamplerBusyError

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Defaults of :class:`MicroBatcher` (and of the prior samplers' ``batch_*`` options).
DEFAULT_WINDOW_MS = 0.0
DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_PENDING = 1024


@dataclass(eq=False)
class _Call(Generic[Item, Result]):
    key: Hashable
    item: Item
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    batch_size: int = 0
    ready: threading.Event = field(default_factory=threading.Event)


class MicroBatcher(Generic[Item, Result]):
    """Runs ``run(items) -> results`` (one result per item, same order) over calls batched by ``key``.

    Thread-safe; see the module docstring for the protocol. ``submit`` returns
    ``(result, batch_size)``.

    Args:
        run: the batched job; must not depend on which items share a batch.
        window_ms: how long a leader waits for more calls before running (≥ 0).
        max_batch: most calls in one pass (≥ 1).
        max_pending: most calls queued at once (≥ 1); beyond it ``submit`` raises
            :class:`~genseek.errors.SamplerBusyError`.
        name: what the error messages call the batched component.
    """

    def __init__(
        self,
        run: Callable[[list[Item]], Sequence[Result]],
        *,
        window_ms: float = DEFAULT_WINDOW_MS,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_pending: int = DEFAULT_MAX_PENDING,
        name: str = "sampler",
    ) -> None:
        check_batching(window_ms, max_batch, max_pending)
        self._run = run
        self.window_s = float(window_ms) / 1e3
        self.max_batch = int(max_batch)
        self.max_pending = int(max_pending)
        self.name = name
        self._lock = threading.Lock()
        self._queue: deque[_Call] = deque()
        self._leading = False

    @property
    def pending(self) -> int:
        """Calls queued and not yet taken into a pass."""
        with self._lock:
            return len(self._queue)

    def submit(self, key: Hashable, item: Item) -> tuple[Result, int]:
        """Run ``item`` (batched with concurrent calls of the same ``key``); ``(result, batch size)``."""
        call: _Call = _Call(key, item)
        with self._lock:
            if len(self._queue) >= self.max_pending:
                raise SamplerBusyError(
                    f"{self.name}: {len(self._queue)} sampling calls are already queued (max_pending="
                    f"{self.max_pending}); retry later, shed load, or raise max_pending / batch_max_pending"
                )
            self._queue.append(call)
        while not call.done:
            if self._try_lead():
                try:
                    self._lead(call)
                finally:
                    self._step_down()
            else:
                call.ready.wait()
                call.ready.clear()
        if call.error is not None:
            raise call.error
        return call.result, call.batch_size

    # -- leader protocol --------------------------------------------------------------------------
    def _try_lead(self) -> bool:
        with self._lock:
            if self._leading:
                return False
            self._leading = True
            return True

    def _step_down(self) -> None:
        """Let the oldest waiting call lead the next pass (if any is queued)."""
        with self._lock:
            self._leading = False
            waiting = self._queue[0] if self._queue else None
        if waiting is not None:
            waiting.ready.set()

    def _lead(self, own: _Call) -> None:
        if own.done:
            return
        if self.window_s > 0:
            time.sleep(self.window_s)
        with self._lock:
            batch = [own]
            rest: deque[_Call] = deque()
            for call in self._queue:
                if call is own:
                    continue
                if call.key == own.key and len(batch) < self.max_batch:
                    batch.append(call)
                else:
                    rest.append(call)
            self._queue = rest
        self._execute(batch)

    def _execute(self, batch: list[_Call]) -> None:
        try:
            results = list(self._run([call.item for call in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"{self.name}: batched job returned {len(results)} results for {len(batch)} calls")
        except BaseException as error:  # noqa: BLE001 - each call is retried alone to get its own outcome
            if len(batch) == 1:
                self._finish(batch[0], None, error, 1)
                return
            for call in batch:
                try:
                    self._finish(call, self._run([call.item])[0], None, 1)
                except BaseException as own_error:  # noqa: BLE001
                    self._finish(call, None, own_error, 1)
            return
        for call, result in zip(batch, results):
            self._finish(call, result, None, len(batch))

    @staticmethod
    def _finish(call: _Call, result: Any, error: BaseException | None, size: int) -> None:
        call.result, call.error, call.batch_size, call.done = result, error, size, True
        call.ready.set()


def check_batching(window_ms: Any, max_batch: Any, max_pending: Any) -> None:
    """Raise :class:`~genseek.errors.ConfigError` for unusable micro-batching settings."""
    if isinstance(window_ms, bool) or not isinstance(window_ms, (int, float)) or not 0 <= window_ms <= 1000:
        raise ConfigError(f"batch_window_ms must be a number of milliseconds in [0, 1000], got {window_ms!r}")
    for name, value in (("batch_max_size", max_batch), ("batch_max_pending", max_pending)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def batch_key(n: int, controls: dict[str, Any]) -> Hashable:
    """A key under which calls may share one pass: same ``n`` and equal controls.

    Arrays compare by shape, dtype and bytes; a control value of any other unhashable type
    gets a key of its own (such calls run alone).
    """
    return (n, tuple(sorted((name, _frozen(value)) for name, value in controls.items())))


def _frozen(value: Any) -> Hashable:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return (type(value).__name__, value)
    if isinstance(value, np.ndarray):
        return ("ndarray", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_frozen(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((repr(k), _frozen(v)) for k, v in value.items())))
    return ("unique", object())


__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_MAX_PENDING", "DEFAULT_WINDOW_MS", "MicroBatcher", "batch_key", "check_batching"]
