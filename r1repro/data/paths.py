"""Where the local benchmark files live: `resolve_data_dir`.

Order: the explicit argument (recipe key `data.dir`), else env `R1REPRO_DATA`, else `../shared/data`
relative to the current directory, else relative to the repo root (the parent of the `r1repro`
package). The first that exists wins; when none does the error lists every place it looked and
how to point elsewhere. Synthetic loaders never call this, so they work without any data.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "R1REPRO_DATA"
REPO_ROOT = Path(__file__).resolve().parents[2]


class DataDirNotFound(FileNotFoundError):
    """No data directory; the message lists the candidates tried and how to set one."""


def candidate_dirs(explicit: str | Path | None) -> list[tuple[str, Path]]:
    """(why, path) pairs in the order they are tried."""
    if explicit:
        return [("data.dir / explicit argument", Path(explicit).expanduser())]
    if os.environ.get(ENV_VAR):
        return [(f"env {ENV_VAR}", Path(os.environ[ENV_VAR]).expanduser())]
    return [
        ("../shared/data from the current directory", Path.cwd() / ".." / "shared" / "data"),
        ("../shared/data from the repo root", REPO_ROOT / ".." / "shared" / "data"),
    ]


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """The data directory as an absolute path, or DataDirNotFound naming where it looked."""
    tried = candidate_dirs(explicit)
    for _, path in tried:
        if path.is_dir():
            return path.resolve()
    looked = "; ".join(f"{path} ({why})" for why, path in tried)
    raise DataDirNotFound(
        f"data directory not found; looked in: {looked}. Point elsewhere with the recipe key "
        f"`data.dir: /path/to/data` or the environment variable {ENV_VAR}=/path/to/data "
        f"(or use a synthetic loader: arithmetic, countdown)."
    )
