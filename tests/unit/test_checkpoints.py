"""A stage's checkpoints across attempts: the manifest's list survives any crash, resume takes the
newest complete one, and no attempt leaves checkpoints that keep_last never prunes.

A "crash" here is a stage entered and never left (what SIGKILL does: no 'failed' entry, no cleanup);
tests/smoke/test_resume.py does the same with real processes and kill -9.
"""

import json
import logging

import pytest

from r1repro.rundir import RunDir
from r1repro.train.common import record_checkpoint, start_checkpoints


def fake_checkpoint(run: RunDir, step: int, complete: bool = True) -> str:
    rel = f"rl/checkpoints/step_{step:06d}"
    (run.path / rel).mkdir(parents=True)
    if complete:
        (run.path / rel / "trainer_state.pt").write_bytes(b"state")
    return rel


ALIVE = []  # entered stages, referenced until the test ends (a collected one would record 'failed')


@pytest.fixture(autouse=True)
def _close_entered_stages():
    yield
    while ALIVE:
        ALIVE.pop().gen.close()


def enter(run: RunDir):
    """Enter the run's rl stage and never leave it: what a process killed inside it did."""
    ctx = run.stage("rl")
    ALIVE.append(ctx)
    return ctx.__enter__()


def crashed_attempt(path):
    """Reopen the run from disk and enter the rl stage, as a new process would; never leave it."""
    run = RunDir.open(path, resume=True)
    return run, enter(run)


def on_disk(path) -> list[str]:
    return sorted(p.name for p in (path / "rl" / "checkpoints").iterdir())


def test_checkpoint_list_survives_an_attempt_that_dies_before_its_first_save(tmp_path):
    run = RunDir.open(tmp_path / "r")
    st = enter(run)
    for step in (1, 2):
        record_checkpoint(st, fake_checkpoint(run, step), keep_last=2)
    crashed_attempt(tmp_path / "r")  # resumed, then killed while loading the model: it saved nothing
    entry = json.loads((tmp_path / "r" / "manifest.json").read_text())["stages"]["rl"]
    assert entry["status"] == "running" and entry["checkpoints"] == ["rl/checkpoints/step_000001",
                                                                      "rl/checkpoints/step_000002"]
    run3, st3 = crashed_attempt(tmp_path / "r")
    assert start_checkpoints(st3, resume=True, keep_last=2) == run3.path / "rl/checkpoints/step_000002"


def test_resumed_attempt_prunes_the_earlier_attempts_checkpoints(tmp_path):
    run = RunDir.open(tmp_path / "r")
    st = enter(run)
    for step in (1, 2):
        record_checkpoint(st, fake_checkpoint(run, step), keep_last=2)
    run2, st2 = crashed_attempt(tmp_path / "r")
    assert start_checkpoints(st2, resume=True, keep_last=2).name == "step_000002"
    record_checkpoint(st2, fake_checkpoint(run2, 3), keep_last=2)
    record_checkpoint(st2, fake_checkpoint(run2, 4), keep_last=2)
    assert st2.extra["checkpoints"] == ["rl/checkpoints/step_000003", "rl/checkpoints/step_000004"]
    assert on_disk(tmp_path / "r") == ["step_000003", "step_000004"]  # steps 1 and 2 pruned, not orphaned


def test_newest_complete_checkpoint_by_step_and_unlisted_folders_removed(tmp_path, caplog):
    run = RunDir.open(tmp_path / "r")
    st = enter(run)
    listed = [fake_checkpoint(run, 4), fake_checkpoint(run, 2), fake_checkpoint(run, 6, complete=False)]
    st.record(checkpoints=listed)  # out of order, and step 6 lost its trainer state
    fake_checkpoint(run, 5)  # written, but the attempt died before recording it: its step is redone
    run2, st2 = crashed_attempt(tmp_path / "r")
    with caplog.at_level(logging.INFO, logger="r1repro"):
        assert start_checkpoints(st2, resume=True, keep_last=3).name == "step_000004"
    assert st2.extra["checkpoints"] == ["rl/checkpoints/step_000002", "rl/checkpoints/step_000004"]
    assert on_disk(tmp_path / "r") == ["step_000002", "step_000004"]
    assert "rl/checkpoints/step_000005" in caplog.text and "rl/checkpoints/step_000006" in caplog.text


def test_resume_applies_keep_last_at_once(tmp_path):
    run = RunDir.open(tmp_path / "r")
    st = enter(run)
    for step in (1, 2, 3):
        record_checkpoint(st, fake_checkpoint(run, step), keep_last=3)
    _, st2 = crashed_attempt(tmp_path / "r")
    assert start_checkpoints(st2, resume=True, keep_last=1).name == "step_000003"
    assert on_disk(tmp_path / "r") == ["step_000003"]


def test_starting_over_removes_the_earlier_attempts_checkpoints_and_says_so(tmp_path, caplog):
    run = RunDir.open(tmp_path / "r")
    st = enter(run)
    for step in (1, 2):
        record_checkpoint(st, fake_checkpoint(run, step), keep_last=2)
    _, st2 = crashed_attempt(tmp_path / "r")
    with caplog.at_level(logging.INFO, logger="r1repro"):
        assert start_checkpoints(st2, resume=False, keep_last=2) is None
    assert st2.extra["checkpoints"] == [] and on_disk(tmp_path / "r") == []
    assert "starting over" in caplog.text and "rl/checkpoints/step_000001" in caplog.text


@pytest.mark.parametrize("resume", [True, False])
def test_checkpoint_meta_is_kept_for_the_saves(tmp_path, resume):
    run = RunDir.open(tmp_path / "r")
    st = enter(run)
    start_checkpoints(st, resume=resume, keep_last=2, meta={"template": "qa"})
    assert st.checkpoint_meta == {"template": "qa"}
