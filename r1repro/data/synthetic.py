"""Synthetic, seeded, unlimited, verifiable tasks: multi-step arithmetic and Countdown (as in TinyZero).

Why: the embedded default trains a tiny model in minutes on a CPU; it needs problems whose gold is
right by construction, whose difficulty is a knob, and that never run out. Problem i of a stream
depends only on (task, split, seed, i, knobs): `random.Random(f"arithmetic/{split}/{seed}/{i}")`;
its id, `arithmetic/<split>/s<seed>/<knobs tag>/<i>`, names the knobs too, so streams never share ids.
So the same seed gives the same problems, asking for more extends the list without changing its
prefix, and train/test come from disjoint seed streams (prepare's contamination check still drops
any question that happens to collide).

    arithmetic: "Mia has 12 apples. She finds 7 more. ..." -> solution "12 + 7 = 19. 19 * 3 = 57.",
                gold "57". Every intermediate value stays in [1, max_value]; `/` is always exact.
    arithmetic, mix_script "han", mix_share 0.5: half the worked solutions name each step's operation
                in Chinese, "(a) 乘 7 * 2 = 14. (b) 减 14 - 5 = 9." (language mixing, as in R1-Zero's traces).
    countdown:  "Make 54 using the numbers 7, 2, 5, 3, each exactly once, with + - * /."
                gold "54" (the target); meta {"verifier": "countdown", "numbers": [...],
                "answer": "((3 + 5) * 7) - 2"}: the expression a response should put in <answer>.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from r1repro.data.base import LOADERS, LoadResult
from r1repro.data.schema import Problem

OPS = "+-*/"
STYLES = ("word", "bare", "flat", "labelled")
NAMES = (("Mia", "She"), ("Tom", "He"), ("Ana", "She"), ("Ben", "He"), ("Zoe", "She"), ("Sam", "He"),
         ("Lily", "She"), ("Max", "He"), ("Eva", "She"), ("Leo", "He"))
ITEMS = ("apples", "marbles", "stickers", "coins", "books", "pencils", "cards", "shells", "eggs", "toys")
PHRASES = {
    "+": ("{P} finds {b} more.", "{P} buys {b} more {items}.", "{P} gets {b} more {items}."),
    "-": ("{P} gives away {b}.", "{P} loses {b} {items}.", "{P} uses {b} of them."),
    "*": ("{P} ends up with {b} times as many.", "Then the number of {items} is multiplied by {b}."),
    "/": ("{P} splits them into {b} equal groups and keeps one group.",
          "{P} keeps one of {b} equal shares."),
}


MIX_WORDS = {
    "han": {"+": "加", "-": "减", "*": "乘", "/": "除"},
    "cyrillic": {"+": "плюс", "-": "минус", "*": "умножить", "/": "делить"},
}
"""Operation words a mixed-script worked solution writes before each step (mix_script -> op -> word):
Chinese jiā/jiǎn/chéng/chú and Russian plus/minus/multiply/divide."""


def choose_step(rng: random.Random, cur: int, ops: str, max_value: int, max_operand: int) -> tuple[str, int] | None:
    """A random (op, operand) whose result stays in [1, max_value] and is an integer; None if none fits."""
    options = []
    if "+" in ops and cur < max_value:
        options.append(("+", rng.randint(1, min(max_operand, max_value - cur))))
    if "-" in ops and cur > 1:
        options.append(("-", rng.randint(1, min(max_operand, cur - 1))))
    if "*" in ops and min(max_operand, max_value // cur) >= 2:
        options.append(("*", rng.randint(2, min(max_operand, max_value // cur))))
    divisors = [d for d in range(2, min(max_operand, cur - 1) + 1) if cur % d == 0]
    if "/" in ops and divisors:
        options.append(("/", rng.choice(divisors)))
    return rng.choice(options) if options else None


def apply(op: str, a: int, b: int) -> int:
    return {"+": a + b, "-": a - b, "*": a * b, "/": a // b}[op]


def arithmetic_chain(rng: random.Random, steps: int, ops: str, max_value: int,
                     max_operand: int) -> tuple[int, list[tuple[str, int, int]]]:
    """(start, [(op, operand, result), ...]) with `steps` steps; retries from a new start if stuck."""
    for _ in range(1000):
        start = rng.randint(2, max(2, min(max_operand, max_value)))
        cur, chain = start, []
        while len(chain) < steps:
            step = choose_step(rng, cur, ops, max_value, max_operand)
            if step is None:
                break
            cur = apply(step[0], cur, step[1])
            chain.append((step[0], step[1], cur))
        if len(chain) == steps:
            return start, chain
    raise ValueError(f"arithmetic: cannot build {steps} steps with ops {ops!r} under max_value {max_value}; "
                     f"raise max_value or allow more ops")


def word_question(rng: random.Random, start: int, chain: list[tuple[str, int, int]]) -> str:
    name, pronoun = rng.choice(NAMES)
    items = rng.choice(ITEMS)
    parts = [f"{name} has {start} {items}."]
    for op, b, _ in chain:
        phrase = rng.choice(PHRASES[op])
        parts.append(phrase.format(P=pronoun, b=b, items=items))
    parts.append(f"How many {items} does {name} have now?")
    return " ".join(parts)


def bare_question(start: int, chain: list[tuple[str, int, int]]) -> str:
    expr = str(start)
    for i, (op, b, _) in enumerate(chain):
        expr = f"({expr}) {op} {b}" if i else f"{expr} {op} {b}"
    return f"What is {expr}?"


def stream_tag(**knobs: object) -> str:
    """Six hex digits naming a generator's knobs: part of every problem id, so two streams with
    different knobs (three-step and four-step chains, say) never share an id."""
    return hashlib.sha1(json.dumps(knobs, sort_keys=True, default=str).encode()).hexdigest()[:6]


def arithmetic_problem(i: int, split: str, seed: int, *, steps: int, ops: str, max_value: int,
                       max_operand: int, style: str, show_work: float = 1.0, mix_script: str | None = None,
                       mix_share: float = 0.0) -> Problem:
    """Problem i of the (split, seed) stream; `steps` is drawn per problem when given as (lo, hi).

    With probability 1 - show_work the solution is empty: an SFT target that answers directly,
    without the worked steps. With probability mix_share a worked solution names each operation in
    mix_script (MIX_WORDS), meta["mixed_script"] says so. Both are drawn last, show_work first, so
    the problems themselves, and which ones show their work, do not depend on the mixing options."""
    rng = random.Random(f"arithmetic/{split}/{seed}/{i}")
    n_steps = steps if isinstance(steps, int) else rng.randint(*steps)
    start, chain = arithmetic_chain(rng, n_steps, ops, max_value, max_operand)
    if style == "flat":
        question = flat_question(start, chain)
    elif style == "labelled":
        question = labelled_question(start, chain)
    else:
        question = word_question(rng, start, chain) if style == "word" else bare_question(start, chain)
    shown = show_work >= 1.0 or rng.random() < show_work
    words = MIX_WORDS[mix_script] if mix_script and shown and rng.random() < mix_share else None
    if style == "flat":
        solution = rewrite_solution(start, chain)
    elif style == "labelled":
        solution = labelled_solution(start, chain, words)
    else:
        solution = step_solution(start, chain, words)
    meta = {"generator": "arithmetic", "steps": n_steps, "style": style, **({} if shown else {"shows_work": False}),
            **({"mixed_script": mix_script} if words else {})}
    tag = stream_tag(steps=steps, ops=ops, max_value=max_value, max_operand=max_operand, style=style)
    return Problem(f"arithmetic/{split}/s{seed}/{tag}/{i:06d}", "arithmetic", split, question, str(chain[-1][2]),
                   solution if shown else "", meta)


def step_solution(start: int, chain: list[tuple[str, int, int]], words: dict[str, str] | None = None) -> str:
    """One sentence per step: "7 + 6 = 13. 13 - 4 = 9."; with `words` (op -> word) each step opens
    with its operation's word: "加 7 + 6 = 13. 减 13 - 4 = 9." """
    prev, lines = start, []
    for op, b, result in chain:
        lines.append(f"{words[op] + ' ' if words else ''}{prev} {op} {b} = {result}.")
        prev = result
    return " ".join(lines)


