"""report_to: TensorBoard's event files (read back with tensorboard's own reader) hold exactly what
metrics.jsonl holds, for SFT, RL and eval, also across a resume; W&B (offline) writes its run
directory under the run and continues the same run id on resume."""

import importlib.util
import json
import shutil

import numpy as np
import pytest
from conftest import MICRO, metrics, run_cli

HAVE_TB = importlib.util.find_spec("tensorboard") is not None
HAVE_WANDB = importlib.util.find_spec("wandb") is not None
needs_tb = pytest.mark.skipif(not HAVE_TB, reason="report_to: tensorboard needs the tensorboard extra")
OFFLINE = {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}


def events(logdir) -> dict[str, dict[int, float]]:
    """tag -> {step: value} of every scalar in a TensorBoard log directory (all its event files)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})  # 0: keep every event
    acc.Reload()
    out = {}
    for tag in acc.Tags()["scalars"]:
        steps = [e.step for e in acc.Scalars(tag)]
        assert len(steps) == len(set(steps)), f"{tag}: a step logged twice: {steps}"
        out[tag] = {e.step: e.value for e in acc.Scalars(tag)}
    return out


def expected(records) -> dict[str, dict[int, float]]:
    """The same view of metrics.jsonl: numeric values but the step, as float32 (TensorBoard stores those)."""
    out: dict[str, dict[int, float]] = {}
    for r in records:
        for k, v in r.items():
            if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
                out.setdefault(k, {})[r["step"]] = float(np.float32(v))
    return out


@needs_tb
def test_tensorboard_events_equal_metrics_jsonl(tmp_path):
    run = tmp_path / "tb-run"
    run_cli("run", str(MICRO), "report_to=[tensorboard]", "report.enabled=false", "--run-dir", str(run))
    for stage in ("sft", "rl", "eval"):
        records = metrics(run / stage / "metrics.jsonl")
        assert records, stage
        assert events(run / "tb" / stage) == expected(records), stage
    assert "reward/mean" in events(run / "tb" / "rl") and "arith/accuracy" in events(run / "tb" / "eval")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = EventAccumulator(str(run / "tb" / "rl"))
    acc.Reload()
    assert {"config/text_summary", "run/text_summary"} <= set(acc.Tags()["tensors"])  # the YAML and the run name
    start = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(start).session_start_info.hparams
    assert hparams["rl.optim.lr"].number_value == 3e-05 and hparams["name"].string_value == "micro"


@needs_tb
def test_resumed_rl_continues_the_same_tracker_runs(tmp_path):
    """A stage stopped after step 2 (the manifest as a crash leaves it, events of steps 3-4 already
    written) resumes into the same tracker runs, and the event files end up equal to metrics.jsonl."""
    trackers = ["tensorboard"] + (["wandb"] if HAVE_WANDB else [])
    over = [f"report_to=[{','.join(trackers)}]", "rl.steps=4", "rl.save_every=1", "rl.keep_last=4",
            "--stages", "prepare,sft,rl"]
    run = tmp_path / "r"
    run_cli("run", str(MICRO), *over, "--run-dir", str(run), env=OFFLINE)
    manifest = json.loads((run / "manifest.json").read_text())
    first_id = manifest["stages"]["rl"]["tracker_id"]
    manifest["stages"]["rl"].update(status="running", checkpoints=["rl/checkpoints/step_000001",
                                                                   "rl/checkpoints/step_000002"])
    (run / "manifest.json").write_text(json.dumps(manifest))
    for later in ("step_000003", "step_000004"):
        shutil.rmtree(run / "rl" / "checkpoints" / later)
    run_cli("run", str(MICRO), *over, "--run-dir", str(run), "--resume", env=OFFLINE)

    assert json.loads((run / "manifest.json").read_text())["stages"]["rl"]["tracker_id"] == first_id
    records = metrics(run / "rl" / "metrics.jsonl")
    assert [r["step"] for r in records] == [0, 1, 2, 3, 4]
    assert len(list((run / "tb" / "rl").glob("events.out.tfevents.*"))) == 2  # continued, not started over
    # steps 3 and 4 were logged twice (their time/* values differ): TensorBoard keeps the resumed ones
    assert events(run / "tb" / "rl") == expected(records)
    if HAVE_WANDB:
        runs = sorted((run / "wandb").glob(f"offline-run-*-{first_id}"))
        assert len(runs) == 2 and all((r / f"run-{first_id}.wandb").exists() for r in runs)


@pytest.mark.skipif(not HAVE_WANDB, reason="report_to: wandb needs the wandb extra")
def test_wandb_offline_writes_its_run_directory(tmp_path):
    run = tmp_path / "wb"
    run_cli("run", str(MICRO), "report_to=[wandb]", "--stages", "prepare,sft", "--run-dir", str(run), env=OFFLINE)
    run_id = json.loads((run / "manifest.json").read_text())["stages"]["sft"]["tracker_id"]
    assert run_id.startswith("wb-sft-")
    (offline,) = (run / "wandb").glob(f"offline-run-*-{run_id}")
    assert (offline / f"run-{run_id}.wandb").stat().st_size > 0


def test_unknown_tracker_fails_before_the_run_starts(tmp_path):
    out = run_cli("run", str(MICRO), "report_to=[tensorbord]", "--run-dir", str(tmp_path / "x"), check=False)
    assert out.returncode == 2 and "did you mean 'tensorboard'" in out.stderr
    assert not (tmp_path / "x").exists()
