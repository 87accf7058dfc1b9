"""One grading entry point: VERIFIERS, grade/grade_batch, and every caller (RL rewards, the eval
harness, SFT's held-out accuracy) going through it with the problem's own verifier.

Run: python -m pytest tests/unit/test_verifiers.py -q
"""

from __future__ import annotations

import pytest

from r1repro.grading import VERIFIERS, GraderPolicy, Verdict, grade, grade_batch
from r1repro.registry import UnknownNameError

CD = {"verifier": "countdown", "numbers": [2, 5, 6]}

# (response, gold, meta, correct, reason, method)
GRADE_CASES = [
    ("<answer>(6-2)*5</answer>", "20", CD, True, "exact", "countdown"),        # countdown: numbers used once
    ("<answer>20</answer>", "20", CD, False, "mismatch", "countdown"),         # bare target: 20 is not given
    ("<answer>20</answer>", "20", {}, True, "exact", "fast"),                  # no verifier: math
    ("<answer>20</answer>", "20", None, True, "exact", "fast"),                # no meta at all: math
    ("<answer>20</answer>", "20", {"verifier": "math"}, True, "exact", "fast"),  # math named
    ("<answer>(6-2)*5</answer>", "20", {"verifier": "countdown"}, False, "unparseable",
     "countdown: bad gold/meta"),                                              # numbers missing: a verdict
]


@pytest.mark.parametrize("response,gold,meta,correct,reason,method", GRADE_CASES)
def test_grade_dispatches_on_meta(response, gold, meta, correct, reason, method):
    v = grade(response, gold, meta)
    assert (v.correct, v.reason, v.method) == (correct, reason, method), v


def test_registry_names_and_unknown_verifier():
    assert {"math", "countdown"} <= set(VERIFIERS.names())
    with pytest.raises(UnknownNameError, match="countdown"):  # a data error names the close match
        grade("<answer>1</answer>", "1", {"verifier": "countdwn"})
    with pytest.raises(UnknownNameError):  # grade_batch checks the names before any work
        grade_batch(["a", "b"], ["1", "1"], [{}, {"verifier": "nope"}])


def test_grade_batch_keeps_order_and_mixes_verifiers():
    n = 40
    responses = [f"<answer>{i}</answer>" if i % 2 else "<answer>(6-2)*5</answer>" for i in range(n)]
    golds = [str(i) if i % 2 else "20" for i in range(n)]
    metas = [{} if i % 2 else CD for i in range(n)]
    out = grade_batch(responses, golds, metas, policy=GraderPolicy(cache_size=0))
    assert all(v.correct for v in out)
    assert [v.method for v in out] == ["countdown" if i % 2 == 0 else "fast" for i in range(n)]
    with pytest.raises(ValueError):
        grade_batch(["a"], ["1", "2"])


@pytest.fixture
def probe_verifier(monkeypatch):
    """A registered verifier that records each call: proves a caller went through grade()."""
    calls = []

    def probe(response, gold, meta, policy):
        calls.append((response, gold, dict(meta), policy))
        return Verdict(True, "exact", response, None, gold, "probe")

    monkeypatch.setitem(VERIFIERS._items, "probe", probe)
    return calls


def test_rl_rewards_use_the_entry_point(probe_verifier):
    from r1repro.rewards import Scorer

    pol = GraderPolicy(timeout_s=1.5)
    out = Scorer({"correct": 1.0}, policy=pol)(["<think>a</think><answer>x</answer>"], ["7"],
                                                [{"verifier": "probe"}])
    assert out.rewards == [1.0] and out.verdicts[0].method == "probe"
    assert probe_verifier == [("<think>a</think><answer>x</answer>", "7", {"verifier": "probe"}, pol)]


class _FakeBackend:
    """Stands in for a rollout backend: returns one fixed completion per prompt."""

    def __init__(self, text):
        self.text = text

    def generate(self, prompts, *, n, **_):
        from r1repro.rollout.base import Completion

        return [[Completion((1,), (2, 3), self.text, "eos") for _ in range(n)] for _ in prompts]