LABELS = "abcdefghijklmnopqrstuvwxyz"


def labelled_question(start: int, chain: list[tuple[str, int, int]]) -> str:
    """"Start at 7. (a) * 2 (b) - 5 (c) / 3. What is the result?": each step carries a letter."""
    steps = " ".join(f"({LABELS[i]}) {op} {b}" for i, (op, b, _) in enumerate(chain))
    return f"Start at {start}. {steps}. What is the result?"


def labelled_solution(start: int, chain: list[tuple[str, int, int]], words: dict[str, str] | None = None) -> str:
    """"(a) 7 * 2 = 14. (b) 14 - 5 = 9. (c) 9 / 3 = 3.": step i is found by its label in the question,
    not by counting through it, so a small model copies the right operand (measured: digit labels and
    rewrite scratchpads lose to direct answers; letter labels win). With `words` (op -> word) the
    operation's word follows the label: "(a) 乘 7 * 2 = 14. (b) 减 14 - 5 = 9. (c) 除 9 / 3 = 3." """
    prev, lines = start, []
    for i, (op, b, result) in enumerate(chain):
        lines.append(f"({LABELS[i]}) {words[op] + ' ' if words else ''}{prev} {op} {b} = {result}.")
        prev = result
    return " ".join(lines)


def flat_question(start: int, chain: list[tuple[str, int, int]]) -> str:
    return "What is " + " ".join([str(start)] + [f"{op} {b}" for op, b, _ in chain]) + "?"


