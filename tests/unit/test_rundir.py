"""Run directory and file primitives: atomic writes, manifest, stages, refusal to overwrite, stale inputs."""

import json
import logging

import pytest

from r1repro.files import atomic_dir, atomic_write_json, atomic_write_text, read_jsonl, sha256_path
from r1repro.rundir import MetricsLogger, RunDir, RunDirError


def test_interrupted_atomic_write_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    atomic_write_json(path, {"v": 1})

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temp file left behind


def test_atomic_dir_keeps_old_checkpoint_on_failure(tmp_path):
    ck = tmp_path / "ckpt"
    with atomic_dir(ck) as d:
        (d / "w").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(ck) as d:
        (d / "w").write_text("half")
        raise RuntimeError("crash mid-save")
    assert (ck / "w").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


@pytest.fixture
def umask():
    """Set the process umask for one test (the value is the test's parameter), then restore it."""
    import os

    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize("mask, file_mode, dir_mode", [
    (0o022, 0o644, 0o755),  # the usual umask: readable by the group and others
    (0o027, 0o640, 0o750),  # a shared group, nothing for others
    (0o077, 0o600, 0o700),  # private
], ids=["022", "027", "077"])
def test_atomic_writes_honour_the_umask(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    atomic_write_text(tmp_path / "a.txt", "x")
    with atomic_dir(tmp_path / "ckpt") as d:
        (d / "w").write_text("w")
    run = RunDir.open(tmp_path / "run", config_yaml="seed: 0\n")
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "a.txt", tmp_path / "ckpt",
                                                         run.path / "config.yaml", run.path / "manifest.json")}
    assert modes == {"a.txt": file_mode, "ckpt": dir_mode, "config.yaml": file_mode, "manifest.json": file_mode}
    assert (tmp_path / "ckpt" / "w").stat().st_mode & 0o777 == file_mode  # written normally: the umask applies


def test_refuses_existing_run_without_force_or_resume(tmp_path):
    path = tmp_path / "r"
    RunDir.open(path, config_yaml="a: 1\n", config_hash="h1")
    with pytest.raises(RunDirError, match=r"already holds a run .*--resume.*--force"):
        RunDir.open(path, config_hash="h1")
    assert RunDir.open(path, config_hash="h1", resume=True).path == path
    with pytest.raises(RunDirError, match="the recipe changed"):
        RunDir.open(path, config_hash="h2", resume=True)
    (path / "keep").write_text("x")
    RunDir.open(path, config_hash="h2", force=True)
    assert not (path / "keep").exists()  # --force starts over


def test_stage_records_outputs_and_detects_stale_input(tmp_path):
    run = RunDir.open(tmp_path / "r", config_hash="h")
    with run.stage("prepare") as st:
        atomic_write_text(run.path / "data" / "train.jsonl", '{"q": 1}\n')
        st.output("train", "data/train.jsonl")
    entry = run.manifest["stages"]["prepare"]
    assert entry["status"] == "done" and entry["outputs"] == {"train": "data/train.jsonl"}
    assert entry["output_sha"]["data/train.jsonl"] == sha256_path(run.path / "data" / "train.jsonl")
    on_disk = json.loads((run.path / "manifest.json").read_text())
    assert on_disk["stages"]["prepare"]["status"] == "done"

    with run.stage("sft") as st:
        assert st.input("prepare", "train") == run.path / "data" / "train.jsonl"
    (run.path / "data" / "train.jsonl").write_text('{"q": 2}\n')  # edited behind the manifest's back
    with pytest.raises(RunDirError, match=r"stale input: data/train.jsonl changed since stage 'prepare'"):
        with run.stage("rl") as st:
            st.input("prepare", "train")
    assert run.manifest["stages"]["rl"]["status"] == "failed"
    assert "stale input" in run.manifest["stages"]["rl"]["error"]


def test_missing_producer_stage_is_a_clear_error(tmp_path):
    run = RunDir.open(tmp_path / "r")
    with pytest.raises(RunDirError, match=r"needs the output 'checkpoint' of stage 'sft', which has not finished"):
        with run.stage("rl") as st:
            st.input("sft", "checkpoint")


def test_failed_stage_keeps_checkpoints_for_resume(tmp_path):
    run = RunDir.open(tmp_path / "r")
    with pytest.raises(ValueError), run.stage("rl") as st:
        st.record(checkpoints=["rl/checkpoints/step_000002"])
        raise ValueError("killed")
    run2 = RunDir.open(tmp_path / "r", resume=True)
    with run2.stage("rl") as st:
        assert st.previous["status"] == "failed"
        assert st.previous["checkpoints"] == ["rl/checkpoints/step_000002"]


