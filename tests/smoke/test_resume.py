"""Kill a run mid-RL with SIGKILL, resume it, and get the same metrics as an uninterrupted run."""

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import MICRO, comparable, metrics, run_cli

OVERRIDES = ["rl.steps=5", "rl.save_every=1", "rl.keep_last=2", "eval.enabled=false", "report.enabled=false"]


def rl_entry(run_dir) -> dict:
    try:
        return json.loads((run_dir / "manifest.json").read_text())["stages"].get("rl", {})
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def kill_when(cmd: list[str], ready, timeout: float = 300) -> None:
    """Start `cmd`, SIGKILL it as soon as ready() is true; fail if it finished first."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    if proc.returncode == 0:
        pytest.fail("the run finished before it could be killed; make it longer")


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run both kill tests compare against."""
    path = tmp_path_factory.mktemp("straight") / "run"
    run_cli("run", str(MICRO), *OVERRIDES, "--run-dir", str(path))
    return path


def test_killed_rl_resumes_to_identical_metrics(tmp_path, straight):
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "r1repro.cli", "run", str(MICRO), *OVERRIDES, "--run-dir", str(killed)]
    kill_when(cmd, lambda: any(c.endswith("step_000002") for c in rl_entry(killed).get("checkpoints", [])))
    state = json.loads((killed / "manifest.json").read_text())["stages"]["rl"]
    assert state["status"] == "running"  # SIGKILL leaves no chance to write 'failed'

    out = run_cli("run", str(MICRO), *OVERRIDES, "--run-dir", str(killed), check=False)
    assert out.returncode == 2 and "--resume" in out.stderr  # a plain rerun refuses
    run_cli("run", str(MICRO), *OVERRIDES, "--run-dir", str(killed), "--resume")
    a = comparable(metrics(straight / "rl" / "metrics.jsonl"))
    b = comparable(metrics(killed / "rl" / "metrics.jsonl"))
    assert [r["step"] for r in b] == [0, 1, 2, 3, 4, 5]  # 0: held-out accuracy before RL
    assert a == b
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["stages"]["rl"]["status"] == "done"
    assert manifest["stages"]["rl"]["checkpoints"] == ["rl/checkpoints/step_000004", "rl/checkpoints/step_000005"]
    assert sorted(p.name for p in (killed / "rl" / "checkpoints").iterdir()) == ["step_000004", "step_000005"]


@pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="model.lora needs the lora extra (peft)")
def test_killed_lora_rl_resumes_to_identical_metrics(tmp_path):
    """The same with LoRA: adapters that move every step (a constant reward, no baseline) and a KL to
    the adapters-off base; the resumed run loads the base and the checkpoint's adapter."""
    over = [*OVERRIDES, "model.lora={r: 4, alpha: 8}", "rl.advantage=none", "rl.rewards.correct={wrong: 1, unparseable: 1}", "rl.optim.lr=1e-2", "rl.kl_coef=0.1"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run_cli("run", str(MICRO), *over, "--run-dir", str(straight))
    cmd = [sys.executable, "-m", "r1repro.cli", "run", str(MICRO), *over, "--run-dir", str(killed)]
    kill_when(cmd, lambda: any(c.endswith("step_000002") for c in rl_entry(killed).get("checkpoints", [])))
    run_cli("run", str(MICRO), *over, "--run-dir", str(killed), "--resume")
    a = comparable(metrics(straight / "rl" / "metrics.jsonl"))
    b = comparable(metrics(killed / "rl" / "metrics.jsonl"))
    assert [r["step"] for r in b] == [0, 1, 2, 3, 4, 5] and a == b
    assert all(r["grad/norm"] > 0 for r in b[1:]) and b[-1]["kl"] > 0  # the adapters moved: a real test


def test_rl_killed_twice_never_redoes_checkpointed_steps(tmp_path, straight):
    """Kill after step 2's checkpoint; resume and kill again before that attempt saves anything; resume."""
    run = tmp_path / "twice"
    cmd = [sys.executable, "-m", "r1repro.cli", "run", str(MICRO), *OVERRIDES, "--run-dir", str(run)]
    kill_when(cmd, lambda: any(c.endswith("step_000002") for c in rl_entry(run).get("checkpoints", [])))
    first = rl_entry(run)
    step1 = (run / "rl" / "rollouts" / "step_000001.jsonl").stat().st_mtime_ns
    # the resumed attempt enters the stage (a new start time) and dies before its first save
    kill_when([*cmd, "--resume"], lambda: rl_entry(run).get("started", first["started"]) != first["started"])
    second = rl_entry(run)
    assert second["status"] == "running" and second["started"] != first["started"]
    assert second.get("checkpoints") == first["checkpoints"]  # what the crash must not lose
    run_cli("run", str(MICRO), *OVERRIDES, "--run-dir", str(run), "--resume")
    last_attempt = (run / "log.txt").read_text().rsplit("stage rl: resuming", 1)[1]
    assert re.search(r"resuming RL from \S+step_000002 \(step 2\)", last_attempt)
    assert (run / "rl" / "rollouts" / "step_000001.jsonl").stat().st_mtime_ns == step1  # step 1 not redone
    assert comparable(metrics(run / "rl" / "metrics.jsonl")) == comparable(metrics(straight / "rl" / "metrics.jsonl"))


def test_sft_resumes_from_its_last_checkpoint(tmp_path):
    """An SFT stage stopped after step 2 (manifest as a crash leaves it) continues to the same metrics."""
    over = ["sft.steps=4", "sft.save_every=1", "sft.eval_every=0", "--stages", "prepare,sft"]
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    run_cli("run", str(MICRO), *over, "--run-dir", str(straight))
    run_cli("run", str(MICRO), *over, "--run-dir", str(cut))
    manifest = json.loads((cut / "manifest.json").read_text())
    entry = manifest["stages"]["sft"]
    entry.update(status="running", checkpoints=["sft/checkpoints/step_000001", "sft/checkpoints/step_000002"])
    (cut / "manifest.json").write_text(json.dumps(manifest))
    for later in ("step_000003", "step_000004"):  # what a crash after step 2 would not have written
        import shutil

        shutil.rmtree(cut / "sft" / "checkpoints" / later, ignore_errors=True)
    run_cli("run", str(MICRO), *over, "--run-dir", str(cut), "--resume")
    a = comparable(metrics(straight / "sft" / "metrics.jsonl"))
    b = comparable(metrics(cut / "sft" / "metrics.jsonl"))
    assert [r["step"] for r in b] == [1, 2, 3, 4] and a == b
