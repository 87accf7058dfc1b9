"""Payload suite: model text is never executed, and pathological inputs return within budget.

Each payload would create a file if any layer eval'd it (sympify/parse_expr/eval); after grading
it through both backends, the file must not exist. Each pathological input must come back within
timeout_s + 1 s, also when check() runs off the main thread.

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


def test_timeout_kills_and_recovers():
    # 0.05 s cannot fit a sympy simplify of this: the worker is killed and replaced
    hard = "\\boxed{\\frac{(x+1)^{30}-(x-1)^{30}}{x}}"
    t0 = time.monotonic()
    v = check(hard, "x^{29}+1", policy=GraderPolicy(timeout_s=0.05, cache_size=0))
    assert time.monotonic() - t0 < 0.05 + 1.0
    assert (v.correct, v.reason) == (False, "timeout")
    warmup()  # the respawned worker serves the next request
    assert check("\\boxed{(x+1)^2}", "x^2+2x+1").reason == "symbolic_equal"


def test_works_off_main_thread():
    results = []

    def work():
        for r in PATHOLOGICAL[:4] + ["\\boxed{(y+1)^2}"]:
            t0 = time.monotonic()
            v = check(r, "y^2+2y+1", policy=BUDGET)
            results.append((v.reason, time.monotonic() - t0))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 15
    assert all(dt < BUDGET.timeout_s + 1.0 for _, dt in results)
    assert [r for r, _ in results].count("symbolic_equal") == 3  # the one good answer, per thread


def test_never_raises_on_odd_input():
    for resp in [None, 123, b"\\boxed{1}", "", "\x00\\boxed{\x00}", "\\boxed{\ud800}"]:
        v = check(resp, "1")  # type: ignore[arg-type]
        assert v.correct is False and v.reason in ("no_answer", "unparseable", "mismatch")
