"""Process-pool sandbox for the symbolic step: memory- and CPU-capped, time-boxed, thread-safe.

Why: sympy can hang or eat all memory on adversarial input, and signal-based timeouts only work
on the main thread (they silently fail in DataLoader workers and reward threads). Here the
parent never runs sympy: it sends a JSON line to a worker subprocess (plain subprocess.Popen, so
it also works inside daemonic DataLoader workers and torchrun ranks), waits at most the budget
with select(), and on timeout kills the worker's process group, starts a fresh one and answers
{"reason": "timeout"}.

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
MEM_MB = 2048
"""RLIMIT_AS of a worker, MiB."""
CPU_S = 10
"""RLIMIT_CPU headroom of a worker per request, seconds (a backstop behind the wall timeout)."""
STARTUP_S = 60.0
"""How long a fresh worker may take to import sympy (not counted in a check's budget)."""

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
        self.ready = False

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

    def request(self, req: dict, timeout_s: float) -> dict | None:
        if not self.ready:
            if self._readline(time.monotonic() + STARTUP_S) is None:
                return None
            self.ready = True
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        line = self._readline(time.monotonic() + timeout_s)
        return None if line is None else json.loads(line)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


class Pool:
    """N workers behind a queue; a caller borrows one, so calls from many threads run in parallel."""

    def __init__(self, n: int, with_mv: bool = False):
        self.with_mv = with_mv
        self.free: queue.Queue[_Worker] = queue.Queue()
        for _ in range(n):
            self.free.put(_Worker(with_mv))
        self.n = n

    def call(self, req: dict, timeout_s: float) -> dict:
        w = self.free.get()
        try:
            reply = w.request(req, timeout_s)
            if reply is None:
                w.kill()
                w = _Worker(self.with_mv)  # respawn now; it imports sympy while we return
                return {"reason": "timeout", "detail": f"no reply within {timeout_s:.1f}s"}
            return reply
        finally:
            self.free.put(w)

    def warmup(self) -> None:
        for _ in range(self.n):
            self.call({"op": "ping"}, STARTUP_S)

    def close(self) -> None:
        while not self.free.empty():
            self.free.get().kill()


_POOLS: dict[tuple[int, bool], Pool] = {}
_LOCK = threading.Lock()


def workers() -> int:
    """Worker processes per pool in this process: R1REPRO_GRADER_WORKERS, else WORKERS."""
    try:
        return max(1, int(os.environ.get("R1REPRO_GRADER_WORKERS", WORKERS)))
    except ValueError:
        return WORKERS


def get_pool(with_mv: bool = False) -> Pool:
    """This process's pool (a forked child gets its own, never its parent's pipes)."""
    key = (os.getpid(), with_mv)
    pool = _POOLS.get(key)
    if pool is None:
        with _LOCK:
            pool = _POOLS.get(key)
            if pool is None:
                pool = _POOLS[key] = Pool(workers(), with_mv)
    return pool


def call(req: dict, timeout_s: float, *, with_mv: bool = False) -> dict:
    """Run one request in a worker; {"reason": "timeout"} after timeout_s. Never raises."""
    try:
        return get_pool(with_mv).call(req, timeout_s)
    except Exception as e:  # noqa: BLE001 - e.g. cannot fork: report, do not raise
        return {"reason": "timeout", "detail": f"sandbox error {type(e).__name__}: {e}"}


def warmup(with_mv: bool = False) -> None:
    """Start the workers and wait until they have imported sympy."""
    get_pool(with_mv).warmup()


@atexit.register
def _shutdown() -> None:
    for key, pool in list(_POOLS.items()):
        if key[0] == os.getpid():
            pool.close()
