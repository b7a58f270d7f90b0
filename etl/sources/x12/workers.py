"""Worker processes that parse the parts of a big X12 file side by side.

Parsing is pure Python: one process parses about 5 MB of X12 per CPU second, so on a
machine with more than one core a big file's parts (parse.py) are parsed in a small
pool of worker processes, one per core, while landing COPYs the parts that came back.

- Start method: `forkserver`. The process that lands has threads (landing's read-ahead
  worker, the pool's own manager thread, polars' and Arrow's thread pools), and a plain
  `fork` of a threaded process can deadlock on a lock some thread held. The fork server
  is a fresh interpreter that imports the parsing modules once (`PRELOAD`); each worker
  is forked from it, single-threaded, with those modules loaded.
- One pool per process, made when the first big file needs it and reused for every
  file after it. Starting it costs once: the fork server's interpreter and imports
  (polars, pyarrow, the parsing modules), then a fork per worker: about 1 s of wall
  time and 1.3-1.7 CPU seconds on the 2-core machine of benchmarks/README.md. Small
  files never start it (parse.py decides).
- Each worker imports the program's main module, as with any `forkserver` or `spawn`
  start: a script that lands files keeps its work under `if __name__ == "__main__":`.
- The pool is shut down at exit (an `atexit` hook, and concurrent.futures joins its
  workers at interpreter shutdown); the fork server ends when this process does. A
  worker that dies (killed, out of memory) breaks the pool: the error reaches the
  caller and the next file gets a new pool.
- An exception raised in a worker is raised again here, of the same type and message,
  with the worker's traceback as its cause (concurrent.futures).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Imported once by the fork server, so that every worker starts with them loaded.
PRELOAD = ["etl.sources.x12.parse"]

_pool: ProcessPoolExecutor | None = None
_owner: int | None = None  # the process that made the pool (a forked child has none)
_size = 0
_registered = False


def count() -> int:
    """Worker processes: one per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _warm() -> None:
    """Each worker's first task would otherwise read the guide files."""
    from etl.sources.x12.guide import load_guides

    load_guides()


def pool(size: int) -> ProcessPoolExecutor:
    """This process's pool of `size` parsing processes, started on first use (module
    notes); a pool of another size is replaced."""
    global _pool, _owner, _size, _registered
    if _pool is not None and _owner == os.getpid() and _size != size:
        shutdown()
    if _pool is None or _owner != os.getpid():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _pool = ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=_warm)
        _owner, _size = os.getpid(), size
        if not _registered:
            atexit.register(shutdown)
            _registered = True
    return _pool


def shutdown() -> None:
    """Stop the pool's processes (the next use starts a new pool)."""
    global _pool
    found, _pool = _pool, None
    if found is not None and _owner == os.getpid():
        found.shutdown(wait=True, cancel_futures=True)


def ordered(function: Callable[[T], R], tasks: Iterable[T], processes: int) -> Iterator[R]:
    """`function(task)` for each task, run in a pool of `processes` and yielded in task
    order. At most two tasks per process are submitted beyond the one being waited for,
    so a big file is never all in flight at once; leaving early cancels the tasks not
    yet started."""
    executor = pool(processes)
    limit = 2 * processes
    pending: deque[Future[R]] = deque()
    try:
        for task in tasks:
            pending.append(executor.submit(function, task))
            if len(pending) > limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        shutdown()
        raise
    finally:
        for future in pending:
            future.cancel()
