"""Verdict: what the checker decided and why, one frozen record per check.

Why: a reward of 0 must say whether the answer was wrong, missing, unparseable or timed out, so
that a silent failure (every reward 0 because of an exception) shows up in the logs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

CORRECT_REASONS = ("exact", "numeric_equal", "structural_equal", "symbolic_equal")
"""Reasons of a correct verdict."""
WRONG_REASONS = ("mismatch", "no_answer", "empty_answer", "multiple_answers", "unparseable",
                 "too_large", "timeout")
"""Reasons of an incorrect verdict."""
REASONS = CORRECT_REASONS + WRONG_REASONS


@dataclass(frozen=True)
class Verdict:
    correct: bool
    """True when the extracted answer equals the gold under the policy."""
    reason: str
    """One of REASONS."""
    extracted: str | None = None
    """The raw answer text taken from the response (None when there was none)."""
    normalized_pred: str | None = None
    """The prediction after normalisation."""
    normalized_gold: str | None = None
    """The gold after normalisation."""
    method: str = ""
    """Which step decided: "extract", "fast", "identity" (exact pure-Python identity test), "symbolic"
    (sympy in the sandbox), "math_verify", "countdown", "guard"."""
    elapsed_ms: float = 0.0
    """Wall time of the whole check, in milliseconds."""
    source: str = ""
    """Where the answer was found: "answer_tag", "boxed", "hash", "phrase", "last_number" (the
    flexible fallback), or "" when none was. Strict accuracy is `correct and source != "last_number"`."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
