"""STYLE.md: a function fits on a screen (about 60 lines), so the package's functions stay readable."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "r1repro"
LIMIT = 60


def test_no_library_function_over_sixty_lines():
    long = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > LIMIT:
                    long.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "split these functions:\n" + "\n".join(long)
