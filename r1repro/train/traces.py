"""R1's second stage, first half: rejection-sample reasoning traces from a finished RL run.

DeepSeek-R1 trained its final model on traces that an RL checkpoint got right (rejection
sampling), then ran RL again with a language-consistency reward. Here the traces come from the
RL stage's own logged samples (`rl/rollouts/step_*.jsonl`): keep the samples the grader marked
correct, drop exact duplicates, prefer the latest steps (the most trained policy), keep at most
`per_problem` per problem, and write {prompt, response} records the SFT stage trains on. Each
record keeps its problem's gold and meta (from the run's prepared training data), so held-out
accuracy grades it with the verifier the problem names.

    sft.traces_from: runs/quickstart     # in a recipe (recipes/r1-stage2.yaml)
"""

from __future__ import annotations

from pathlib import Path

from r1repro.data.schema import read_jsonl
from r1repro.data.templates import TEMPLATES
from r1repro.files import JSONLineError, scan_jsonl
from r1repro.rundir import RunDir, RunDirError, RunPaths


def problem_metas(run_dir: str | Path) -> dict[str, dict]:
    """problem id -> meta of the run's prepared training problems ({} when the run has none)."""
    try:
        path = RunDir.load(run_dir).output_path("prepare", "train")
    except RunDirError:
        return {}
    return {p.id: p.meta for p in read_jsonl(path)} if path and path.exists() else {}


def collect_traces(run_dir: str | Path, *, template: str, per_problem: int = 1, min_step: int = 0) -> list[dict]:
    """Correct RL samples of `run_dir` as SFT records, latest step first, `per_problem` per problem.

    `template` is the run's prompt template: its response prefix (e.g. "<think>") ends the logged
    prompt and starts the logged response, so it is cut from the response (SFT appends the
    response to the prompt). The RL run sampled its training split, so no trace is of an
    evaluation problem.
    """
    folder = RunPaths(run_dir).rollouts()
    files = sorted(folder.glob("step_*.jsonl"), reverse=True)
    if not files:
        raise FileNotFoundError(f"{folder}: no RL rollouts to collect traces from (did the rl stage run, "
                                f"with rl.log_rollouts_every > 0?)")
    prefix = TEMPLATES[template].response_prefix
    kept: dict[str, set[str]] = {}  # problem id -> distinct responses kept
    metas = problem_metas(run_dir)
    out = []
    for f in files:
        for n, r in scan_jsonl(f):
            try:
                if isinstance(r, JSONLineError):
                    raise r
                step, pid, correct = r["step"], r["problem_id"], r["correct"]
                prompt, response = r["prompt"], r["completion"]
            except (JSONLineError, KeyError, TypeError) as e:
                raise ValueError(f"{f}:{n}: not a rollout record ({e})") from None
            if prefix and prompt.endswith(prefix) and response.startswith(prefix):
                response = response[len(prefix):]
            mine = kept.setdefault(pid, set())
            if not correct or step < min_step or len(mine) >= per_problem or response in mine:
                continue
            mine.add(response)
            out.append({"prompt": prompt, "response": response, "problem_id": pid, "step": step,
                        "gold": r.get("gold"), "meta": metas.get(pid, {})})
    if not out:
        raise ValueError(f"{folder}: no correct samples (from step {min_step} on) to train on")
    return out

