"""Worker processes that parse the parts of a big X12 file side by side.

One process parses about 6-8 MB of X12 per CPU second (Python for the loop walk, polars
for the rows), so on a machine with more than one core a big file's parts (parse.py)
are parsed in a small pool of worker processes, one per core, each running polars on
one thread, while landing COPYs the parts that came back.

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
- Tasks and results cross as files in a spool folder (in memory where /dev/shm exists),
  not through the pool's pipes: a part's result is about 1 MB, and a pipe moves 64 KB
  at a time, each time waiting for this process's interpreter lock, which landing's
  threads hold while they encode and send the parts before. Measured on 2 cores: a
  worker waited 10-25 ms to hand a part back and to get its next one, about a tenth of
  the parsing time; a file is written and read in one call each. The spool folder of a
  call to `ordered` is removed when the call ends.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Imported once by the fork server, so that every worker starts with them loaded.
PRELOAD = ["etl.sources.x12.parse"]
# Where tasks and results are spooled (module notes): memory, where the system has it.
# Only the parent of each call's own folder, which mkdtemp makes private (mode 0700).
_SHM = "/dev/shm"  # noqa: S108
_SPOOL_ROOT = _SHM if os.access(_SHM, os.W_OK) else None

_POLARS_THREADS = "POLARS_MAX_THREADS"

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
        _start_fork_server()
        _pool = ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=_warm)
        _owner, _size = os.getpid(), size
        if not _registered:
            atexit.register(shutdown)
            _registered = True
    return _pool


def _start_fork_server() -> None:
    """Start the fork server (if it is not running) with one polars thread per worker:
    the workers are as many as the cores, and polars sizes its thread pool once, when
    it is imported (by the fork server's preload). A polars thread pool per worker
    would put several threads on each core for the many small operations of a part."""
    before = os.environ.get(_POLARS_THREADS)
    os.environ[_POLARS_THREADS] = "1"
    try:
        forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ[_POLARS_THREADS]
        else:
            os.environ[_POLARS_THREADS] = before


def shutdown() -> None:
    """Stop the pool's processes (the next use starts a new pool)."""
    global _pool
    found, _pool = _pool, None
    if found is not None and _owner == os.getpid():
        found.shutdown(wait=True, cancel_futures=True)


def _spool(path: Path, value: object) -> Path:
    path.write_bytes(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    return path


def _unspool(path: Path) -> object:
    value = pickle.loads(path.read_bytes())  # noqa: S301 - written by this pool
    path.unlink()
    return value


def _run_spooled(function: Callable[[T], R], task: Path) -> Path:
    """In a worker: the task from its file, the result to a file beside it."""
    result = function(_unspool(task))  # type: ignore[arg-type]
    return _spool(task.with_suffix(".result"), result)


def ordered(function: Callable[[T], R], tasks: Iterable[T], processes: int) -> Iterator[R]:
    """`function(task)` for each task, run in a pool of `processes` and yielded in task
    order. At most two tasks per process are submitted beyond the one being waited for,
    so a big file is never all in flight at once; leaving early cancels the tasks not
    yet started."""
    executor = pool(processes)
    limit = 2 * processes
    pending: deque[Future[Path]] = deque()
    with tempfile.TemporaryDirectory(prefix="etl-x12-parts-", dir=_SPOOL_ROOT) as folder:
        try:
            for number, task in enumerate(tasks):
                spooled = _spool(Path(folder, f"{number}.task"), task)
                pending.append(executor.submit(_run_spooled, function, spooled))
                if len(pending) > limit:
                    yield _unspool(pending.popleft().result())  # type: ignore[misc]
            while pending:
                yield _unspool(pending.popleft().result())  # type: ignore[misc]
        except BrokenProcessPool:
            shutdown()
            raise
        finally:
            for future in pending:
                future.cancel()
