"""Layering (STYLE.md): light modules pull in no torch/transformers/vllm, every import follows the
package order (LAYERS), no module imports itself back, and loading a recipe loads only the config."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CASES = [
    ("r1repro.config", ("torch", "transformers")),
    ("r1repro.files", ("torch", "transformers", "r1repro.rundir", "r1repro.data")),
    ("r1repro.rundir", ("torch", "transformers")),
    ("r1repro.ranks", ("torch", "transformers", "r1repro.files")),
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


# The package's own order (STYLE.md): a module imports only modules of its own package or of
# packages earlier in this list, at module level or inside a function alike.
LAYERS = ("config", "ranks", "registry", "files", "text", "data", "grading", "rewards", "native", "kernels", "algos", "metrics",
          "rundir", "trackers", "checks", "dist", "models", "rollout", "evals", "train", "report", "pipeline", "cli")
ROOT = Path(__file__).resolve().parents[2] / "r1repro"


def _import_graph() -> dict[str, set[str]]:
    """module -> the r1repro modules it imports (static, from the source)."""
    def name(p: Path) -> str:
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    mods = {name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        out = graph.setdefault(mod, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("r1repro"):
                out |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                        for a in node.names}
            elif isinstance(node, ast.Import):
                out |= {a.name for a in node.names if a.name.startswith("r1repro")}
    return graph


def _layer(mod: str) -> str:
    return mod.split(".")[1] if "." in mod else "__init__"


def test_every_import_follows_the_package_order():
    graph, bad = _import_graph(), []
    for mod, targets in graph.items():
        if _layer(mod) == "__init__":
            continue
        for t in targets:
            src, dst = _layer(mod), _layer(t)
            if dst != src and (dst not in LAYERS or LAYERS.index(dst) > LAYERS.index(src)):
                bad.append(f"{mod} imports {t}")
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(bad))


def test_no_module_imports_itself_back():
    graph = _import_graph()

    def reach(start: str) -> set[str]:
        seen, stack = set(), [start]
        while stack:
            for nxt in graph.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    loops = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a != b and a in reach(b))
    assert not loops, loops


def test_config_is_the_ground_floor():
    code = "import sys, r1repro.config; print(sorted(m for m in sys.modules if m.startswith('r1repro')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['r1repro', 'r1repro.config']"
