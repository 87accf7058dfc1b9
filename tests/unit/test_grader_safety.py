"""Payload suite: model text is never executed, and pathological inputs return within budget.

Each payload would create a file if any layer eval'd it (sympify/parse_expr/eval); after grading
it through both backends, the file must not exist. Each pathological input must come back within
timeout_s + 1 s, also when check() runs off the main thread, when 8 threads grade slow symbolic
inputs at once, and in a fresh process (a torchrun rank) or a forked daemonic child (a DataLoader
worker).

Run: python -m pytest tests/unit/test_grader_safety.py -q
"""

from __future__ import annotations

import threading
import time

import pytest

from r1repro.grading import GraderPolicy, check
from r1repro.grading.sandbox import warmup

BUDGET = GraderPolicy(timeout_s=2.0)


@pytest.fixture(scope="module", autouse=True)
def _warm():
    warmup()
    warmup(with_mv=True)


def _payloads(path: str) -> list[str]:
    p = repr(path)
    return [
        f"\\boxed{{__import__('pathlib').Path({p}).touch()}}",                  # classic parse_expr
        f"__import__('pathlib').Path({p}).touch()",                              # bare text
        f"The answer is __import__('os').system('touch {path}')",                # phrase extractor
        f"<answer>exec(\"open({p},'w').write('x')\")</answer>",                  # exec
        f"\\boxed{{eval(\"open({p},'w')\")}}",                                   # eval
        f"\\boxed{{Lambda(x, __import__('pathlib').Path({p}).touch())(1)}}",     # sympy Lambda
        f"#### (lambda: open({p}, 'w'))()",                                     # GSM8K marker
        f"$__import__('pathlib').Path({p}).touch()$",                            # math-verify expr
    ]


@pytest.mark.parametrize("backend", ["r1repro", "math_verify"])
def test_payloads_never_execute(tmp_path, backend):
    target = tmp_path / "pwned"
    pol = GraderPolicy(backend=backend, timeout_s=5.0)
    for payload in _payloads(str(target)):
        v = check(payload, "1", policy=pol)
        assert v.correct is False, (payload, v)  # a payload is never a correct answer
        assert not target.exists(), f"payload executed: {payload}"


PATHOLOGICAL = [
    "\\boxed{9^{9^{9^{9}}}}",              # power tower (guard)
    "\\boxed{9**9**9**9}",                 # python-style tower (guard)
    "\\boxed{(10^9)!}",                    # huge factorial (guard)
    "\\boxed{\\sum_{k=1}^{10^{12}} k}",    # huge sum (guard)
    "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}",  # deep nesting (length guard)
    "\\boxed{" + "x+" * 5000 + "1}",       # long expression
    "\\boxed{" * 2000,                     # unbalanced boxes
    "<think>" * 10_000 + "</think>" + "\\boxed{1}" * 1000,  # many tags and boxes
    "\\boxed{10^{5000}}",                  # large but legal-size power: sympy sees it
    "\\boxed{\\frac{" + "1" * 150 + "}{7}}",  # a long exact fraction
]


@pytest.mark.parametrize("response", PATHOLOGICAL)
def test_pathological_within_budget(response):
    t0 = time.monotonic()
    v = check(response, "x^2+1", policy=BUDGET)
    assert time.monotonic() - t0 < BUDGET.timeout_s + 1.0
    assert v.correct is False


# Slow symbolic inputs: outside the pure-Python identity subset (trig), numerically equal, and
# sympy's simplify needs ~17 s for this one (measured on the 2-core development machine).
SLOW = ("\\boxed{\\left(\\sin(x)+\\cos(x)\\right)^{48}}", "\\left(1+\\sin(2x)\\right)^{24}")


def test_timeout_kills_and_recovers():
    # 0.5 s cannot fit the simplify: the worker is killed, a warm spare takes its place at once
    t0 = time.monotonic()
    v = check(SLOW[0], SLOW[1], policy=GraderPolicy(timeout_s=0.5, cache_size=0))
    assert time.monotonic() - t0 < 0.5 + 1.0
    assert (v.correct, v.reason) == (False, "timeout")
    t0 = time.monotonic()  # the next symbolic check is served by the spare: no sympy import to wait for
    assert check("\\boxed{(y+1)^{2} e^{0}}", "y^2+2y+1", policy=GraderPolicy(cache_size=0)).reason \
        == "symbolic_equal"
    assert time.monotonic() - t0 < 1.0
    warmup()  # every worker and spare is back


def _slow_checks(n_threads: int, budget: float, rounds: int = 1) -> list[tuple[str, float]]:
    """Each of n_threads grades SLOW `rounds` times at once; (reason, seconds) of every check."""
    results, lock = [], threading.Lock()
    pol = GraderPolicy(timeout_s=budget, cache_size=0)

    def work():
        for _ in range(rounds):
            t0 = time.monotonic()
            v = check(SLOW[0], SLOW[1], policy=pol)
            with lock:
                results.append((v.reason, time.monotonic() - t0))

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_eight_threads_of_slow_inputs_stay_within_budget():
    # 8 threads, 2 workers: the wait for a free worker counts against each caller's budget, and a
    # killed worker's replacement is a warm spare, so no call waits for sympy's import
    budget = 1.5
    results = _slow_checks(8, budget, rounds=2)
    assert len(results) == 16
    assert all(r == "timeout" for r, _ in results)
    worst = max(dt for _, dt in results)
    assert worst < budget + 1.0, worst
    warmup()
    assert check("\\boxed{(x+1)^2}", "x^2+2x+1").correct  # the pool has recovered


_CHILD = """
import json, sys, threading, time
sys.path.insert(0, {root!r})
from r1repro.grading import GraderPolicy, check, grade_batch
from r1repro.grading.sandbox import start
start()  # a fresh process (torchrun rank, DataLoader worker) pays sympy's import once, here
out = []
def work():
    t0 = time.monotonic()
    v = check({pred!r}, {gold!r}, policy=GraderPolicy(timeout_s=1.0, cache_size=0))
    out.append((v.reason, time.monotonic() - t0))
ts = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in ts]
[t.join(30) for t in ts]
good = grade_batch(["\\\\boxed{{(x+1)^2}}"], ["x^2+2x+1"])[0].correct
print(json.dumps({{"results": out, "good": good}}))
"""


def test_fresh_process_like_a_torchrun_rank():
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    code = _CHILD.format(root=root, pred=SLOW[0], gold=SLOW[1])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(res["results"]) == 4 and all(r == "timeout" and dt < 2.0 for r, dt in res["results"])
    assert res["good"] is True


def _dataloader_worker(conn) -> None:
    """Runs in a forked daemonic child, as a DataLoader worker does."""
    from r1repro.grading.sandbox import start

    start()
    conn.send(_slow_checks(4, 1.0))
    conn.close()


def test_forked_daemonic_child_like_a_dataloader_worker():
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_dataloader_worker, args=(child,), daemon=True)
    p.start()
    assert parent.poll(90), "the child did not answer"
    results = parent.recv()
    p.join(10)
    assert len(results) == 4 and all(r == "timeout" and dt < 2.0 for r, dt in results)


def test_never_raises_on_odd_input():
    for resp in [None, 123, b"\\boxed{1}", "", "\x00\\boxed{\x00}", "\\boxed{\ud800}"]:
        v = check(resp, "1")  # type: ignore[arg-type]
        assert v.correct is False and v.reason in ("no_answer", "unparseable", "mismatch")