def test_metrics_logger_truncates_on_resume_and_ignores_torn_line(tmp_path):
    path = tmp_path / "m.jsonl"
    m = MetricsLogger(path)
    for s in (1, 2, 3):
        m.log({"step": s, "x": s * 1.0})
    with open(path, "a") as f:
        f.write('{"step": 4, "x"')  # crash mid-append
    assert [r["step"] for r in read_jsonl(path)] == [1, 2, 3]
    MetricsLogger(path, resume_after_step=2)  # resuming from the step-2 checkpoint drops step 3
    assert [r["step"] for r in read_jsonl(path)] == [1, 2]


def test_relative_run_dir_records_run_relative_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = RunDir.open("runs/rel")
    with run.stage("sft") as st:
        ckpt = run.path / "sft" / "checkpoints" / "step_000001"
        ckpt.mkdir(parents=True)
        (ckpt / "w").write_text("x")
        st.output("checkpoint", ckpt)  # absolute path under the run
        st.output("metrics", "sft/metrics.jsonl")  # run-relative path
    assert run.manifest["stages"]["sft"]["outputs"] == {"checkpoint": "sft/checkpoints/step_000001",
                                                        "metrics": "sft/metrics.jsonl"}
    with run.stage("rl") as st:
        assert st.input("sft", "checkpoint") == (tmp_path / "runs/rel/sft/checkpoints/step_000001").resolve()


def test_stage_start_removes_leftovers_of_interrupted_writes(tmp_path, caplog):
    run = RunDir.open(tmp_path / "r")
    leftovers = [run.path / ".manifest.json.k2j4_9xq.tmp",            # atomic_write_json, killed mid-write
                 run.path / "data" / ".train.jsonl.a1b2c3d4.tmp",
                 run.path / "rl" / "checkpoints" / ".step_000003.zq81x0ab.tmp"]  # atomic_dir, killed mid-save
    for p in leftovers[:2]:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("half")
    leftovers[2].mkdir(parents=True)
    (leftovers[2] / "model.safetensors").write_bytes(b"\0" * 2_500_000)
    kept = [run.path / ".notes", run.path / "data" / ".train.jsonl.tmp", run.path / "rl" / "x.tmp"]
    for p in kept:  # hidden or .tmp, but not a name atomic writes make
        p.write_text("mine")
    with caplog.at_level(logging.INFO, logger="r1repro"), run.stage("rl"):
        pass
    assert not any(p.exists() for p in leftovers) and all(p.exists() for p in kept)
    for p in leftovers:
        assert p.relative_to(run.path).as_posix() in caplog.text
    assert "2.5 MB" in caplog.text


def test_stage_start_restores_a_checkpoint_caught_between_its_two_renames(tmp_path):
    # atomic_dir over an existing folder: path -> .path.old, tmp -> path; a kill in between leaves
    # the previous complete version in .old and none at path
    run = RunDir.open(tmp_path / "r")
    ck = run.path / "sft" / "checkpoints"
    (ck / ".step_000004.old").mkdir(parents=True)
    (ck / ".step_000004.old" / "trainer_state.pt").write_text("v1")
    (ck / ".step_000004.ab12cd34.tmp").mkdir()
    (ck / ".step_000002.old").mkdir()  # an .old next to its folder: the swap finished, only cleanup died
    (ck / "step_000002").mkdir()
    with run.stage("sft"):
        pass
    assert sorted(p.name for p in ck.iterdir()) == ["step_000002", "step_000004"]
    assert (ck / "step_000004" / "trainer_state.pt").read_text() == "v1"


def test_hardware_names_the_x86_family_and_model(monkeypatch):
    from r1repro import rundir

    zen3 = {"model name": "AMD EPYC", "cpu family": "25", "model": "1", "flags": "fpu avx avx2 fma"}
    monkeypatch.setattr(rundir, "_cpuinfo", lambda: zen3)
    info = rundir.hardware()
    assert (info["cpu_model"], info["cpu_flags"], info["cpu_family_model"]) == ("AMD EPYC", ["avx", "avx2", "fma"], "25/1")
    monkeypatch.setattr(rundir, "_cpuinfo", lambda: {"Hardware": "Apple M2", "Features": "neon asimd"})
    info = rundir.hardware()
    assert info["cpu_model"] == "Apple M2" and "cpu_family_model" not in info
