"""set_mmap_threshold: large freed buffers go back to the OS (glibc), a no-op elsewhere."""

import platform
import subprocess
import sys

import pytest

from r1repro.models import set_mmap_threshold

glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# In a fresh process: in a long-lived one (the whole test suite) the heap may already hold a free
# 16 MiB chunk from before the threshold was set, which malloc reuses instead of mapping new pages.
PROBE = """
import torch
from r1repro.models import set_mmap_threshold

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

assert set_mmap_threshold(4)
torch.ones(1024).add_(1).sum()  # first op: torch's thread pool and lazy state, not what is measured
base = rss_mib()
for _ in range(3):  # glibc's own threshold would grow after the first free and keep the next ones
    t = torch.ones(16 * 2**20 // 4)  # 16 MiB, touched
    assert rss_mib() - base > 12, rss_mib() - base
    del t
assert rss_mib() - base < 4, rss_mib() - base
print("ok")
"""


@pytest.mark.skipif(not glibc, reason="mallopt is glibc's")
def test_freed_large_buffers_leave_the_process():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.skipif(glibc, reason="only off glibc")
def test_elsewhere_it_reports_false():
    assert set_mmap_threshold(4) is False
