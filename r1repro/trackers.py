"""Experiment trackers: each metrics record a stage writes also goes to TensorBoard and/or W&B.

What: `report_to: [tensorboard, wandb]` in a recipe (the top-level key TRL and transformers use;
default []). `open_metrics(cfg, stage, path, resume_after_step=...)` returns the stage's
rundir.MetricsLogger with one tracker per listed name attached; every record that goes to
`<stage>/metrics.jsonl` goes to each tracker too, with the same flat keys (`reward/mean`,
`acc/train`, ...) at the record's `step`. Each tracker run also gets the resolved config as
hyperparameters and the run's name.

One tracker run per stage of a run (sft, rl and eval count their steps separately):
  tensorboard  event files in runs/<name>/tb/<stage>/ (`tensorboard --logdir runs/<name>/tb` shows
               the stages side by side), written with torch.utils.tensorboard (the `tensorboard` extra)
  wandb        a W&B run named <name>-<stage> in group <name> (job type: the stage), files under
               runs/<name>/wandb/; offline unless WANDB_API_KEY is set or WANDB_MODE says otherwise
               (`wandb sync runs/<name>/wandb/offline-run-*` uploads later); the `wandb` extra

Resume: a stage resumed from a checkpoint continues the same tracker runs. TensorBoard purges the
steps after the checkpoint (SummaryWriter's purge_step), so the event files hold what metrics.jsonl
holds; W&B reuses the run id the stage recorded in the manifest (`tracker_id`). Only rank 0 logs.

Why a registry: `report_to` names are checked against TRACKERS before anything is written
(r1repro.checks), with the package each tracker needs (PACKAGES).
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from r1repro.config import Recipe, to_dict, to_yaml
from r1repro.ranks import is_main
from r1repro.registry import Registry
from r1repro.rundir import MetricsLogger, RunPaths, Stage


class Tracker(Protocol):
    def log(self, record: Mapping[str, Any]) -> None:
        """One metrics record (flat keys, a "step")."""
        ...

    def close(self) -> None: ...


TRACKERS: Registry[type] = Registry("experiment tracker (report_to)")
"""report_to name -> class(run_dir, stage, *, run_name, run_id, config, resume_after_step) with log/close."""

PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb")}
"""report_to name -> (module it needs, r1repro extra that installs it)."""


def scalars(record: Mapping[str, Any]) -> dict[str, float]:
    """The record's finite numeric values but its step (strings, None, NaN and booleans are not charted)."""
    return {k: float(v) for k, v in record.items()
            if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def flat_config(cfg: Recipe) -> dict[str, Any]:
    """The resolved config as dotted keys with scalar values (lists and None as text): hyperparameters."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, Mapping) and node:
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        elif isinstance(node, (bool, int, float, str)):
            out[prefix[:-1]] = node
        else:
            out[prefix[:-1]] = str(node)

    walk(to_dict(cfg), "")
    return out


@TRACKERS.register("tensorboard")
class TensorBoardTracker:
    """Scalars through torch.utils.tensorboard into runs/<name>/tb/<stage>/."""

    def __init__(self, run_dir: Path, stage: str, *, run_name: str, run_id: str, config: Recipe,
                 resume_after_step: int | None):
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        logdir = RunPaths(run_dir).tensorboard(stage)
        if resume_after_step is None:  # a fresh start of the stage: an earlier attempt's events go
            shutil.rmtree(logdir, ignore_errors=True)
        # purge_step: on resume, TensorBoard hides what an earlier attempt logged from that step on
        self.writer = SummaryWriter(str(logdir), purge_step=None if resume_after_step is None else resume_after_step + 1)
        if resume_after_step is None:
            self.writer.add_text("run", f"{run_name} / {stage} (tracker id {run_id})")
            self.writer.add_text("config", "```yaml\n" + to_yaml(config) + "```")
            file_writer = self.writer._get_file_writer()  # add_hparams would open a second run directory
            for summary in hparams(flat_config(config), {}):
                file_writer.add_summary(summary)
        self.writer.flush()

    def log(self, record: Mapping[str, Any]) -> None:
        step = int(record.get("step", 0))
        for key, value in scalars(record).items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()  # a killed run keeps every record it logged

    def close(self) -> None:
        self.writer.close()


def wandb_mode() -> str:
    """WANDB_MODE when set; else online when an API key is in the environment, offline otherwise."""
    return os.environ.get("WANDB_MODE") or ("online" if os.environ.get("WANDB_API_KEY") else "offline")


@TRACKERS.register("wandb")
class WandbTracker:
    """A W&B run per stage, in group <run name>; files under runs/<name>/wandb/ (offline without a key)."""

    def __init__(self, run_dir: Path, stage: str, *, run_name: str, run_id: str, config: Recipe,
                 resume_after_step: int | None):
        import wandb

        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "r1repro"), name=f"{run_name}-{stage}",
                              group=run_name, job_type=stage, id=run_id, resume="allow", dir=str(run_dir),  # -> wandb/
                              mode=wandb_mode(), config=to_dict(config), reinit="create_new",
                              settings=wandb.Settings(console="off", silent=True, save_code=False))

    def log(self, record: Mapping[str, Any]) -> None:
        # W&B steps must grow: online, steps re-logged after a resume are dropped by W&B (same values)
        self.run.log(scalars(record), step=int(record.get("step", 0)))

    def close(self) -> None:
        self.run.finish()


def tracker_id(run_name: str, stage: str) -> str:
    """A new tracker run id: <run name>-<stage>-<random hex> (characters W&B accepts)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{run_name[:40]}-{stage}-{secrets.token_hex(4)}")


def open_metrics(cfg: Recipe, st: Stage, path: str | Path, *, resume_after_step: int | None) -> MetricsLogger:
    """The stage's metrics logger (rundir.MetricsLogger), with the trackers cfg.report_to names.

    resume_after_step: None starts the stage's metrics (and tracker runs) afresh; a step resumes after
    it: metrics.jsonl keeps the records up to it and the trackers continue the stage's earlier run
    (its id is in the manifest entry's `tracker_id`)."""
    trackers = []
    if cfg.report_to:
        run_id = st.previous.get("tracker_id") if resume_after_step is not None else None
        run_id = run_id or tracker_id(st.run.path.name, st.name)
        st.record(tracker_id=run_id)
        if is_main():
            trackers = [TRACKERS[name](st.run.path, st.name, run_name=st.run.path.name, run_id=run_id, config=cfg,
                                       resume_after_step=resume_after_step) for name in cfg.report_to]
    return MetricsLogger(path, resume_after_step=resume_after_step, trackers=trackers)
