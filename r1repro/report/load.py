"""Read a run directory into one plain object the renderers share, tolerating missing pieces.

What: `load_run(path) -> RunData` with the manifest, resolved config, data card, SFT/RL metrics,
the paths of the RL rollout files and held-out evaluations during RL, and every eval summary (eval/<checkpoint>/<task>/summary.json).
Why: a report is most needed when a run went wrong, so nothing here raises on a missing or
damaged file; each problem becomes a line in `RunData.missing` that the report prints.
How: reads only files named in docs/run-directory.md; rollouts and eval samples are read lazily by
the trace browser (they are the large files).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from r1repro.files import JSONLineError, scan_jsonl
from r1repro.rundir import RunPaths

CHECKPOINTS = ("base", "sft", "rl")
SELF = "report"  # the pipeline's stage that renders this report


@dataclass
class RunData:
    path: Path
    name: str
    manifest: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    config_text: str = ""
    card: dict[str, Any] = field(default_factory=dict)
    sft_metrics: list[dict] = field(default_factory=list)
    rl_metrics: list[dict] = field(default_factory=list)
    rollout_files: dict[int, Path] = field(default_factory=dict)
    heldout_files: dict[int, Path] = field(default_factory=dict)
    """step -> rl/evals/step_N.jsonl: greedy held-out samples graded during RL (rl.eval_every)."""
    evals: dict[str, dict[str, dict]] = field(default_factory=dict)
    """task -> checkpoint -> summary.json, checkpoints in base, sft, rl order."""
    missing: list[str] = field(default_factory=list)
    """Human-readable notes about absent, failed or unreadable parts of the run."""

    @property
    def tasks(self) -> list[str]:
        return sorted(self.evals)

    def samples_path(self, checkpoint: str, task: str) -> Path:
        return RunPaths(self.path).samples(checkpoint, task)


def read_jsonl(path: Path, missing: list[str]) -> list[dict]:
    """Records of a JSONL file (files.scan_jsonl); unreadable lines are skipped and counted in `missing`."""
    out, bad = [], 0
    for _, rec in scan_jsonl(path):
        if isinstance(rec, JSONLineError):
            bad += 1
        elif isinstance(rec, dict):
            out.append(rec)
    if bad:
        missing.append(f"{path.name}: skipped {bad} unreadable line(s)")
    return out


def _read_json(path: Path, missing: list[str], what: str) -> dict:
    if not path.exists():
        missing.append(f"no {what} ({path.name} absent)")
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        missing.append(f"{what} unreadable: {e}")
        return {}
    return obj if isinstance(obj, dict) else {}


def _load_config(run: RunData) -> None:
    path = RunPaths(run.path).config
    if not path.exists():
        run.missing.append("no resolved config (config.yaml absent)")
        return
    run.config_text = path.read_text(encoding="utf-8", errors="replace")
    try:
        cfg = yaml.safe_load(run.config_text)
    except yaml.YAMLError as e:
        run.missing.append(f"config.yaml unreadable: {e}")
        return
    run.config = cfg if isinstance(cfg, dict) else {}


def _load_metrics(run: RunData, stage: str) -> list[dict]:
    path = RunPaths(run.path).metrics(stage)
    if not path.exists():
        run.missing.append(f"no {stage.upper()} metrics ({stage}/metrics.jsonl absent)")
        return []
    recs = [r for r in read_jsonl(path, run.missing) if isinstance(r.get("step"), (int, float))]
    return sorted(recs, key=lambda r: r["step"])


def _step_files(run: RunData, sub: str) -> dict[int, Path]:
    folder, out = RunPaths(run.path).root / "rl" / sub, {}
    for p in sorted(folder.glob("step_*.jsonl")) if folder.is_dir() else []:
        try:
            out[int(p.stem.split("_", 1)[1])] = p
        except ValueError:
            run.missing.append(f"rl/{sub}/{p.name}: not a step_NNNNNN.jsonl name")
    return out


def _load_rollouts(run: RunData) -> None:
    run.rollout_files = _step_files(run, "rollouts")
    run.heldout_files = _step_files(run, "evals")
    if not run.rollout_files and run.rl_metrics:
        run.missing.append("no RL rollouts (rl/rollouts/step_*.jsonl absent)")


def _load_evals(run: RunData) -> None:
    root = run.path / "eval"
    for ckpt in CHECKPOINTS:
        for summary in sorted((root / ckpt).glob("*/summary.json")) if (root / ckpt).is_dir() else []:
            obj = _read_json(summary, run.missing, f"eval summary {ckpt}/{summary.parent.name}")
            if obj:
                run.evals.setdefault(summary.parent.name, {})[ckpt] = obj
    if not run.evals:
        run.missing.append("no evaluation results (eval/<checkpoint>/<task>/summary.json absent)")


def _stage_notes(run: RunData) -> None:
    for name, entry in (run.manifest.get("stages") or {}).items():
        status = entry.get("status") if isinstance(entry, dict) else None
        if name == SELF:  # the report stage is "running" while it renders this very report
            continue
        if status == "failed":
            run.missing.append(f"stage {name} failed: {entry.get('error') or 'no error recorded'}")
        elif status not in ("done", None):
            run.missing.append(f"stage {name} did not finish (status: {status})")


def load_run(path: str | Path) -> RunData:
    """Everything the report shows about one run; never raises on missing or damaged files."""
    path = Path(path)
    run = RunData(path=path, name=path.name)
    run.manifest = _read_json(RunPaths(path).manifest, run.missing, "manifest")
    run.name = str(run.manifest.get("name") or path.name)
    _stage_notes(run)
    _load_config(run)
    run.card = _read_json(RunPaths(path).card, run.missing, "data card")
    run.sft_metrics = _load_metrics(run, "sft")
    run.rl_metrics = _load_metrics(run, "rl")
    _load_rollouts(run)
    _load_evals(run)
    return run