def rewrite_solution(start: int, chain: list[tuple[str, int, int]]) -> str:
    """A scratchpad that rewrites the expression after each step, "4 + 3 - 2 = 7 - 2 = 5": each line
    is the previous one with its first operation done, so every step copies from just before it."""
    exprs, cur = [], start
    for i in range(len(chain) + 1):
        exprs.append(" ".join([str(cur)] + [f"{op} {b}" for op, b, _ in chain[i:]]))
        if i < len(chain):
            cur = chain[i][2]
    return " = ".join(exprs)


def check_knobs(loader: str, n: int, lo: int, hi: int, **positive: int) -> None:
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"{loader}: option n (or the source's limit) must be an int >= 0, got {n!r}")
    if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
        raise ValueError(f"{loader}: need 1 <= min <= max for the size knob, got {lo!r}..{hi!r}")
    for key, value in positive.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{loader}: option {key} must be a positive int, got {value!r}")


@LOADERS.register("arithmetic")
def load_arithmetic(split: str, data_dir: Path | None = None, *, skip_bad: bool = False, n: int = 1000,
                    seed: int = 0, steps: int | None = None, min_steps: int = 1, max_steps: int = 3,
                    max_value: int = 100, max_operand: int = 10, ops: str = "+-*/",
                    style: str = "word", show_work: float = 1.0, mix_script: str | None = None,
                    mix_share: float = 0.0, distinct: bool = False) -> LoadResult:
    """n multi-step problems; `steps` fixes the step count, else each draws from [min_steps, max_steps].

    show_work: share of solutions that show their steps (the rest answer directly; see the
    quickstart recipe, where RL learns to prefer showing work).
    mix_script, mix_share: language mixing in the SFT targets (recipes/mixing/). A worked solution
    is written partly in another script with probability mix_share: each step opens with its
    operation's word in mix_script, "han" (Chinese) or "cyrillic" (Russian), the numbers, symbols
    and answer unchanged: "(a) 乘 7 * 2 = 14." instead of "(a) 7 * 2 = 14.". mix_share is a share of
    the worked solutions (direct answers have no reasoning to mix), drawn per problem after
    everything else, so the problems and which of them show their work do not change with it.
    distinct: skip a problem whose question repeats an earlier one of the stream (small problem
    spaces repeat: 200 draws of three steps over 1..9 hold 192 distinct questions), so an eval set
    of n is n different problems; still a prefix-stable stream."""
    lo, hi = (steps, steps) if steps is not None else (min_steps, max_steps)
    check_knobs("arithmetic", n, lo, hi, max_value=max_value, max_operand=max_operand)
    if not ops or set(ops) - set(OPS):
        raise ValueError(f"arithmetic: option ops must be a non-empty subset of {OPS!r}, got {ops!r}")
    if style not in STYLES:
        raise ValueError(f"arithmetic: option style must be one of {', '.join(map(repr, STYLES))}, got {style!r}")
    if style == "labelled" and hi > len(LABELS):
        raise ValueError(f"arithmetic: style 'labelled' has {len(LABELS)} step labels, got up to {hi} steps")
    if style == "flat" and set(ops) - set("+-"):
        raise ValueError(f"arithmetic: style 'flat' writes no parentheses, so it allows ops '+-' only, got {ops!r}")
    if not 0.0 <= show_work <= 1.0:
        raise ValueError(f"arithmetic: option show_work must be in [0, 1], got {show_work!r}")
    if mix_script is not None and mix_script not in MIX_WORDS:
        raise ValueError(f"arithmetic: option mix_script must be one of {', '.join(map(repr, MIX_WORDS))} "
                         f"or null, got {mix_script!r}")
    if not (isinstance(mix_share, (int, float)) and 0.0 <= mix_share <= 1.0):
        raise ValueError(f"arithmetic: option mix_share must be in [0, 1], got {mix_share!r}")
    if mix_share > 0 and mix_script is None:
        raise ValueError("arithmetic: option mix_share needs mix_script (the script to mix in)")
    if mix_script is not None and style == "flat":
        raise ValueError("arithmetic: style 'flat' has no steps to name, so it takes no mix_script")
    knobs = {"steps": lo if lo == hi else (lo, hi), "ops": ops, "max_value": max_value,
             "max_operand": max_operand, "style": style, "show_work": show_work, "mix_script": mix_script,
             "mix_share": mix_share}
    if not distinct:
        return LoadResult([arithmetic_problem(i, split, seed, **knobs) for i in range(n)])
    problems, seen = [], set()
    for i in range(100 * n + 100):
        if len(problems) == n:
            break
        p = arithmetic_problem(i, split, seed, **knobs)
        if p.question not in seen:
            seen.add(p.question)
            problems.append(p)
    if len(problems) < n:
        raise ValueError(f"arithmetic: found only {len(problems)} distinct problems for n={n} in {100 * n + 100} "
                         f"draws; lower n or widen the knobs (steps, ops, max_value)")
    return LoadResult(problems)


