"""The run directory: manifest, stage bookkeeping, metrics logging (atomic writes: r1repro.files).

A run directory is the interface between stages (docs/run-directory.md). Each stage runs inside
`run.stage(name)`: it reads inputs through `stage.input(producer, key)` (which refuses a file whose
sha256 no longer matches what its producer recorded), declares outputs, and the manifest entry is
written last, when the stage ends. Every file goes through write-to-temp-then-rename, so a crash
never leaves a half-written file where a good one was; the temp files a crash leaves behind are
removed when the next stage starts. A new attempt of a stage keeps the checkpoint list of the
earlier one in its manifest entry, so a crash at any moment loses no checkpoint.

Imports neither torch nor transformers. Only rank 0 writes (RANK env var), so the same code runs
under torchrun.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from r1repro.files import (
    atomic_write_json,
    atomic_write_jsonl,
    atomic_write_text,
    read_jsonl,
    remove_interrupted_writes,
    sha256_path,
)
from r1repro.ranks import is_main

log = logging.getLogger("r1repro")
MANIFEST = "manifest.json"


def step_name(step: int) -> str:
    """Zero-padded step folder and file names: step_000120."""
    return f"step_{step:06d}"


class RunPaths:
    """Where each file of a run directory lives (docs/run-directory.md): the one place in the package
    that spells these names. `RunPaths(root).metrics("rl")` -> root/rl/metrics.jsonl."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def card(self) -> Path:
        return self.data / "card.json"

    @property
    def base(self) -> Path:
        return self.root / "base"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def traces(self) -> Path:
        """SFT's rejection-sampled traces (sft.traces_from)."""
        return self.root / "sft" / "traces.jsonl"

    def train_data(self) -> Path:
        return self.data / "train.jsonl"

    def eval_data(self, task: str) -> Path:
        return self.data / f"eval-{task}.jsonl"

    def metrics(self, stage: str) -> Path:
        return self.root / stage / "metrics.jsonl"

    def checkpoints(self, stage: str) -> Path:
        return self.root / stage / "checkpoints"

    def rollouts(self) -> Path:
        return self.root / "rl" / "rollouts"

    def rollout(self, step: int) -> Path:
        return self.rollouts() / f"{step_name(step)}.jsonl"

    def heldout(self) -> Path:
        """Greedy held-out samples graded during RL (rl.eval_every)."""
        return self.root / "rl" / "evals"

    def heldout_at(self, step: int) -> Path:
        return self.heldout() / f"{step_name(step)}.jsonl"

    def eval_dir(self, checkpoint: str, task: str) -> Path:
        return self.root / "eval" / checkpoint / task

    def samples(self, checkpoint: str, task: str) -> Path:
        return self.eval_dir(checkpoint, task) / "samples.jsonl"

    def summary(self, checkpoint: str, task: str) -> Path:
        return self.eval_dir(checkpoint, task) / "summary.json"

    def tensorboard(self, stage: str) -> Path:
        """report_to: tensorboard: the stage's event files."""
        return self.root / "tb" / stage

    @property
    def wandb(self) -> Path:
        """report_to: wandb: W&B's own files (it names this folder `wandb/` under the dir it is given)."""
        return self.root / "wandb"


class RunDirError(RuntimeError):
    """The run directory refuses an action (exists, stale input, missing stage output)."""


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class MetricsLogger:
    """Appends one flat JSON record per step to a JSONL file (rank 0 only), and hands each record to
    the attached trackers (r1repro.trackers: TensorBoard, W&B; `report_to` in the recipe)."""

    def __init__(self, path: str | Path, *, resume_after_step: int | None = None, trackers: Sequence[Any] = ()):
        self.path = Path(path)
        self.trackers = list(trackers)
        if is_main():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if resume_after_step is None:
                atomic_write_text(self.path, "")
            elif self.path.exists():  # drop records past the checkpoint we resume from
                keep = [r for r in read_jsonl(self.path) if r.get("step", -1) <= resume_after_step]
                atomic_write_jsonl(self.path, keep)

    def log(self, record: Mapping[str, Any]) -> None:
        if not is_main():
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(dict(record), default=float) + "\n")
            f.flush()
        for tracker in self.trackers:
            tracker.log(record)

    def close(self) -> None:
        """Flush and close the trackers (the JSONL file is complete after every log)."""
        for tracker in self.trackers:
            tracker.close()
        self.trackers = []


