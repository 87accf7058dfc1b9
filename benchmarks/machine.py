"""What the benchmarks share: what every result records about where it ran (CPU model and vector
extensions: float kernels, hence numbers, differ between CPU models; cores, load, versions, commit,
date), and copying a finished run's prepared data and SFT checkpoint to start another RL stage from."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path

from r1repro.rundir import hardware

ROOT = Path(__file__).resolve().parent.parent


def machine_info(packages: tuple[str, ...] = ("r1repro", "torch", "transformers", "trl")) -> dict:
    vers = {}
    for pkg in packages:
        try:
            vers[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            vers[pkg] = None
    # the commit of the r1repro that runs (PYTHONPATH may point at another checkout than this script's)
    code = Path(importlib.import_module("r1repro").__file__).resolve().parents[1]
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=code, capture_output=True, text=True).stdout.strip()
    return {**hardware(), "versions": vers, "git_sha": sha, "loadavg": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def cpu_line(info: dict) -> str:
    """One line for a printed table: 'AMD EPYC family/model 25/1 (avx2, fma), 2 cores'."""
    flags = ", ".join(f for f in info.get("cpu_flags", []) if f not in ("sse4_2", "avx")) or "no AVX2"
    fm = f" family/model {info['cpu_family_model']}" if "cpu_family_model" in info else ""
    return f"{info.get('cpu_model')}{fm} ({flags}), {info.get('cpu_count')} cores"


def copy_after_sft(src: Path, dst: Path) -> Path:
    """dst = a copy of run `src` with only its prepare and sft stages (no rl, eval, report, trackers):
    the start of another RL stage from the same data and SFT checkpoint. Replaces dst."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("rl", "eval", "report", "tb", "wandb"))
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["stages"] = {k: v for k, v in manifest["stages"].items() if k in ("prepare", "sft")}
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


def write_result(path: str | Path, result: dict, info: dict) -> None:
    """benchmarks/results/<name>.json: the result, the machine before (info) and after the run, the date."""
    out = {**result, "machine": info, "machine_after": machine_info(), "date": time.strftime("%Y-%m-%d")}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"wrote {path}")
