"""Kill a run mid-RL with SIGKILL, resume it, and get the same metrics as an uninterrupted run."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import MICRO, comparable, metrics, run_cli

BASE = ["rl.steps=5", "rl.save_every=1", "rl.keep_last=2", "eval.enabled=false", "report.enabled=false"]
# LoRA: adapters that move every step (constant reward, no baseline) and a KL to the adapters-off base
LORA = ["model.lora={r: 4, alpha: 8}", "rl.advantage=none", "rl.wrong_value=1", "rl.unparseable_value=1",
        "rl.optim.lr=1e-2", "rl.kl_coef=0.1"]
HAVE_PEFT = importlib.util.find_spec("peft") is not None


@pytest.mark.parametrize("extra", [[], pytest.param(LORA, id="lora", marks=pytest.mark.skipif(
    not HAVE_PEFT, reason="model.lora needs the lora extra (peft)"))], ids=["full", "lora"])
def test_killed_rl_resumes_to_identical_metrics(tmp_path, extra):
    OVERRIDES = BASE + extra
    straight = tmp_path / "straight"
    run_cli("run", str(MICRO), *OVERRIDES, "--run-dir", str(straight))

    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "r1repro.cli", "run", str(MICRO), *OVERRIDES, "--run-dir", str(killed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            entry = json.loads((killed / "manifest.json").read_text())["stages"].get("rl", {})
        except (FileNotFoundError, json.JSONDecodeError):
            entry = {}
        if any(c.endswith("step_000002") for c in entry.get("checkpoints", [])):
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    if proc.returncode == 0:
        pytest.fail("the run finished before it could be killed; make it longer")
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
