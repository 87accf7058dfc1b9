"""The package metadata builds without setuptools deprecation warnings (PEP 639 license field)."""

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import json, sys, warnings
import setuptools.build_meta as backend
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    name = backend.prepare_metadata_for_build_wheel(sys.argv[1])
deprecated = [str(w.message).splitlines()[0] for w in caught if "Deprecat" in w.category.__name__]
print(json.dumps({"dist_info": name, "deprecated": deprecated}))
"""


def test_metadata_builds_without_deprecation_warnings(tmp_path):
    # the build backend pyproject.toml asks for (pip gets it in an isolated build; `make setup` installs it)
    if int(metadata.version("setuptools").split(".")[0]) < 77:
        pytest.skip(f"setuptools {metadata.version('setuptools')} here; the build uses >= 77 (pip install 'setuptools>=77')")
    out = subprocess.run([sys.executable, "-c", CODE, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["deprecated"] == []
    meta = (tmp_path / got["dist_info"] / "METADATA").read_text()
    assert "License-Expression: Apache-2.0" in meta
