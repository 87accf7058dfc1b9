"""Sandbox worker process: reads one JSON request per line on stdin, writes one JSON reply.

Started by sandbox.py as `python -m r1repro.grading._worker MEM_MB CPU_S`. It caps its own
address space (RLIMIT_AS) and, before every request, its CPU time (RLIMIT_CPU soft limit =
CPU used so far + CPU_S), imports sympy once, prints {"ready": true}, then serves requests.
Any exception becomes a reply; a runaway request is killed by the parent or by SIGXCPU.
"""

from __future__ import annotations

import json
import resource
import sys


def _limit(mem_mb: int) -> None:
    if mem_mb > 0:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
        except (ValueError, OSError):
            pass


def _cpu_cap(cpu_s: int) -> None:
    used = resource.getrusage(resource.RUSAGE_SELF)
    total = int(used.ru_utime + used.ru_stime) + 1
    try:
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        soft = total + cpu_s
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass


def _serve(req: dict) -> dict:
    from r1repro.grading import symbolic

    op = req.get("op")
    if op == "sym":
        return symbolic.compare(req["pred"], req["gold"], **req.get("kw", {}))
    if op == "mv":
        return symbolic.math_verify_check(req["response"], req["gold"])
    if op == "ping":
        return {"reason": "exact"}
    return {"reason": "unparseable", "detail": f"unknown op {op!r}"}


def main() -> None:
    mem_mb, cpu_s = int(sys.argv[1]), int(sys.argv[2])
    _limit(mem_mb)
    sys.setrecursionlimit(5000)
    import sympy  # noqa: F401  - import once, before "ready", so requests stay within budget

    from r1repro.grading import symbolic

    try:
        symbolic.compare("x+1", "1+x")  # warm the ANTLR parser
    except Exception:  # noqa: BLE001
        pass
    if len(sys.argv) > 3 and sys.argv[3] == "mv":
        import math_verify  # noqa: F401
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        _cpu_cap(cpu_s)
        try:
            reply = _serve(json.loads(line))
        except MemoryError:
            reply = {"reason": "too_large", "detail": "memory limit"}
        except RecursionError:
            reply = {"reason": "too_large", "detail": "recursion"}
        except Exception as e:  # noqa: BLE001 - the parent must always get a reply
            reply = {"reason": "unparseable", "detail": f"{type(e).__name__}: {str(e)[:100]}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