def countdown_numbers(rng: random.Random, count: int, max_number: int, max_target: int) -> tuple[list[int], int, str, list[str]]:
    """(numbers, target, expression, worked steps): combine all numbers pairwise at random until one
    value is left; keep it when it is an integer in [1, max_target], else draw again."""
    for _ in range(10_000):
        numbers = [rng.randint(1, max_number) for _ in range(count)]
        pool = [(v, str(v)) for v in numbers]
        steps = []
        while len(pool) > 1:
            (a, ea), (b, eb) = pool.pop(rng.randrange(len(pool))), pool.pop(rng.randrange(len(pool)))
            if a < b:
                (a, ea), (b, eb) = (b, eb), (a, ea)
            ops = ["+", "-"] + (["*"] if a * b <= max(max_target, max_number) * 10 else [])
            ops += ["/"] if b > 1 and a % b == 0 else []
            op = rng.choice([o for o in ops if not (o == "-" and a == b)] or ["+"])
            value = apply(op, a, b)
            steps.append(f"{a} {op} {b} = {value}.")
            wrap = lambda e: f"({e})" if " " in e else e
            pool.append((value, f"{wrap(ea)} {op} {wrap(eb)}"))
        target, expr = pool[0]
        if 1 <= target <= max_target:
            return numbers, target, expr, steps
    raise ValueError(f"countdown: no target in [1, {max_target}] found; raise max_target or max_number")


@LOADERS.register("countdown")
def load_countdown(split: str, data_dir: Path | None = None, *, skip_bad: bool = False, n: int = 1000,
                   seed: int = 0, count: int | None = None, min_count: int = 3, max_count: int = 4,
                   max_number: int = 99, max_target: int = 100) -> LoadResult:
    """n Countdown problems with `count` numbers (or a count drawn from [min_count, max_count])."""
    lo, hi = (count, count) if count is not None else (min_count, max_count)
    check_knobs("countdown", n, lo, hi, max_number=max_number, max_target=max_target)
    if lo < 2:
        raise ValueError(f"countdown: need at least 2 numbers, got {lo}")
    problems = []
    for i in range(n):
        rng = random.Random(f"countdown/{split}/{seed}/{i}")
        numbers, target, expr, steps = countdown_numbers(rng, rng.randint(lo, hi), max_number, max_target)
        question = f"Make {target} using the numbers {', '.join(map(str, numbers))}, each exactly once, with + - * /."
        tag = stream_tag(count=(lo, hi), max_number=max_number, max_target=max_target)
        problems.append(Problem(f"countdown/{split}/s{seed}/{tag}/{i:06d}", "countdown", split, question, str(target),
                                " ".join(steps), {"generator": "countdown", "verifier": "countdown",
                                                 "numbers": numbers, "answer": expr}))
    return LoadResult(problems)


load_arithmetic.synthetic = True  # load_source: `limit` -> n, run seed + option seed, no data dir
load_countdown.synthetic = True
