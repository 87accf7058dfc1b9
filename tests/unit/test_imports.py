"""Layering (STYLE.md): light modules must not pull in torch/transformers/vllm."""

import subprocess
import sys

import pytest

CASES = [
    ("r1repro.config", ("torch", "transformers")),
    ("r1repro.files", ("torch", "transformers", "r1repro.rundir", "r1repro.data")),
    ("r1repro.rundir", ("torch", "transformers")),
    ("r1repro.trackers", ("torch", "transformers", "wandb", "tensorboard")),
    ("r1repro.data.schema", ("torch", "transformers", "r1repro.rundir")),
    ("r1repro.registry", ("torch", "transformers")),
    ("r1repro.grading", ("transformers", "vllm", "torch")),
    ("r1repro.algos", ("transformers", "vllm")),
    ("r1repro.metrics", ("transformers", "vllm", "torch")),
    ("r1repro.text", ("transformers", "vllm", "torch")),
    ("r1repro.report", ("transformers", "vllm", "torch")),
    ("r1repro.cli", ("torch", "transformers")),
]


@pytest.mark.parametrize("module,forbidden", CASES)
def test_module_does_not_import_heavy_dependencies(module, forbidden):
    code = f"import sys, {module}; print(','.join(m for m in {forbidden!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing {module} imported {out}"
