"""Run a generator one or two items ahead in a thread.

Landing alternates between reading a batch (Python: orjson, Arrow) and COPYing it
(PostgreSQL, in another process, while this one waits on the socket). Reading the next
batch while the last one is copied keeps both cores busy. Exceptions raised while
reading reach the consumer at the point the failing batch would have; a consumer that
stops early stops the reader too.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

# How often a blocked reader checks whether the consumer has gone.
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield what `items` yields, reading at most `depth` items ahead in a thread."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def hand_over(item: object) -> bool:
        while not stopped.is_set():
            try:
                handoff.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def read_ahead() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            hand_over(_Failed(error))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's open files close here, in its own thread
        hand_over(_DONE)

    reader = threading.Thread(target=read_ahead, name="fhir-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stopped.set()
        reader.join()
