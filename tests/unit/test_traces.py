"""collect_traces: R1's rejection sampling over a finished RL run's logged samples."""

import json

import pytest

from r1repro.train.traces import collect_traces


def write_step(run, step, rows):
    folder = run / "rl" / "rollouts"
    folder.mkdir(parents=True, exist_ok=True)
    recs = [{"step": step, "problem_id": pid, "prompt": f"Q: {pid}?\nA: <think>", "completion": "<think>" + text,
             "gold": "1", "correct": ok} for pid, text, ok in rows]
    (folder / f"step_{step:06d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))


def test_keeps_correct_latest_first_dedupes_and_caps(tmp_path):
    write_step(tmp_path, 1, [("a", " old a </think>", True), ("b", " b1 </think>", True), ("c", " wrong", False)])
    write_step(tmp_path, 2, [("a", " new a </think>", True), ("a", " new a </think>", True),
                             ("b", " b2 </think>", True), ("b", " b3 </think>", True)])
    out = collect_traces(tmp_path, template="qa", per_problem=2)
    got = [(r["problem_id"], r["step"], r["response"]) for r in out]
    # step 2 first; the duplicate "new a" counted once; b capped at 2; c (wrong) never
    assert got == [("a", 2, " new a </think>"), ("b", 2, " b2 </think>"), ("b", 2, " b3 </think>"),
                   ("a", 1, " old a </think>")]
    # the template's response prefix ends the prompt, so it is cut from the response
    assert out[0]["prompt"].endswith("<think>") and not out[0]["response"].startswith("<think>")
    assert [r["problem_id"] for r in collect_traces(tmp_path, template="qa", min_step=2)] == ["a", "b"]


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no RL rollouts"):
        collect_traces(tmp_path, template="qa")
    write_step(tmp_path, 1, [("a", " x", False)])
    with pytest.raises(ValueError, match="no correct samples"):
        collect_traces(tmp_path, template="qa")
    (tmp_path / "rl" / "rollouts" / "step_000002.jsonl").write_text('{"step": 2}\n')
    with pytest.raises(ValueError, match=r"step_000002.jsonl:1: not a rollout record"):
        collect_traces(tmp_path, template="qa")


def test_traces_carry_the_problems_meta(tmp_path):
    # a countdown trace must be graded by the countdown verifier in SFT's held-out accuracy, so its
    # meta (the verifier and the numbers) comes from the run's prepared training data
    from r1repro.data.schema import Problem, write_jsonl
    from r1repro.rundir import RunDir

    run = RunDir.open(tmp_path)
    with run.stage("prepare") as st:
        meta = {"verifier": "countdown", "numbers": [2, 5, 6]}
        write_jsonl(tmp_path / "data" / "train.jsonl", [Problem("a", "countdown", "train", "q", "20", None, meta)])
        st.output("train", tmp_path / "data" / "train.jsonl")
    write_step(tmp_path, 1, [("a", " (6-2)*5 </think>", True), ("b", " b </think>", True)])
    out = {r["problem_id"]: r["meta"] for r in collect_traces(tmp_path, template="qa")}
    assert out == {"a": meta, "b": {}}  # b is not in the training data: no meta, the math verifier
