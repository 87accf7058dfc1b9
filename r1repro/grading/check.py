"""check(response, gold) -> Verdict: extraction, normalisation, exact fast paths, sandboxed sympy.

Why: this is the reward. It never raises on any string, explains every verdict with a reason,
decides most answers in pure Python in microseconds (exact numbers and structures in exact.py,
algebraic identities in identity.py), and sends only the remainder to a memory/CPU-capped worker
process with a wall-clock budget.

    from r1repro.grading import check
    check("<think>...</think><answer>\\\\boxed{\\\\frac12}</answer>", "0.5").reason  # "numeric_equal"

Run the tests: `python -m pytest tests/unit/test_grading*.py -q`.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time

from r1repro.grading import identity, sandbox
from r1repro.grading.exact import Struct, is_text_answer, parse_number, parse_structure
from r1repro.grading.extract import Extraction, extract_answer
from r1repro.grading.guard import too_large
from r1repro.grading.normalize import Normalized, normalize
from r1repro.grading.policy import GraderPolicy
from r1repro.grading.verdict import CORRECT_REASONS, Verdict

_CACHE: dict[tuple, tuple[str, str]] = {}
_CACHE_LOCK = threading.Lock()
_HEDGE_RE = re.compile(r"(?:^|[^a-z])or(?:[^a-z]|$)|\\text\{or\}|\\lor(?![a-z])", re.IGNORECASE)


def check(response: str, gold: str, *, policy: GraderPolicy | None = None) -> Verdict:
    """Grade one response against one gold answer. Never raises."""
    t0 = time.perf_counter()
    policy = policy or GraderPolicy()
    try:
        if policy.backend == "math_verify":
            v = _check_math_verify(response, gold, policy)
        else:
            v = _check(response, gold, policy)
    except Exception as e:  # noqa: BLE001 - a bug must cost one reward, not the run
        v = Verdict(False, "unparseable", None, None, None, f"internal error: {type(e).__name__}: {e}")
    return _with_time(v, t0)


def _with_time(v: Verdict, t0: float) -> Verdict:
    return dataclasses.replace(v, elapsed_ms=(time.perf_counter() - t0) * 1000)


def _check(response: str, gold: str, policy: GraderPolicy) -> Verdict:
    if not isinstance(response, str):
        return Verdict(False, "no_answer", method="extract")
    ex = extract_answer(response, policy)
    if ex.reason != "ok":
        return Verdict(False, ex.reason, ex.answer, method="extract", source=ex.source)
    return dataclasses.replace(_check_extracted(ex, gold, policy), source=ex.source)


def _check_extracted(ex: Extraction, gold: str, policy: GraderPolicy) -> Verdict:
    ng = normalize(str(gold))
    gold_struct = parse_structure(ng.text)
    answer = ex.answer
    if len(ex.boxes) > 1 and policy.reject_multiple_boxed:
        n_gold = len(gold_struct.items) if gold_struct.kind in ("list", "set", "pm") else 1
        if len(ex.boxes) != n_gold:
            return Verdict(False, "multiple_answers", answer, None, ng.text, "extract")
        answer = ", ".join(ex.boxes)  # one box per element of a set-valued gold
    if len(answer) > policy.max_answer_chars:
        return Verdict(False, "too_large", answer[:200] + "...", None, ng.text, "guard")
    npred = normalize(answer)
    if _HEDGE_RE.search(npred.words) and not _HEDGE_RE.search(ng.words):
        return Verdict(False, "multiple_answers", answer, npred.text, ng.text, "extract")
    if not npred.text:
        return Verdict(False, "empty_answer", answer, npred.text, ng.text, "extract")
    key = (policy, gold, npred.text, npred.percent, npred.degree, npred.words)
    hit = _CACHE.get(key) if policy.cache_size else None
    if hit is None:
        hit = _compare(npred, ng, gold_struct, str(gold), policy)
        if policy.cache_size and hit[0] != "timeout":
            with _CACHE_LOCK:
                if len(_CACHE) >= policy.cache_size:
                    _CACHE.clear()
                _CACHE[key] = hit
    reason, method = hit
    return Verdict(reason in CORRECT_REASONS, reason, answer, npred.text, ng.text, method)


def _compare(p: Normalized, g: Normalized, gs: Struct, raw_gold: str, policy: GraderPolicy):
    """(reason, method) for a normalised prediction against a normalised gold."""
    if p.text == g.text and _marks_ok(p, g, policy):
        return "exact", "fast"
    if is_text_answer(g.words, raw_gold) and gs.kind == "scalar":
        same = p.words == g.words or p.text.lower() == g.text.lower()
        return ("exact" if same else "mismatch"), "fast"
    if not _marks_ok(p, g, policy):
        return "mismatch", "fast"
    why = too_large(p.text, max_digits=policy.max_digits, max_nodes=policy.max_nodes,
                    max_chars=policy.max_answer_chars)
    if why:
        return "too_large", "guard"
    ps = parse_structure(p.text)
    return _compare_struct(ps, gs, p, g, policy)


def _marks_ok(p: Normalized, g: Normalized, policy: GraderPolicy) -> bool:
    pct = policy.percent_optional or p.percent == g.percent
    deg = policy.degree_optional or p.degree == g.degree
    return pct and deg


_UNORDERED = ("set", "list", "pm")


def _compare_struct(ps: Struct, gs: Struct, p: Normalized, g: Normalized, policy: GraderPolicy):
    if gs.kind == "choice":
        return ("exact" if ps.kind == "choice" and ps.items == gs.items else "mismatch"), "fast"
    if gs.kind == "base":
        if ps.kind == "base":
            return ("exact" if ps.items == gs.items else "mismatch"), "fast"
        ok = policy.base_subscript_optional and p.text.upper() == gs.items[0]
        return ("exact" if ok else "mismatch"), "fast"
    if gs.kind == "scalar":
        if ps.kind in ("list", "set", "pm", "union") and len(ps.items) > 1:
            return "multiple_answers", "fast"
        if ps.kind != "scalar":
            return "mismatch", "fast"
        return _compare_scalar(ps.items[0], gs.items[0], p, g, policy)
    if gs.kind in ("interval", "tuple") and len(gs.items) == 2 and ps.kind == "scalar" \
            and re.search(r"<|>|\\le|\\ge", p.text):
        if not policy.accept_inequality_for_interval:
            return "mismatch", "fast"
        conv = _inequality_to_interval(p.text)
        if conv is None:
            return "mismatch", "fast"
        ps = parse_structure(conv)
    if gs.kind in _UNORDERED:
        if ps.kind not in _UNORDERED + ("tuple",) and len(ps.items) <= 1:
            return "mismatch", "fast"
        return _match_unordered(list(ps.items), list(gs.items), p, g, policy)
    if gs.kind == "union":
        if ps.kind != "union":
            return "mismatch", "fast"
        return _match_unordered([parse_structure(x) for x in ps.items],
                                [parse_structure(x) for x in gs.items], p, g, policy)
    if gs.kind in ("tuple", "interval"):
        if ps.kind not in ("tuple", "interval", "list") or len(ps.items) != len(gs.items):
            return ("multiple_answers" if len(ps.items) > len(gs.items) else "mismatch"), "fast"
        if ps.kind != "list" and ps.brackets != gs.brackets:
            return "mismatch", "fast"
        return _all_equal(list(zip(ps.items, gs.items)), p, g, policy)
    if gs.kind == "matrix":
        if ps.kind != "matrix" or [len(r) for r in ps.items] != [len(r) for r in gs.items]:
            return "mismatch", "fast"
        pairs = [(a, b) for ra, rb in zip(ps.items, gs.items) for a, b in zip(ra, rb)]
        return _all_equal(pairs, p, g, policy)
    return "mismatch", "fast"


def _all_equal(pairs, p, g, policy):
    reasons, methods = [], []
    for a, b in pairs:
        r, m = _element(a, b, p, g, policy)
        if r not in CORRECT_REASONS:
            return r, m
        reasons.append(r)
        methods.append(m)
    worst = max(reasons, key=CORRECT_REASONS.index) if reasons else "exact"
    return worst, next((m for m in ("symbolic", "identity") if m in methods), "fast")


def _match_unordered(pitems, gitems, p, g, policy):
    if len(pitems) != len(gitems):
        return ("multiple_answers" if len(pitems) > len(gitems) else "mismatch"), "fast"
    left = list(range(len(gitems)))
    reasons = []
    for a in pitems:
        for j in left:
            b = gitems[j]
            if isinstance(a, Struct):
                r, _ = _compare_struct(a, b, p, g, policy)
            else:
                r, _ = _element(a, b, p, g, policy)
            if r in CORRECT_REASONS:
                left.remove(j)
                reasons.append(r)
                break
        else:
            return "mismatch", "fast"
    return (max(reasons, key=CORRECT_REASONS.index) if reasons else "exact"), "fast"


def _element(a: str, b: str, p, g, policy):
    """An element of a structure: compare as a scalar (re-normalising sub-answers)."""
    if a == b:
        return "exact", "fast"
    sa, sb = parse_structure(a), parse_structure(b)
    if sb.kind != "scalar" or sa.kind != "scalar":
        return _compare_struct(sa, sb, p, g, policy)
    return _compare_scalar(a, b, p, g, policy)


def _compare_scalar(a: str, b: str, p: Normalized, g: Normalized, policy: GraderPolicy):
    if a == b:
        return "exact", "fast"
    na, nb = parse_number(a), parse_number(b)
    if na is not None and nb is not None:
        if not policy.accept_unreduced_fractions and not na.reduced:
            return "mismatch", "fast"
        if na.value == nb.value:
            return "numeric_equal", "fast"
        if p.percent != g.percent and policy.percent_optional:  # 0.5 for 50%, 50% for 0.5
            scale = 100 if g.percent else 1 / 100
            if na.value * scale == nb.value:
                return "numeric_equal", "fast"
        if policy.accept_decimal_approximations and nb.value and na.kind in ("decimal", "sci"):
            rel = abs(na.value - nb.value) / abs(nb.value)
            if rel <= policy.approx_rel_tol:
                return "numeric_equal", "fast"
        return "mismatch", "fast"
    if nb is not None and not policy.accept_unsimplified_arithmetic:
        return "mismatch", "fast"  # a number gold wants a number: 3+4, 2^{10}, \sqrt{4} are unfinished
    if na is not None and nb is None and na.kind in ("decimal", "sci") \
            and not policy.accept_decimal_approximations:
        return "mismatch", "fast"  # a decimal for an exact irrational gold
    if (b == "\\infty") != (a == "\\infty") or (b == "-\\infty") != (a == "-\\infty"):
        return "mismatch", "fast"
    if policy.accept_factored_forms:  # exact identity test in pure Python; None: outside its subset
        same = identity.equal(a, b)
        if same or (same is False and not policy.accept_decimal_approximations):
            return ("symbolic_equal" if same else "mismatch"), "identity"
    kw = {"factored": policy.accept_factored_forms, "approx": policy.accept_decimal_approximations,
          "rel_tol": policy.approx_rel_tol, "max_nodes": policy.max_nodes}
    reply = sandbox.call({"op": "sym", "pred": a, "gold": b, "kw": kw}, policy.timeout_s)
    return reply.get("reason", "unparseable"), "symbolic"


_INEQ_RE = re.compile(r"^(?:(-?[^<>]+?)(<|\\le))?[a-z](<|\\le|>|\\ge)([^<>]+)$")


def _inequality_to_interval(s: str) -> str | None:
    """x<3 -> (-\\infty,3); 1\\le x<3 -> [1,3); x\\ge2 -> [2,\\infty). None for other shapes."""
    m = _INEQ_RE.match(s)
    if not m:
        return None
    lo, lop, op, hi = m.groups()
    if lo is not None:
        if op not in ("<", "\\le"):
            return None
        return ("[" if lop == "\\le" else "(") + f"{lo},{hi}" + ("]" if op == "\\le" else ")")
    if op in ("<", "\\le"):
        return f"(-\\infty,{hi}" + ("]" if op == "\\le" else ")")
    return ("[" if op == "\\ge" else "(") + f"{hi},\\infty)"


def _check_math_verify(response: str, gold: str, policy: GraderPolicy) -> Verdict:
    if not isinstance(response, str):
        return Verdict(False, "no_answer", method="math_verify")
    if len(response) > 200_000:
        response = response[-200_000:]
    reply = sandbox.call({"op": "mv", "response": response, "gold": str(gold)}, policy.timeout_s,
                         with_mv=True)
    reason = reply.get("reason", "unparseable")
    return Verdict(reason in CORRECT_REASONS, reason, reply.get("extracted"), None, str(gold),
                   "math_verify")
