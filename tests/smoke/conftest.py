"""Smoke tests: the micro recipe (a 2-layer, 32-wide model) through real stages."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MICRO = Path(__file__).parent / "micro.yaml"


def run_cli(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "r1repro.cli", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out


def metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def comparable(records: list[dict]) -> list[dict]:
    """Metrics without wall-clock and memory fields (they differ between any two runs)."""
    return [{k: v for k, v in r.items() if not k.startswith(("time/", "mem/")) and k != "tokens_per_s"}
            for r in records]


@pytest.fixture(scope="session")
def micro_run(tmp_path_factory) -> Path:
    """One full micro run shared by the smoke tests that only read its outputs."""
    run_dir = tmp_path_factory.mktemp("runs") / "micro"
    run_cli("run", str(MICRO), "--run-dir", str(run_dir))
    return run_dir
