"""Process-pool sandbox for the symbolic step: memory- and CPU-capped, time-boxed, thread-safe.

Why: sympy can hang or eat all memory on adversarial input, and signal-based timeouts only work
on the main thread (they silently fail in DataLoader workers and reward threads). Here the
parent never runs sympy: it sends a JSON line to a worker subprocess (plain subprocess.Popen, so
it also works inside daemonic DataLoader workers and torchrun ranks) and waits with select().

The budget is the caller's whole wait: the time spent waiting for a free worker counts against
it, and so does the request. On timeout the worker's process group is killed and a warm spare
(a worker started ahead, sympy already imported) takes its place at once, while a new spare
starts in the background; no caller ever waits for sympy's import after the pool's first start.

    from r1repro.grading.sandbox import call
    call({"op": "sym", "pred": "(x+1)^2", "gold": "x^2+2x+1"}, timeout_s=2.0)
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

WORKERS = max(1, min(2, os.cpu_count() or 1))
"""Worker processes per parent process (R1REPRO_GRADER_WORKERS overrides)."""
SPARES = 1
"""Warm spare workers per pool, started ahead to replace killed ones (R1REPRO_GRADER_SPARES)."""
MEM_MB = 2048
"""RLIMIT_AS of a worker, MiB."""
CPU_S = 10
"""RLIMIT_CPU headroom of a worker per request, seconds (a backstop behind the wall timeout)."""
STARTUP_S = 60.0
"""How long a fresh worker may take to import sympy before it is given up on."""
MIN_SLICE_S = 0.005
"""A caller whose budget has less than this left when it gets a worker returns `timeout` without
sending the request (a request it cannot wait for would only get the worker killed)."""

_ROOT = str(Path(__file__).resolve().parents[2])


class _Worker:
    def __init__(self, with_mv: bool = False):
        env = dict(os.environ)
        env["PYTHONPATH"] = _ROOT + os.pathsep + env.get("PYTHONPATH", "")
        args = [sys.executable, "-m", "r1repro.grading._worker", str(MEM_MB), str(CPU_S)]
        self.proc = subprocess.Popen(
            args + (["mv"] if with_mv else []), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, start_new_session=True, close_fds=True)
        self.buf = b""

    def _readline(self, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:  # the worker died (SIGXCPU, memory, crash)
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def wait_ready(self, deadline: float) -> bool:
        """Wait for the worker's {"ready": true} (sympy imported)."""
        return self._readline(deadline) is not None

    def request(self, req: dict, deadline: float) -> dict | None:
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        line = self._readline(deadline)
        return None if line is None else json.loads(line)

    def kill(self) -> None:
        """SIGKILL the worker's process group now; reap it in the background."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self) -> None:
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


class Pool:
    """N ready workers behind a queue, plus warm spares.

    A caller borrows a ready worker (waiting at most its budget), so calls from many threads run
    in parallel. Workers start, and import sympy, in background threads: a new one joins the queue
    (or the spares) only once it is ready."""

    def __init__(self, n: int, with_mv: bool = False, spares: int = SPARES):
        self.n, self.n_spares, self.with_mv = n, spares, with_mv
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.spares: list[_Worker] = []
        self.live: set[_Worker] = set()
        self.cond = threading.Condition()
        self.starting = 0
        self.started = 0  # workers that became ready (not counting spares)
        self.first_ready = threading.Event()
        """Set once n workers have become ready, or every first start has ended (failed)."""
        self.closed = False
        for _ in range(n):
            self._start(spare=False)
        for _ in range(spares):
            self._start(spare=True)

    def _start(self, spare: bool) -> None:
        with self.cond:
            self.starting += 1
        threading.Thread(target=self._warm, args=(spare,), daemon=True).start()

    def _warm(self, spare: bool, attempts: int = 3) -> None:
        try:
            for _ in range(attempts):
                if self.closed:
                    return
                w = _Worker(self.with_mv)
                with self.cond:
                    self.live.add(w)
                if self.closed:  # closed while this one started: close() may not have seen it
                    self._discard(w)
                    return
                if w.wait_ready(time.monotonic() + STARTUP_S) and not self.closed:
                    with self.cond:
                        if spare:
                            self.spares.append(w)
                        else:
                            self.idle.put(w)
                            self.started += 1
                            if self.started >= self.n:
                                self.first_ready.set()
                        self.cond.notify_all()
                    return
                self._discard(w)
        except OSError:  # cannot fork: callers time out, the pool keeps trying on the next kill
            pass
        finally:
            with self.cond:
                self.starting -= 1
                if self.starting == 0:
                    self.first_ready.set()  # whatever could start has started
                self.cond.notify_all()

    def _discard(self, w: _Worker) -> None:
        w.kill()
        with self.cond:
            self.live.discard(w)

    def _replace(self) -> None:
        """A warm spare takes a killed worker's place now; a new spare starts in the background
        (or, with no spare ready, the replacement itself starts and joins when it is ready)."""
        with self.cond:
            spare = self.spares.pop() if self.spares else None
        if spare is not None:
            self.idle.put(spare)
        self._start(spare=spare is not None)

    def call(self, req: dict, timeout_s: float) -> dict:
        deadline = time.monotonic() + timeout_s
        try:
            w = self.idle.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return {"reason": "timeout", "detail": f"no free worker within {timeout_s:.1f}s"}
        if deadline - time.monotonic() < MIN_SLICE_S:
            self.idle.put(w)
            return {"reason": "timeout", "detail": f"waited {timeout_s:.1f}s for a free worker"}
        reply = w.request(req, deadline)
        if reply is None:
            self._discard(w)
            self._replace()
            return {"reason": "timeout", "detail": f"no reply within {timeout_s:.1f}s"}
        self.idle.put(w)
        return reply

    def wait_ready(self, timeout_s: float = STARTUP_S) -> bool:
        """Wait until every worker and every spare is ready and idle."""
        want = self.n + self.n_spares
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while self.idle.qsize() + len(self.spares) < want:
                left = deadline - time.monotonic()
                if left <= 0 or (self.starting == 0 and self.idle.qsize() + len(self.spares) < want
                                 and not self._busy()):
                    return False
                self.cond.wait(min(left, 0.1))
        return True

    def _busy(self) -> bool:
        return len(self.live) > self.idle.qsize() + len(self.spares)

    def close(self) -> None:
        self.closed = True
        with self.cond:
            live = list(self.live)
            self.live.clear()
        for w in live:
            w.kill()


_POOLS: dict[tuple[int, bool], Pool] = {}
_READY: set[tuple[int, bool]] = set()
_LOCK = threading.Lock()


def workers() -> int:
    """Worker processes per pool in this process: R1REPRO_GRADER_WORKERS, else WORKERS."""
    return _env_int("R1REPRO_GRADER_WORKERS", WORKERS, 1)


def _env_int(name: str, default: int, low: int) -> int:
    try:
        return max(low, int(os.environ.get(name, default)))
    except ValueError:
        return default


def get_pool(with_mv: bool = False) -> Pool:
    """This process's pool, started on first use (a forked child gets its own, never its parent's
    pipes)."""
    key = (os.getpid(), with_mv)
    pool = _POOLS.get(key)
    if pool is None:
        with _LOCK:
            pool = _POOLS.get(key)
            if pool is None:
                pool = _POOLS[key] = Pool(workers(), with_mv, _env_int("R1REPRO_GRADER_SPARES", SPARES, 0))
    return pool


def call(req: dict, timeout_s: float, *, with_mv: bool = False) -> dict:
    """Run one request in a worker; {"reason": "timeout"} when the wait for a free worker plus the
    request exceed timeout_s. Never raises."""
    try:
        return get_pool(with_mv).call(req, timeout_s)
    except Exception as e:  # noqa: BLE001 - e.g. cannot fork: report, do not raise
        return {"reason": "timeout", "detail": f"sandbox error {type(e).__name__}: {e}"}


def start(with_mv: bool = False) -> None:
    """Wait, once per process, for the pool's first workers to import sympy (about 2 s); later calls
    return at once. grade_batch calls it, so a fresh process (a DataLoader worker, a torchrun rank)
    pays sympy's import once, before any check's budget starts."""
    key = (os.getpid(), with_mv)
    if key in _READY:
        return
    get_pool(with_mv).first_ready.wait(STARTUP_S)  # not the idle count: other threads may be grading
    _READY.add(key)


def warmup(with_mv: bool = False) -> None:
    """Start the pool and wait until every worker and spare is ready (tests, benchmarks)."""
    get_pool(with_mv).wait_ready(STARTUP_S)
    _READY.add((os.getpid(), with_mv))


@atexit.register
def _shutdown() -> None:
    for key, pool in list(_POOLS.items()):
        if key[0] == os.getpid():
            pool.close()
