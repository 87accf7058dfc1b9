"""VERIFIERS and the one grading entry point: grade(response, gold, meta, policy) -> Verdict.

Why: every verdict (RL reward, evaluation, SFT's held-out accuracy) must come from the same
function, chosen by the problem itself: a Countdown problem scored by the math checker would pass
a bare target number without checking which numbers were used. The verifier a problem needs
travels with it in `Problem.meta["verifier"]` (default "math"), as verl binds a prepared row to
its scorer.

    from r1repro.grading import grade, grade_batch, VERIFIERS
    grade("<answer>(6-2)*5</answer>", "20", {"verifier": "countdown", "numbers": [2, 5, 6]}).reason
    grade_batch(responses, golds, metas, policy=policy)   # threads overlap the sympy workers

A verifier is `fn(response, gold, meta, policy) -> Verdict` and never raises on model output (a
`uses_sandbox = True` attribute makes grade_batch start the sympy workers first). An unknown
verifier name is a data error, not a model error: it raises, listing the known names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from r1repro.grading import sandbox
from r1repro.grading.check import check
from r1repro.grading.countdown import check_countdown
from r1repro.grading.policy import GraderPolicy
from r1repro.grading.verdict import Verdict
from r1repro.registry import Registry

Verifier = Callable[[str, str, Mapping, GraderPolicy], Verdict]
VERIFIERS: Registry[Verifier] = Registry("verifier")
"""name -> fn(response, gold, meta, policy) -> Verdict. A problem names its own in meta["verifier"]."""

DEFAULT_VERIFIER = "math"
"""The verifier of a problem whose meta names none."""


@VERIFIERS.register("math")
def verify_math(response: str, gold: str, meta: Mapping, policy: GraderPolicy) -> Verdict:
    """The final answer equals the gold (r1repro.grading.check; meta is not used)."""
    return check(response, gold, policy=policy)


verify_math.uses_sandbox = True  # its symbolic step runs in the sandbox workers


@VERIFIERS.register("countdown")
def verify_countdown(response: str, gold: str, meta: Mapping, policy: GraderPolicy) -> Verdict:
    """The final expression uses each of meta["numbers"] exactly once and equals the gold target."""
    try:
        target = int(str(gold).strip())
        numbers = [int(n) for n in meta["numbers"]]
    except (KeyError, TypeError, ValueError):
        return Verdict(False, "unparseable", None, None, str(gold), "countdown: bad gold/meta")
    return check_countdown(response, numbers, target, policy=policy)


def verifier_name(meta: Mapping | None) -> str:
    """The verifier a problem asks for (its meta["verifier"], else DEFAULT_VERIFIER)."""
    return str((meta or {}).get("verifier") or DEFAULT_VERIFIER)


def grade(response: str, gold: str, meta: Mapping | None = None,
          policy: GraderPolicy | None = None) -> Verdict:
    """The verdict of one response, by the verifier its problem names. Never raises on model output;
    an unknown verifier name raises UnknownNameError (a data error)."""
    fn = VERIFIERS[verifier_name(meta)]
    return fn(response, gold, meta or {}, policy or GraderPolicy())


def grade_batch(responses: Sequence[str], golds: Sequence[str], metas: Sequence[Mapping] | None = None,
                *, policy: GraderPolicy | None = None) -> list[Verdict]:
    """grade() for many responses, in order. Answers that need sympy run in parallel on the sandbox
    workers (one thread per worker; the pure-Python paths hold the GIL either way). The first call
    in a process waits for the workers to import sympy (sandbox.start)."""
    n = len(responses)
    if len(golds) != n or (metas is not None and len(metas) != n):
        raise ValueError(f"{n} responses, {len(golds)} golds, {None if metas is None else len(metas)} metas")
    metas = list(metas) if metas is not None else [{}] * n
    fns = [VERIFIERS[m] for m in {verifier_name(m) for m in metas}]  # unknown names fail here
    policy = policy or GraderPolicy()
    if any(getattr(fn, "uses_sandbox", False) for fn in fns):
        sandbox.start(with_mv=policy.backend == "math_verify")  # once per process, outside any budget
    threads = min(sandbox.workers(), n)
    if threads < 2:
        return [grade(r, g, m, policy) for r, g, m in zip(responses, golds, metas)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(lambda x: grade(x[0], x[1], x[2], policy), zip(responses, golds, metas)))


def check_batch(responses: Sequence[str], golds: Sequence[str], *,
                policy: GraderPolicy | None = None) -> list[Verdict]:
    """grade_batch() with the math verifier for every pair (kept for callers without metas)."""
    return grade_batch(responses, golds, None, policy=policy)
