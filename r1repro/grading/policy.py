"""GraderPolicy: every knob of the answer checker, in one frozen stdlib dataclass.

Why: the checker is the reward, so its conventions must be explicit, logged with every eval and
configurable from a recipe (`grader:` section). The defaults follow a careful human grader:
equivalent forms are accepted, approximations and unfinished arithmetic are not.

    from r1repro.grading import GraderPolicy, check
    check(r"\\boxed{2/4}", r"\\frac{1}{2}", policy=GraderPolicy(accept_unreduced_fractions=False))

The class lives in r1repro.config (the ground floor of the package: loading a recipe imports no
grading module); this module names it for the grading code.
"""

from r1repro.config import GraderPolicy

__all__ = ["GraderPolicy"]
