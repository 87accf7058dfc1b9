"""Property tests: never raises; every real gold is accepted when boxed or in <answer>; simple
perturbations of the gold (sign flip, +-1, swapped tuple) are rejected.

Data: GSM8K train+test and all 12,500 MATH problems, found via $R1REPRO_DATA or ../shared/data
relative to the repository (skipped with a reason when absent). Golds are extracted here with a
minimal independent parser (GSM8K: text after '#### ' without commas; MATH: last \\boxed{...}).

Run: python -m pytest tests/unit/test_grading_properties.py -q
"""

from __future__ import annotations

import json
import os
import random
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from r1repro.grading import GraderPolicy, check
from r1repro.grading.exact import parse_number, parse_structure
from r1repro.grading.normalize import normalize
from r1repro.grading.sandbox import warmup

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("R1REPRO_DATA", ROOT.parent / "shared" / "data"))
FAST = GraderPolicy(cache_size=0)


def _gsm8k_golds() -> list[str]:
    out = []
    for split in ("train", "test"):
        path = DATA / "gsm8k" / f"{split}.jsonl"
        if not path.exists():
            pytest.skip(f"GSM8K not found at {path} (set R1REPRO_DATA)")
        for line in path.read_text().splitlines():
            out.append(json.loads(line)["answer"].split("#### ")[-1].strip().replace(",", ""))
    return out


def _last_boxed(solution: str) -> str | None:
    start = max(solution.rfind("\\boxed"), solution.rfind("\\fbox"))
    if start < 0:
        return None
    i = start + (6 if solution.startswith("\\boxed", start) else 5)
    rest = solution[i:].lstrip(" ")
    if not rest.startswith("{"):  # `\boxed 2`: one token
        return rest.split("$")[0].split()[0] if rest.split() else None
    i = solution.find("{", i)
    depth = 0
    for j in range(i, len(solution)):
        depth += {"{": 1, "}": -1}.get(solution[j], 0)
        if depth == 0:
            return solution[i + 1:j]
    return None


def _math_golds() -> list[str]:
    root = DATA / "math_hendrycks" / "MATH"
    if not root.exists():
        pytest.skip(f"MATH not found at {root} (set R1REPRO_DATA)")
    golds = []
    for path in sorted(root.glob("*/*/*.json")):
        g = _last_boxed(json.loads(path.read_text())["solution"])
        if g is not None:
            golds.append(g)
    assert len(golds) == 12_500
    return golds


@pytest.fixture(scope="module")
def math_golds():
    return _math_golds()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200), st.text(max_size=30))
def test_never_raises_on_arbitrary_text(response, gold):
    v = check(response, gold)
    assert isinstance(v.correct, bool) and v.reason


_LATEXY = st.lists(st.sampled_from(
    ["\\boxed{", "}", "{", "\\frac", "1", "2", "x", "^", "\\sqrt", "(", ")", ",", "\\pm", "<think>",
     "</think>", "<answer>", "</answer>", "\\", "$", "-", ".", "%", "\\text{", " or ", "####",
     "\\begin{pmatrix}", "&", "\\\\", "\\end{pmatrix}", "_5", "!", "\\infty", "[", "]"]), max_size=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_LATEXY, st.sampled_from(["1", "\\frac{1}{2}", "(1,2)", "x^2", "[1,2)", "413_5", "\\text{(B)}"]))
def test_never_raises_on_latex_soup(parts, gold):
    warmup()
    v = check("".join(parts), gold, policy=GraderPolicy(timeout_s=2.0))
    assert isinstance(v.correct, bool) and v.reason


def _accepts_all(golds: list[str]) -> list[tuple[str, str, str]]:
    bad = []
    for g in golds:
        for resp in (f"\\boxed{{{g}}}", f"<think>work</think> <answer>{g}</answer>"):
            v = check(resp, g, policy=FAST)
            if not v.correct:
                bad.append((g, resp, v.reason))
    return bad


def test_gsm8k_golds_accepted():
    golds = _gsm8k_golds()
    assert len(golds) == 7473 + 1319
    assert _accepts_all(golds) == []


def test_math_golds_accepted(math_golds):
    nonempty = [g for g in math_golds if g.strip()]
    assert len(math_golds) - len(nonempty) == 2  # two upstream solutions box nothing: \\boxed{}
    bad = _accepts_all(nonempty)
    assert bad == [], f"{len(bad)} rejected, e.g. {bad[:5]}"


def _perturb_number(g: str) -> list[str]:
    n = parse_number(normalize(g).text)
    if n is None:
        return []
    v = n.value
    out = [str(v + 1), str(v - 1)]
    if v != 0:
        out.append(str(-v) if v.denominator == 1 else f"-\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
                   if v > 0 else f"\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}")
    return [o if "/" not in o else f"\\frac{{{Fraction(o).numerator}}}{{{Fraction(o).denominator}}}"
            for o in out]


def test_gsm8k_perturbations_rejected():
    bad = [(g, p) for g in _gsm8k_golds() for p in _perturb_number(g)
           if check(f"\\boxed{{{p}}}", g, policy=FAST).correct]
    assert bad == []


def test_math_numeric_perturbations_rejected(math_golds):
    bad, n = [], 0
    for g in math_golds:
        for p in _perturb_number(g):
            n += 1
            if check(f"\\boxed{{{p}}}", g, policy=FAST).correct:
                bad.append((g, p))
    assert n > 10_000  # most MATH golds are numbers
    assert bad == []


def test_math_swapped_tuples_rejected(math_golds):
    bad, n = [], 0
    for g in math_golds:
        s = parse_structure(normalize(g).text)
        if s.kind == "tuple" and len(s.items) == 2 and s.items[0] != s.items[1]:
            n += 1
            swapped = f"({s.items[1]}, {s.items[0]})"
            if check(f"\\boxed{{{swapped}}}", g, policy=FAST).correct:
                bad.append((g, swapped))
    assert n > 100
    assert bad == [], bad[:5]


def test_math_symbolic_sign_flip_rejected(math_golds):
    warmup()
    rng = random.Random(0)
    symbolic = [g for g in math_golds if parse_number(normalize(g).text) is None
                and parse_structure(normalize(g).text).kind == "scalar" and "\\sqrt" in g]
    bad = []
    for g in rng.sample(symbolic, 40):
        v = check(f"\\boxed{{-({g})}}", g, policy=FAST)
        if v.correct:
            bad.append((g, v.reason))
    assert bad == []
