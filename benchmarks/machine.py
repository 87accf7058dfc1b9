"""What every benchmark result records about where it ran: CPU model and vector extensions (float
kernels, hence numbers, differ between CPU models), cores, load, versions, commit, date."""

from __future__ import annotations

import os
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
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {**hardware(), "versions": vers, "git_sha": sha, "loadavg": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def cpu_line(info: dict) -> str:
    """One line for a printed table: 'AMD EPYC (avx2, fma), 2 cores'."""
    flags = ", ".join(f for f in info.get("cpu_flags", []) if f not in ("sse4_2", "avx")) or "no AVX2"
    return f"{info.get('cpu_model')} ({flags}), {info.get('cpu_count')} cores"
