"""C kernels built on this machine at first use, loaded with ctypes; None where they cannot be built.

What:
    library(source) -> ctypes.CDLL | None    the compiled r1repro/<source>.c, built once and cached
    functions(source, restype=None, **argtypes) -> SimpleNamespace | None
                                             its functions r1_<name>, typed for ctypes

Why: a few CPU operations (the decode step's attention and small operations: rollout/decode.c) run several
times faster as one C loop than as PyTorch operators, and PyTorch's own extension build (cpp_extension)
compiles its headers for a minute. A plain C file compiles in about a second with the system's C
compiler (GCC: the sources use its vector extensions), for this CPU (-march=native), and needs nothing
from torch at build time. Without a compiler, on a build error or with R1REPRO_NATIVE=0 the callers
keep their PyTorch code (a warning says why, once).

How: `cc -O3 -march=native -fopenmp -fno-math-errno -shared -fPIC` (CC overrides cc) into
R1REPRO_CACHE/native/<name>-<key>.so, the key a hash of the source, the flags and the CPU (model
name and flags, so a home directory shared between machines never loads another CPU's build); written
to a temporary name and renamed, so concurrent first uses (torchrun ranks) do not see a half-written
file. The library's OpenMP is torch's: torch has loaded libgomp.so.1, which the dynamic linker reuses,
so the kernels run on torch's threads (torch.set_num_threads).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace

from r1repro.files import CACHE

FLAGS = ("-O3", "-march=native", "-fopenmp", "-fno-math-errno", "-shared", "-fPIC")


def _cpu() -> str:
    """The CPU's model name and flags (/proc/cpuinfo's first processor), else platform.processor()."""
    try:
        text = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
        return "\n".join(line for line in text.splitlines() if line.startswith(("model name", "flags")))
    except OSError:
        return platform.processor()


@functools.cache
def library(source: str) -> ctypes.CDLL | None:
    """r1repro/<source>.c compiled for this CPU and loaded (cached under R1REPRO_CACHE/native); None with
    a warning when it cannot be built or loaded, or when R1REPRO_NATIVE=0."""
    if os.environ.get("R1REPRO_NATIVE", "1") == "0":
        return None
    path = Path(__file__).parent / f"{source}.c"
    cc = os.environ.get("CC", "cc")
    key = hashlib.sha256("\0".join([path.read_text(), cc, *FLAGS, _cpu()]).encode()).hexdigest()[:16]
    out = CACHE / "native" / f"{path.stem}-{key}.so"
    try:
        if not out.exists():
            if shutil.which(cc) is None:
                raise OSError(f"no C compiler {cc!r} on PATH")
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".so")
            os.close(fd)
            try:
                done = subprocess.run([cc, *FLAGS, str(path), "-o", tmp, "-lm"], capture_output=True, text=True)
                if done.returncode:
                    raise OSError(f"{cc} failed on {path}: {done.stderr.strip()[-600:]}")
                os.replace(tmp, out)
            finally:
                Path(tmp).unlink(missing_ok=True)
        return ctypes.CDLL(str(out))
    except OSError as e:
        warnings.warn(f"r1repro.native: {path.name} not built, the PyTorch code runs instead ({e})", stacklevel=2)
        return None


def functions(source: str, restype=None, **argtypes: list) -> SimpleNamespace | None:
    """library(source)'s functions r1_<name> for each name=argtypes given, with those argument types and
    `restype` (None: void), as attributes <name>; None where the library was not built."""
    lib = library(source)
    if lib is None:
        return None
    fns = {}
    for name, types in argtypes.items():
        fn = fns[name] = getattr(lib, f"r1_{name}")
        fn.argtypes, fn.restype = types, restype
    return SimpleNamespace(**fns)
