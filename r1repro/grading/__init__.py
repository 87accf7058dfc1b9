"""r1repro.grading: the answer checker behind every reward, evaluation and held-out accuracy.

Safe (model text is never evaluated; sympy runs in a capped worker process), time-boxed (a wall
budget that works from any thread), exact (Fractions, no rounding), fast (pure-Python fast paths),
and every verdict carries a reason. See docs/grading.md.

    from r1repro.grading import check, GraderPolicy
    v = check("<think>...</think> <answer>\\\\boxed{18}</answer>", "18")
    v.correct, v.reason   # True, "exact"
    grade(response, gold, problem.meta, policy)   # the one entry point: the problem picks its verifier

Importing this package does not import sympy, torch, transformers or math_verify.
"""

from r1repro.grading.check import check
from r1repro.grading.extract import Extraction, extract_answer
from r1repro.grading.policy import GraderPolicy
from r1repro.grading.verdict import CORRECT_REASONS, REASONS, WRONG_REASONS, Verdict
from r1repro.grading.verifiers import VERIFIERS, check_batch, grade, grade_batch

__all__ = [
           "CORRECT_REASONS",
           "REASONS",
           "WRONG_REASONS",
           "Extraction",
           "GraderPolicy",
           "VERIFIERS",
           "Verdict",
           "check",
           "check_batch",
           "extract_answer",
           "grade",
           "grade_batch",
]
