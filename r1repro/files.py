"""File primitives every layer may use: atomic writes, the one JSONL reader, sha256.

Every file the pipeline writes goes through write-to-temp-then-rename (a crash never leaves a
half-written file where a good one was) and every stage input is recorded by sha256. This module
sits at the top of the layering (STYLE.md) with config and registry: the data package and the run
directory both build on it. Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("R1REPRO_CACHE", Path.home() / ".cache" / "r1repro"))  # converted models, native builds


def umask() -> int:
    """The process umask (read from /proc on Linux; elsewhere set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write to a temp file in the same directory, fsync, then rename over `path`.

    mkstemp creates the temp file 0600; it gets the mode a plain open() would have given it
    (0666 less the umask), so a run directory shared with a group stays readable by it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def atomic_write_jsonl(path: str | Path, records: Any) -> Path:
    lines = (json.dumps(r, ensure_ascii=False, default=str) for r in records)
    return atomic_write_text(path, "".join(line + "\n" for line in lines))


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temp directory; on success it replaces `path` whole (for checkpoints).

    The directory gets the mode mkdir() would have given it (0777 less the umask), not mkdtemp's 0700."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        os.chmod(tmp, 0o777 & ~umask())
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")
"""The names mkstemp/mkdtemp give the writes above: `.<target name>.<8 random characters>.tmp`."""
OLD_NAME = re.compile(r"^\.(?P<target>.+)\.old$")
"""atomic_dir's previous version of a folder, kept between its two renames."""


def human_size(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def tree_size(path: Path) -> int:
    if not path.is_dir():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def remove_interrupted_writes(root: str | Path) -> list[str]:
    """Remove what writes killed midway left under `root`; one line per item, for the log.

    A temp file or folder (TEMP_NAME) is deleted. A `.<name>.old` folder is put back as `<name>`
    when that is missing (the kill fell between atomic_dir's two renames: it is the last complete
    version), else deleted. Only for a directory no other process is writing to.
    """
    root = Path(root)
    done: list[str] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in sorted(dirs):
            path, old = here / name, OLD_NAME.match(name)
            rel = path.relative_to(root).as_posix()
            if old and not (here / old["target"]).exists():
                os.replace(path, here / old["target"])
                done.append(f"restored {(here / old['target']).relative_to(root).as_posix()} from {rel}")
            elif old or TEMP_NAME.match(name):
                size = tree_size(path)
                shutil.rmtree(path, ignore_errors=True)
                done.append(f"removed {rel} ({human_size(size)})")
            else:
                continue
            dirs.remove(name)  # nothing to look at inside
        for name in sorted(files):
            if TEMP_NAME.match(name):
                path = here / name
                size = path.stat().st_size
                path.unlink(missing_ok=True)
                done.append(f"removed {path.relative_to(root).as_posix()} ({human_size(size)})")
    return done


class JSONLineError(ValueError):
    """A line of a JSONL file that is not valid JSON (or not UTF-8): names the file, line and column."""

    def __init__(self, path: str | Path, line: int, column: int | None, msg: str, *, torn: bool = False):
        self.path, self.line, self.column, self.msg = str(path), line, column, msg
        self.torn = torn
        """The file's last line, without a newline: what a crash in the middle of an append leaves."""
        where = f" at column {column}" if column is not None else ""
        super().__init__(f"{self.path}:{line}: invalid JSON{where}: {msg}")


def scan_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of a JSONL file: the one JSONL reader.

    Lines end at "\n" only. JSON written with ensure_ascii=False keeps U+2028, U+2029 and U+0085
    raw inside strings, and str.splitlines() (or a text-mode file, at a bare "\r") would cut such a
    record in two. A line that cannot be read gives (line number, JSONLineError) instead of a value,
    and each caller chooses: raise it, skip and count it, or tolerate a torn last line (`.torn`).
    Columns count characters from 1 on the line itself; a UTF-8 byte order mark on line 1 is skipped.
    """
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            torn = not raw.endswith(b"\n")
            raw = raw.rstrip(b"\r\n")
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield lineno, JSONLineError(path, lineno, None, f"not UTF-8 (byte {e.start + 1})", torn=torn)
                continue
            if not text.strip():
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as e:
                yield lineno, JSONLineError(path, lineno, e.pos + 1, e.msg, torn=torn)


def read_jsonl(path: str | Path) -> list[dict]:
    """Records of a JSONL file; a torn last line (a crash mid-append) is ignored, any other bad line
    raises JSONLineError."""
    out = []
    for _, value in scan_jsonl(path):
        if isinstance(value, JSONLineError):
            if value.torn:
                break
            raise value
        out.append(value)
    return out


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_path(path: str | Path) -> str:
    """sha256 of a file, or of a directory's (relative path, file sha256) list."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        h.update(f"{p.relative_to(path).as_posix()}\0{sha256_file(p)}\n".encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------- metrics


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
