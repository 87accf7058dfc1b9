"""GraderPolicy: every knob of the answer checker, in one frozen stdlib dataclass.

Why: the checker is the reward, so its conventions must be explicit, logged with every eval and
configurable from a recipe (`grader:` section). The defaults follow a careful human grader:
equivalent forms are accepted, approximations and unfinished arithmetic are not.

    from r1repro.grading import GraderPolicy, check
    check(r"\\boxed{2/4}", r"\\frac{1}{2}", policy=GraderPolicy(accept_unreduced_fractions=False))

This module imports only the standard library (the config loader builds it from YAML).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class GraderPolicy:
    backend: str = "r1repro"
    """Which checker decides: "r1repro" (this package) or "math_verify" (HF math-verify, run in the
    same sandbox; its own extraction is used)."""
    timeout_s: float = 2.0
    """Wall-clock budget for the symbolic step of one check; after it the worker is killed and
    respawned and the verdict is `timeout`. Use 2 s for RL rewards, 5 s for evaluation."""
    last_number_fallback: bool = False
    """GSM8K-style extraction: when there is no box, no <answer>, no `####` and no "the answer is",
    take the last number of the last sentence. Off by default (it rewards unformatted output)."""
    require_think_close: bool = True
    """A response that opens <think> and never closes it has no answer (`no_answer`)."""
    reject_multiple_boxed: bool = True
    """Different values in several boxes of the final answer segment are a hedge: `multiple_answers`."""
    accept_factored_forms: bool = True
    """Factored and expanded polynomials are equal ((x+1)^2 == x^2+2x+1). When False only forms that
    are structurally equal after parsing count."""
    accept_unreduced_fractions: bool = True
    """An unreduced fraction (2/4 for 1/2, 14/2 for 7) is accepted."""
    percent_optional: bool = True
    """A missing or extra `%` is ignored (50 for 50\\%, and 50\\% for 50)."""
    degree_optional: bool = True
    """A missing or extra degree sign is ignored (30 for 30^\\circ)."""
    base_subscript_optional: bool = True
    """For a gold in a base (413_5) the same digits without a subscript (413) are accepted; a
    different base (413_6) never is."""
    accept_inequality_for_interval: bool = False
    """An inequality (x < 3) is accepted for an interval gold ((-\\infty, 3))."""
    accept_unsimplified_arithmetic: bool = False
    """Unfinished arithmetic (3+4 for 7, 2\\cdot 5 for 10) is accepted."""
    accept_decimal_approximations: bool = False
    """A decimal approximation (0.333, 1.414) of an exact non-terminating gold (1/3, \\sqrt{2}) is
    accepted when within `approx_rel_tol`."""
    approx_rel_tol: float = 1e-4
    """Relative tolerance used only when `accept_decimal_approximations` is True."""
    max_answer_chars: int = 400
    """An extracted answer longer than this is `too_large` (it is not a final answer)."""
    max_nodes: int = 200
    """An answer with more tokens than this is `too_large` before any symbolic work."""
    max_digits: int = 10_000
    """Power towers and factorials whose value would exceed this many digits are `too_large`."""
    cache_size: int = 100_000
    """Verdicts cached per process by (policy, gold, normalised prediction); 0 disables."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