# ----------------------------------------------------------------------------- environment
def git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in ("r1repro", "torch", "transformers", "sympy", "math-verify", "vllm"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "neon", "asimd", "sve")
"""CPU features that change which float kernels run (and so the numbers a seed gives)."""


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo; empty where that file is absent."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in text.splitlines()[:40] if ":" in line)
    return {k.strip(): v.strip() for k, v in fields.items()}


def cpu_model(fields: dict[str, str]) -> tuple[str, list[str]]:
    """(model name, vector extensions among VECTOR_FLAGS) from /proc/cpuinfo's fields; the platform's
    processor string and no flags where that file is absent."""
    if not fields:
        return platform.processor() or platform.machine(), []
    name = fields.get("model name") or fields.get("Model") or fields.get("Hardware") or platform.machine()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    return name, [f for f in VECTOR_FLAGS if f in flags]


def hardware() -> dict[str, Any]:
    fields = _cpuinfo()
    model, flags = cpu_model(fields)
    info: dict[str, Any] = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "cpu_model": model,
                            "cpu_flags": flags}
    if "cpu family" in fields:  # x86: a VM's model name may be just "AMD EPYC"; family 25 model 1 is Zen 3
        info["cpu_family_model"] = f"{fields['cpu family']}/{fields.get('model', '?')}"
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        info["torch_threads"] = torch.get_num_threads()
    return info


# ----------------------------------------------------------------------------- the run
class Stage:
    """Bookkeeping for one stage while it runs; see RunDir.stage."""

    CARRIED = ("checkpoints",)
    """Fields of an earlier attempt's manifest entry that a new attempt keeps until it replaces them:
    the checkpoints on disk stay known whenever the new attempt dies."""

    def __init__(self, run: RunDir, name: str):
        self.run, self.name = run, name
        self.inputs: dict[str, str] = {}
        self.outputs: dict[str, str] = {}
        self.previous: dict[str, Any] = dict(run.manifest["stages"].get(name, {}))
        """The manifest entry of an earlier attempt (e.g. its status and error)."""
        self.extra: dict[str, Any] = {k: self.previous[k] for k in self.CARRIED if k in self.previous}
        """Fields recorded into this attempt's entry (Stage.record), starting with the CARRIED ones."""
        self.checkpoint_meta: dict[str, Any] = {}
        """Fields written into the meta.json of each checkpoint this stage saves (e.g. the template)."""

    def record(self, **fields: Any) -> None:
        """Add fields to this stage's manifest entry now (e.g. each checkpoint as it is saved)."""
        self.extra.update(fields)
        self.run.manifest["stages"][self.name].update(fields)
        self.run.save()

    def input(self, producer: str, key: str) -> Path:
        """A file another stage produced, verified against the sha256 it recorded."""
        entry = self.run.manifest["stages"].get(producer)
        if not entry or entry.get("status") != "done":
            raise RunDirError(
                f"stage {self.name!r} needs the output {key!r} of stage {producer!r}, which has not "
                f"finished in {self.run.path}; run `r1repro {producer}` (or `r1repro run ... --stages {producer}`) first"
            )
        rel = entry["outputs"].get(key)
        if rel is None:
            raise RunDirError(f"stage {producer!r} recorded no output {key!r} (it has: {', '.join(entry['outputs'])})")
        path = self.run.path / rel
        if not path.exists():
            raise RunDirError(f"{path}: output {key!r} of stage {producer!r} is missing from the run directory")
        recorded = entry.get("output_sha", {}).get(rel)
        current = sha256_path(path)
        if recorded is not None and recorded != current:
            raise RunDirError(
                f"stale input: {rel} changed since stage {producer!r} wrote it (sha256 {recorded[:12]} -> "
                f"{current[:12]}); re-run `{producer}` with --force, or restore the file"
            )
        self.inputs[rel] = current
        return path

    def output(self, key: str, path: str | Path) -> Path:
        path = Path(path)
        self.outputs[key] = path.relative_to(self.run.path).as_posix() if path.is_absolute() else str(path)
        return self.run.path / self.outputs[key]