def test_eval_harness_uses_the_problems_verifier(probe_verifier):
    from r1repro.config import TaskConfig
    from r1repro.data.schema import Problem
    from r1repro.data.templates import TEMPLATES
    from r1repro.evals.harness import generate_and_grade

    probs = [Problem("p1", "countdown", "test", "q", "20", None, {"verifier": "probe", "numbers": [1]}),
             Problem("p2", "countdown", "test", "q", "20", None, CD)]
    task = TaskConfig()
    recs = generate_and_grade(_FakeBackend(" x </think> <answer>20</answer>"), TEMPLATES["qa"], None, probs,
                               task, n=2, greedy=False, seed=0)
    assert len(probe_verifier) == 2 and probe_verifier[0][3] == task.grader  # p1 twice, the task's policy
    # p2 is a Countdown problem: a bare target number is not an expression over its numbers
    assert [(r["problem_id"], r["correct"], r["reason"]) for r in recs] == [
        ("p1", True, "exact"), ("p1", True, "exact"), ("p2", False, "mismatch"), ("p2", False, "mismatch")]


def test_sft_heldout_accuracy_uses_the_problems_verifier(probe_verifier, monkeypatch):
    import r1repro.train.sft as sft
    from r1repro.data.templates import TEMPLATES

    class _Model:
        def eval(self):
            pass

        def train(self):
            pass

    monkeypatch.setattr(sft, "make_backend", lambda *a, **k: _FakeBackend(" x </think> <answer>20</answer>"))
    pol = GraderPolicy(timeout_s=3.0)
    graded = [("prompt a", "20", {"verifier": "probe"}), ("prompt b", "20", CD), ("prompt c", None, {})]
    out = sft.heldout_eval(_Model(), None, TEMPLATES["qa"], [], graded, 0, max_new_tokens=8, chunk=8, policy=pol)
    assert out["acc/eval"] == 0.5  # probe says right; countdown says a bare 20 is not an expression
    assert [c[3] for c in probe_verifier] == [pol]  # the recipe's grader policy reaches the verifier


class _ByPrompt:
    """A backend whose completion depends on the prompt (a dict of question -> completion)."""

    def __init__(self, texts):
        self.texts = texts

    def generate(self, prompts, *, n, **_):
        from r1repro.rollout.base import Completion

        out = []
        for p in prompts:
            text = next(t for q, t in self.texts.items() if q in p)
            out.append([Completion((1,), (2,), text, "eos") for _ in range(n)])
        return out


def test_eval_reports_strict_and_flexible(tmp_path, monkeypatch):
    # lm-eval's two GSM8K views from one grading pass: strict needs a marked answer, flexible also
    # takes the last number of the last sentence; RL rewards stay strict (the grader's default)
    import r1repro.evals.harness as harness
    from r1repro.config import load_task
    from r1repro.data.schema import Problem

    texts = {"Q1": " x </think> <answer>18</answer>",       # marked and right: both views
             "Q2": " x </think> She pays 18 dollars. Done",  # prose, right: flexible only
             "Q3": " x </think> She pays 17 dollars.",       # prose, wrong: neither
             "Q4": " x </think> no number at all"}           # nothing: neither
    probs = [Problem(f"p{i}", "gsm8k", "test", f"Q{i}", "18") for i in range(1, 5)]
    monkeypatch.setattr(harness, "backend_from_config", lambda *a, **k: _ByPrompt(texts))
    task = load_task("gsm8k")
    assert task.flexible and not task.grader.last_number_fallback
    out = harness.evaluate(None, None, task, probs, tmp_path / "gsm8k", template_name="qa", meta={})
    m = out["metrics"]
    assert (m["accuracy"], m["accuracy/flexible"]) == (0.25, 0.5)
    assert out["reasons"] == {"no_answer": 3, "exact": 1}  # the strict view's reasons
    recs = {r["problem_id"]: r for r in harness.read_jsonl(tmp_path / "gsm8k" / "samples.jsonl")}
    assert (recs["p2"]["correct"], recs["p2"]["correct_flexible"]) == (False, True)
    assert (recs["p3"]["correct"], recs["p3"]["correct_flexible"]) == (False, False)
    # a task without `flexible` reports the strict view only
    out = harness.evaluate(None, None, load_task("math500"), probs, tmp_path / "m", template_name="qa", meta={})
    assert out["metrics"]["accuracy"] == 0.25 and "accuracy/flexible" not in out["metrics"]
