"""Rewards built on r1repro.grading: batch-shaped, registered by name, never raising.

Why: the RL loop calls one `Scorer` with a recipe's rewards (`rewards: {correct: 1.0, format: 0.1}`,
or per reward its weight and options, as TRL passes per-reward kwargs: `correct: {weight: 1.0,
wrong: 0.1}`, `language: {weight: 0.1, script: latin}`); each reward is a small batch function in
the REWARDS registry, and the Scorer returns the weighted sum, every unweighted component, and the
correctness verdicts for logging. Correctness
comes from `r1repro.grading.grade_batch`, the one grading entry point that evaluation and SFT's
held-out accuracy also use; each problem's meta names its verifier (math, countdown, ...).

    scorer = Scorer({"correct": 1.0, "format": 0.1})
    out = scorer(["<think>2+2=4</think> <answer>4</answer>"], ["4"])
    out.rewards  # [1.1]

Responses arrive with the template's response prefix prepended (R1-Zero: "<think>" + completion).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from r1repro.grading import GraderPolicy, Verdict, grade_batch
from r1repro.grading.extract import extract_answer
from r1repro.registry import Registry

RewardFn = Callable[[Sequence[str], Sequence[str], Sequence[Mapping]], list[float]]
REWARDS: Registry[Callable[..., list[float]]] = Registry("reward")
"""name -> fn(responses, golds, metas, **options) -> one float per response."""

UNPARSEABLE_REASONS = ("no_answer", "empty_answer", "unparseable")
"""Verdict reasons that get the `unparseable` value; every other wrong verdict gets `wrong`."""


def correctness_value(v: Verdict, *, correct: float = 1.0, wrong: float = 0.0, unparseable: float = 0.0) -> float:
    if v.correct:
        return correct
    return unparseable if v.reason in UNPARSEABLE_REASONS else wrong


@REWARDS.register("correct")
def correctness_reward(responses, golds, metas, *, policy: GraderPolicy | None = None,
                       wrong: float = 0.0, unparseable: float = 0.0) -> list[float]:
    """1 for a correct final answer, else `wrong`, or `unparseable` when no answer could be read
    (see UNPARSEABLE_REASONS). Recipe: `rl.rewards: {correct: {weight: 1.0, wrong: 0.1}}`."""
    return [correctness_value(v, wrong=wrong, unparseable=unparseable)
            for v in grade_batch(responses, golds, metas, policy=policy)]


_FORMAT_RE = re.compile(r"\s*<think>(.*?)</think>\s*<answer>(.*?)</answer>\s*", re.DOTALL)


def is_r1_format(response: str) -> bool:
    """Exactly one <think>...</think>, then exactly one <answer>...</answer>, nothing else."""
    if not isinstance(response, str):
        return False
    m = _FORMAT_RE.fullmatch(response)
    if not m:
        return False
    think, answer = m.groups()
    return not any(t in think for t in ("<think>", "</think>", "<answer>", "</answer>")) \
        and not any(t in answer for t in ("<think>", "</think>", "<answer>", "</answer>"))


ANSWER_FORMATS = ("think", "boxed", "hash", "phrase")
"""The answer formats a template asks for (data.templates.Template.answer_format)."""


def in_answer_format(response: str, answer_format: str = "think") -> bool:
    """Does the response answer in the form its template asked for?
    think:  the R1 format (is_r1_format);
    boxed:  a \\boxed{} after the last </think>;
    hash:   a `#### x` after the last </think>;
    phrase: the grader reads the final answer from "the answer is ..." (not from a box, a tag or
            `####`), and that answer holds a digit ("The answer is N." copied from the instruction
            does not count)."""
    if not isinstance(response, str):
        return False
    if answer_format == "think":
        return is_r1_format(response)
    final = response.split("</think>")[-1]
    if answer_format == "boxed":
        return "\\boxed" in final
    if answer_format == "hash":
        return "####" in final
    if answer_format == "phrase":
        e = extract_answer(response)
        return e.source == "phrase" and e.reason == "ok" and any(ch.isdigit() for ch in e.answer)
    raise ValueError(f"unknown answer format {answer_format!r}; known: {', '.join(ANSWER_FORMATS)}")


@REWARDS.register("format")
def format_reward(responses, golds, metas, *, answer_format: str = "think") -> list[float]:
    """R1-Zero's format reward: 1 when the response answers in its template's format (in_answer_format;
    the R1 <think>/<answer> format by default), else 0."""
    return [1.0 if in_answer_format(r, answer_format) else 0.0 for r in responses]


@REWARDS.register("language")
def language_reward(responses, golds, metas, *, script: str = "latin") -> list[float]:
    """DeepSeek-R1 language consistency: the share of words in the target `script` inside <think>
    (1.0 when the think block has no words), from r1repro.text.language_stats.
    Recipe: `rl.rewards: {correct: 1.0, language: {weight: 0.1, script: latin}}`."""
    from r1repro.text import language_stats, think_part

    out = []
    for r in responses:
        try:
            out.append(float(language_stats(think_part(r), script).target_share))
        except Exception:  # noqa: BLE001 - a reward never raises on model text
            out.append(0.0)
    return out


@dataclass
class ScoreResult:
    rewards: list[float]
    """Weighted sum per completion."""
    components: dict[str, list[float]]
    """Per reward name, unweighted."""
    verdicts: list[Verdict]
    """Correctness verdict per completion."""


RewardSpec = float | Mapping[str, Any]
"""A recipe's entry under rl.rewards: a weight, or {weight: w (default 1), <the reward's options>}."""


def reward_specs(rewards: Mapping[str, RewardSpec]) -> dict[str, tuple[float, dict[str, Any]]]:
    """name -> (weight, options) for every entry of rl.rewards; checks names and option names (each
    reward function's keyword-only parameters; `policy` is the grader's, not a recipe option)."""
    out = {}
    for name, spec in rewards.items():
        fn = REWARDS[name]  # an unknown name fails here, listing close matches
        options = dict(spec) if isinstance(spec, Mapping) else {"weight": spec}
        weight = float(options.pop("weight", 1.0))
        known = [p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind is p.KEYWORD_ONLY and p.name != "policy"]
        bad = sorted(set(options) - set(known))
        if bad:
            raise ValueError(f"reward {name!r}: unknown option(s) {', '.join(map(repr, bad))}; valid: "
                             f"weight{''.join(', ' + k for k in known)}")
        out[name] = (weight, options)
    return out


class Scorer:
    """Weighted sum of registered rewards; grades each completion once."""

    def __init__(self, rewards: Mapping[str, RewardSpec], *, policy: GraderPolicy | None = None,
                 answer_format: str = "think"):
        """answer_format: the template's (data.templates.Template.answer_format), what the format
        reward checks unless the recipe sets the reward's own `answer_format`."""
        self.specs = reward_specs(rewards)
        self.weights = {name: w for name, (w, _) in self.specs.items()}
        self.policy = policy or GraderPolicy()
        self._fns: dict[str, RewardFn] = {}
        for name, (_, options) in self.specs.items():
            if name == "language":
                from r1repro.text import language_stats

                language_stats("", options.get("script", "latin"))  # an unknown script fails here, not per batch
            if name == "format":  # the template's answer format (R1 tags, a box, `####`, the phrase)
                options = {"answer_format": answer_format, **options}
                if options["answer_format"] not in ANSWER_FORMATS:
                    raise ValueError(f"unknown answer format {options['answer_format']!r}; known: "
                                     f"{', '.join(ANSWER_FORMATS)}")
            if name != "correct":  # correctness comes from the verdicts, graded once
                self._fns[name] = partial(REWARDS[name], **options)

    def __call__(self, responses: Sequence[str], golds: Sequence[str],
                 metas: Sequence[Mapping] | None = None) -> ScoreResult:
        n = len(responses)
        if len(golds) != n or (metas is not None and len(metas) != n):
            raise ValueError(f"{n} responses, {len(golds)} golds, {None if metas is None else len(metas)} metas")
        metas = list(metas) if metas is not None else [{}] * n
        verdicts = grade_batch(responses, golds, metas, policy=self.policy)
        components: dict[str, list[float]] = {}
        if "correct" in self.specs:
            components["correct"] = [correctness_value(v, **self.specs["correct"][1]) for v in verdicts]
        for name, fn in self._fns.items():
            components[name] = [float(x) for x in fn(responses, golds, metas)]
        rewards = [sum(self.weights[k] * components[k][i] for k in components) for i in range(n)]
        return ScoreResult(rewards, components, verdicts)