class RunDir:
    """runs/<name>/ with its manifest. Use RunDir.open(...) to create, resume or refuse."""

    def __init__(self, path: Path, manifest: dict):
        # resolved, so that stage outputs (given absolute or run-relative) are recorded run-relative
        self.path, self.manifest = Path(path).resolve(), manifest
        self.paths = RunPaths(self.path)
        self.config_hash: str | None = manifest.get("config_hash")

    @classmethod
    def open(cls, path: str | Path, *, config_yaml: str | None = None, config_hash: str | None = None,
             seed: int = 0, force: bool = False, resume: bool = False, strict_config: bool = True) -> RunDir:
        """Create a new run, or reopen one: an existing run needs resume (continue) or force (start over)."""
        path = Path(path)
        mpath = path / MANIFEST
        if mpath.exists() and not force:
            manifest = json.loads(mpath.read_text())
            if not resume:
                done = [s for s, e in manifest["stages"].items() if e.get("status") == "done"]
                raise RunDirError(
                    f"{path} already holds a run (stages done: {', '.join(done) or 'none'}); pass --resume to "
                    f"continue it or --force to delete it and start over"
                )
            if config_hash and manifest.get("config_hash") not in (None, config_hash):
                if not strict_config:
                    log.warning("%s: the recipe differs from the run's config.yaml; this stage records its own "
                                "config hash %s in the manifest", path, config_hash[:12])
                    run = cls(path, manifest)
                    run.config_hash = config_hash
                    return run
                raise RunDirError(
                    f"{path}: the recipe changed since this run started (config hash "
                    f"{manifest['config_hash'][:12]} -> {config_hash[:12]}; diff against {path / 'config.yaml'}); "
                    f"use --force to start over or a new run name"
                )
            return cls(path, manifest)
        if force and path.exists() and is_main():
            shutil.rmtree(path)
        manifest = {"schema": 1, "name": path.name, "created": now(), "config_hash": config_hash,
                    "git_sha": git_sha(), "seed": seed, "versions": versions(), "hardware": hardware(),
                    "stages": {}}
        run = cls(path, manifest)
        if is_main():
            path.mkdir(parents=True, exist_ok=True)
            if config_yaml is not None:
                atomic_write_text(path / "config.yaml", config_yaml)
            run.save()
        return run

    @classmethod
    def load(cls, path: str | Path) -> RunDir:
        """An existing run, for reading (report, eval of its checkpoints)."""
        path = Path(path)
        if not (path / MANIFEST).exists():
            raise RunDirError(f"{path}: not a run directory (no {MANIFEST})")
        return cls(path, json.loads((path / MANIFEST).read_text()))

    def save(self) -> None:
        if is_main():
            atomic_write_json(self.path / MANIFEST, self.manifest)

    def status(self, stage: str) -> str | None:
        return self.manifest["stages"].get(stage, {}).get("status")

    def output_path(self, stage: str, key: str) -> Path | None:
        entry = self.manifest["stages"].get(stage)
        if not entry or entry.get("status") != "done" or key not in entry.get("outputs", {}):
            return None
        return self.path / entry["outputs"][key]

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        """Run a stage: its manifest entry says running, then done (with output hashes) or failed.

        On entry, what killed writes left anywhere in the run directory is removed (and logged)."""
        st = Stage(self, name)
        if is_main():
            for line in remove_interrupted_writes(self.path):
                log.info("stage %s: leftover of an interrupted write: %s", name, line)
        started, t0 = now(), time.time()
        self.manifest["stages"][name] = {"status": "running", "started": started, "inputs": {}, "outputs": {}}
        self.manifest["stages"][name].update(st.extra)
        self.save()
        try:
            yield st
        except BaseException as e:
            self.manifest["stages"][name] = {
                "status": "failed", "started": started, "ended": now(), "seconds": round(time.time() - t0, 3),
                "inputs": st.inputs, "outputs": st.outputs, "error": "".join(traceback.format_exception_only(e)).strip(),
                **st.extra}
            self.save()
            raise
        output_sha = {rel: sha256_path(self.path / rel) for rel in st.outputs.values() if (self.path / rel).exists()}
        self.manifest["stages"][name] = {
            "status": "done", "started": started, "ended": now(), "seconds": round(time.time() - t0, 3),
            "inputs": st.inputs, "outputs": st.outputs, "output_sha": output_sha, "error": None,
            "config_hash": self.config_hash, **st.extra}
        self.manifest["hardware"] = hardware()
        self.save()


def setup_logging(run_dir: str | Path | None = None, level: int = logging.INFO) -> None:
    """Console logging, plus runs/<name>/log.txt when a run directory is given (rank 0 only)."""
    root = logging.getLogger("r1repro")
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) for h in root.handlers):
        h = logging.StreamHandler()
        h.setFormatter(fmt)
        root.addHandler(h)
    if run_dir is not None and is_main():
        target = str(Path(run_dir, "log.txt").resolve())
        for h in [h for h in root.handlers if isinstance(h, logging.FileHandler)]:
            root.removeHandler(h)
            h.close()
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(target, encoding="utf-8")
        fh.setFormatter(fmt)
        root.addHandler(fh)
