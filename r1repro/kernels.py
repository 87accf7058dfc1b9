"""Float32 linear layers on CPU on the faster kernel for the CPU, forward and backward.

What:
    linear(x, weight, bias=None) -> y      F.linear's result; on oneDNN where it pays (see below)
    onednn_linears(*models)                context manager: the models' large float32 CPU nn.Linear
                                           modules compute through `linear` inside it (training too)
    frozen_linears(*models)                context manager for inference (the sampling loop): oneDNN
                                           where BACKEND is oneDNN, else transposed weight copies:
                                           linear.c's panels (AVX-512) or MKL's column blocks
    block_product(module, x, out=None)     x @ W^T as frozen_linears' copy gives it (the native decode step)

Why: nn.Linear calls MKL's sgemm, which on AMD CPUs runs its AVX2 code. On a 2-vCPU Zen 5 EPYC a
2048^3 float32 multiply ran at 223 GFLOP/s on MKL and 483 on oneDNN (which torch ships too);
SmolLM2-135M's decode shapes, (4-128 rows x 576) @ (576 x 576 ... 1536), at 23-192 GFLOP/s on MKL
against 49-419 on oneDNN, and its training shapes (2,048 tokens) forward, input gradient and
weight gradient at 192-213 against 352-443 (docs/benchmarks.md). On Zen 3 the LM head's decode shape
ran at 27-52 against 74-82. oneDNN reads the dense weight in place: nothing is copied or packed.
On Intel CPUs MKL takes its AVX-512 code and was as fast as oneDNN or faster (a 2-vCPU Xeon, family 6
model 207: 2048^3 at 336 GFLOP/s on MKL, 298 on oneDNN; most decode shapes 0.6-1.0x on oneDNN), so
the choice goes by the CPU's vendor: BACKEND is "onednn" on AMD, "mkl" elsewhere; the environment
variable R1REPRO_CPU_LINEARS=onednn|mkl|auto overrides it at import. There MKL's sgemm was faster
on x (M, K) @ W^T stored as a contiguous (K, N) than on nn.Linear's (N, K) weight: the sampling
loop on that Xeon went from 349-393 to 432-463 tokens/s (128 rows; greedy output unchanged), so
frozen_linears copies the weights transposed, into one buffer (one allocation, returned to the OS
when freed), once per call: ~540 MB and a fraction of a second for SmolLM2-135M. The copies are
split by columns into one block a thread (column_blocks), multiplied in one batched call: MKL's
batched sgemm gives each thread its own block, so each reads only its share of the weight, where
its plain sgemm on 2 threads reread it (SmolLM2-135M's projections at 64 and 128 rows: 1.39x and
1.23x faster; 3 blocks on 2 threads were slower than 1, so a block a thread). The sampling loop on
the Xeon: +9% tokens/s (docs/benchmarks.md).
From FROZEN_MAX_ROWS rows (a prefill) the module's own F.linear runs instead, which MKL runs faster
there: a prefill of 16 prompts of 336 tokens 4.09 -> 3.74 s, the same logits.
Where r1repro/linear.c builds with AVX-512 (panel_kernel) the copies are its 48-column panels instead
and it multiplies at every row count: MKL ran far from the memory and compute limits at decode shapes;
the kernel streams the next panel under the arithmetic of the current one (the Xeon: the model's
products a decode step 1.1-1.6x faster at 1-128 rows, 1.07-1.41x at prefill sizes; the sampling loop
740 -> 856 tokens/s).

How: torch.ops.mkldnn._linear_pointwise (the op torch.compile's CPU backend calls) takes dense
tensors, strided views included. `_OneDNNLinearFn` gives it a backward: the input's gradient is
the same op with the weight transposed (a view), the weight's gradient the same op on gy^T and
x^T (views). Results equal F.linear's up to float summation order (~1e-6 relative). oneDNN costs
~10 us more a call than MKL, so layers under ONEDNN_MIN_WEIGHTS weights (the tiny model's but its MLP) and
calls under ONEDNN_MIN_MACS multiply-adds stay on MKL; so do other dtypes, other devices, tensor
subclasses (FSDP's DTensor shards) and builds without oneDNN, or with torch.backends.mkldnn off.
The transposed copies take the same weight gate (MIN_WEIGHTS).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import mmap
import os
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from r1repro import native

# 2 Zen 5 threads: a 128 x 128 layer at 8 rows took 5 us on MKL, 12 on oneDNN; 576 x 192 at 4 rows 23 us on both
ONEDNN_MIN_WEIGHTS = 1 << 16
ONEDNN_MIN_MACS = 1 << 20
_LINEAR_POINTWISE = getattr(torch.ops.mkldnn, "_linear_pointwise", None)  # oneDNN's linear, dense tensors in and out
BACKENDS = ("auto", "onednn", "mkl")
# frozen_linears' column blocks stop below the LM head: SmolLM2-135M's (576 x 49,152) ran 2x slower
# split in two at 64-128 rows on the Xeon, where its projections ran 1.2-1.4x faster
SPLIT_MAX_COLUMNS = 16384
# from this many rows (a prefill) frozen_linears' layers multiply through F.linear on the module's weight:
# SmolLM2-135M's 30 layers' projections on 2 Xeon threads took 709 ms at 1,184 rows in column blocks against
# 568 through F.linear (1.25x; 2,048 rows 1.26x, 512 rows 1.04x, 256 even)
FROZEN_MAX_ROWS = 1024


def cpu_vendor() -> str:
    """/proc/cpuinfo's vendor_id ("AuthenticAMD", "GenuineIntel"); "" where there is none (macOS, Arm)."""
    try:
        with Path("/proc/cpuinfo").open() as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("vendor_id")), "")
    except OSError:
        return ""


def choose_backend(setting: str | None = None, vendor: str | None = None) -> str:
    """'onednn' or 'mkl' for float32 CPU linears: the setting (R1REPRO_CPU_LINEARS by default) unless
    'auto', where AMD CPUs get oneDNN (MKL runs AVX2 code there) and the rest keep MKL."""
    setting = os.environ.get("R1REPRO_CPU_LINEARS", "auto") if setting is None else setting
    if setting not in BACKENDS:
        raise ValueError(f"R1REPRO_CPU_LINEARS={setting!r}: expected one of {', '.join(BACKENDS)}")
    if setting != "auto":
        return setting
    return "onednn" if (cpu_vendor() if vendor is None else vendor) == "AuthenticAMD" else "mkl"


BACKEND = choose_backend()


def _pointwise(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    return _LINEAR_POINTWISE(x, w, b, "none", [], "")


class _OneDNNLinearFn(torch.autograd.Function):
    """y = x w^T + b on oneDNN, with the three gradients on oneDNN too."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return _pointwise(x, w, b)  # (..., N)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy: torch.Tensor):
        x, w = ctx.saved_tensors  # (..., K), (N, K)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _pointwise(gy, w.t(), None)  # (..., K) = gy w
        g2 = gy.reshape(-1, gy.shape[-1])  # (M, N)
        if ctx.needs_input_grad[1]:
            gw = _pointwise(g2.t(), x.reshape(-1, x.shape[-1]).t(), None)  # (N, K) = gy^T x
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = g2.sum(0)  # (N,)
        return gx, gw, gb


def _large_cpu_float32(weight: torch.Tensor) -> bool:
    """A plain float32 CPU tensor (not a subclass such as DTensor) of >= ONEDNN_MIN_WEIGHTS elements."""
    return (type(weight) in (torch.Tensor, torch.nn.Parameter) and weight.dtype == torch.float32
            and weight.device.type == "cpu" and weight.numel() >= ONEDNN_MIN_WEIGHTS)


def onednn_applies(weight: torch.Tensor) -> bool:
    """Whether a weight is one oneDNN runs: BACKEND is oneDNN, float32, CPU, a plain tensor, >= ONEDNN_MIN_WEIGHTS weights."""
    return (BACKEND == "onednn" and _LINEAR_POINTWISE is not None and _large_cpu_float32(weight)
            and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """F.linear(x, weight, bias), on oneDNN when the weight qualifies (onednn_applies) and the call
    has at least ONEDNN_MIN_MACS multiply-adds; differentiable either way."""
    if x.dtype != torch.float32 or x.numel() // max(x.shape[-1], 1) * weight.numel() < ONEDNN_MIN_MACS \
            or not onednn_applies(weight) or (bias is not None and type(bias) not in (torch.Tensor, torch.nn.Parameter)):
        return F.linear(x, weight, bias)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)):
        return _OneDNNLinearFn.apply(x, weight, bias)
    return _pointwise(x, weight, bias)


class _LinearForward:
    """An nn.Linear's forward through `linear`, reading the module's weight and bias at each call
    (FSDP swaps them around forward)."""

    def __init__(self, module: torch.nn.Linear):
        self.module = module

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.module.weight, self.module.bias)


def _linears(models, qualifies) -> list[torch.nn.Linear]:
    """The models' nn.Linear modules, each once, not patched already, whose weight qualifies."""
    return list({id(m): m for model in models if model is not None for m in model.modules()
                 if isinstance(m, torch.nn.Linear) and "forward" not in vars(m) and qualifies(m.weight)}.values())


@contextlib.contextmanager
def _patched(forwards: dict[torch.nn.Linear, object]):
    """Each module's forward is its given callable inside (an instance attribute: hooks and the module
    itself stay as they are); restored on exit, also on error."""
    for m, fwd in forwards.items():
        m.forward = fwd
    try:
        yield
    finally:
        for m in forwards:
            del m.forward


@contextlib.contextmanager
def onednn_linears(*models):
    """Inside, the models' nn.Linear modules whose weights qualify (onednn_applies) compute through
    `linear`; a no-op for the rest (GPU, other dtypes, small layers). Restored on exit, also on error."""
    with _patched({m: _LinearForward(m) for m in _linears(models, onednn_applies)}):
        yield


class _TransposedLinearForward:
    """A frozen nn.Linear's forward as x @ W^T from a contiguous copy of W^T: in linear.c's panels when
    `kernel` (panel_kernel) is given, one C call at any row count; else in column blocks (P, K, N/P), one
    batched multiply of the rows by the P blocks, which MKL runs a block a thread (P = 1: one (K, N)
    product), and from FROZEN_MAX_ROWS rows (a prefill) the module's own F.linear, which MKL runs faster
    there. The module's F.linear whenever a gradient is wanted (the copy is detached)."""

    def __init__(self, module: torch.nn.Linear, blocks: torch.Tensor, kernel: SimpleNamespace | None = None):
        self.module, self.blocks, self.kernel = module, blocks, kernel  # blocks: (P, K, N/P), or panels (N K,)

    def takes(self, rows: int) -> bool:
        """Whether `product` multiplies this many rows (else F.linear on the module's weight)."""
        return self.kernel is not None or rows < FROZEN_MAX_ROWS

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        m = self.module
        if x.dtype != torch.float32 or (torch.is_grad_enabled() and (x.requires_grad or m.weight.requires_grad)) \
                or not self.takes(x.numel() // x.shape[-1]):
            return F.linear(x, m.weight, m.bias)
        y = self.product(x.reshape(-1, x.shape[-1]))  # (P, R, N/P)
        y = (y[0] if y.shape[0] == 1 else y.transpose(0, 1)).reshape(*x.shape[:-1], m.out_features)  # (..., N)
        return y if m.bias is None else y.add_(m.bias)

    def product(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """x (R, K) @ W^T without the bias, in column blocks (P, R, N/P): block j holds columns
        j N/P ... (j+1) N/P (the native decode step takes them as they are, no reassembly; P = 1 from
        the panels); into `out` (P, R, N/P) when given."""
        if self.kernel is not None:
            r, n = x.shape[0], self.module.out_features
            x = x.contiguous()
            out = torch.empty(1, r, n) if out is None else out
            assert out.shape == (1, r, n) and out.is_contiguous() and out.dtype == torch.float32, "panel product's out"
            self.kernel.linear(x.data_ptr(), r, x.shape[1], self.blocks.data_ptr(), n, out.data_ptr())
            return out
        p = self.blocks.shape[0]
        if p > 1:
            return torch.bmm(x.expand(p, -1, -1), self.blocks, out=out)
        return torch.matmul(x, self.blocks[0], out=None if out is None else out[0])[None]


def block_product(module: torch.nn.Linear, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """x (R, K) @ module.weight^T without the bias, as column blocks (P, R, N/P): frozen_linears' copy
    where it takes R rows (into `out` when given), else one block (1, R, N) from `linear`."""
    forward = vars(module).get("forward")
    if isinstance(forward, _TransposedLinearForward) and forward.takes(x.shape[0]):
        return forward.product(x, out)
    return linear(x, module.weight)[None]


@functools.cache
def panel_kernel() -> SimpleNamespace | None:
    """r1repro/linear.c's product (linear: x, M, K, panels, N, y pointers and sizes) with its panel width
    and vector length, or None: not built (r1repro.native), or built without AVX-512 (no kernel in it)."""
    ptr, n = ctypes.c_void_p, ctypes.c_long
    sizes = native.functions("linear", restype=n, linear_panel=[], linear_vector=[])
    if sizes is None or not sizes.linear_panel():
        return None
    kernel = native.functions("linear", linear=[ptr, n, n, ptr, n, ptr])
    return SimpleNamespace(linear=kernel.linear, panel=sizes.linear_panel(), vector=sizes.linear_vector())


def pack_panels(weight: torch.Tensor, out: torch.Tensor, width: int) -> None:
    """out (N K,) = weight (N, K) in linear.c's layout: panel j = W[j width : (j+1) width]^T, (K, width)
    contiguous, one after another; the last panel narrower when width does not divide N."""
    n, k = weight.shape
    full = n // width * width
    if full:
        out[:full * k].view(n // width, k, width).copy_(weight[:full].view(n // width, width, k).transpose(1, 2))
    if full < n:
        out[full * k:].view(k, n - full).copy_(weight[full:].t())


def huge_empty(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """An uninitialised CPU tensor on its own anonymous mapping with transparent huge pages asked for
    (madvise(MADV_HUGEPAGE)): 2 MB pages, so 512x fewer page faults on first touch and TLB entries when
    streamed. Released (munmap) with the tensor. torch.empty where Python or the OS has no madvise.
    frozen_linears' 540 MB of SmolLM2-135M copies: 132,000 faults -> ~300, first touch 0.09 -> 0.04 s,
    the sampling loop +1.2% tokens/s (6 alternating pairs on the Xeon, family 6 model 207)."""
    numel = math.prod(shape)
    size = numel * dtype.itemsize
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if advice is None or size == 0:
        return torch.empty(shape, dtype=dtype)
    buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        buf.madvise(advice)
    except OSError:  # a kernel without transparent huge pages: still a fresh mapping
        pass
    return torch.frombuffer(buf, dtype=dtype, count=numel).view(shape)


def column_blocks(n: int, threads: int) -> int:
    """How many column blocks frozen_linears splits an N-column weight into: one a thread where the
    threads divide N, under SPLIT_MAX_COLUMNS columns, else 1. (frozen_linears keeps a model's LM head
    in one block whatever its width: the native decode step writes its logits as one (R, V) array.)"""
    return threads if threads > 1 and n % threads == 0 and n < SPLIT_MAX_COLUMNS else 1


@contextlib.contextmanager
def frozen_linears(*models):
    """For inference with fixed weights (the sampling loop): where BACKEND is oneDNN, onednn_linears;
    else the models' large float32 CPU nn.Linear modules multiply by transposed copies of their
    weights, made on entry into one buffer and freed on exit: linear.c's panels where panel_kernel
    runs and 16 divides the width, else MKL's column blocks (column_blocks). Restored on exit, also
    on error."""
    if BACKEND == "onednn":
        with onednn_linears(*models):
            yield
        return
    linears = _linears(models, _large_cpu_float32)
    buffer = huge_empty(sum(m.weight.numel() for m in linears))  # one mapping, returned when freed
    forwards, offset, threads, kernel = {}, 0, torch.get_num_threads(), panel_kernel()
    heads = {id(model.get_output_embeddings()) for model in models if hasattr(model, "get_output_embeddings")}
    for m in linears:
        n, k = m.weight.shape
        copy = buffer[offset:offset + n * k]
        offset += n * k
        if kernel is not None and n % kernel.vector == 0:
            pack_panels(m.weight.detach(), copy, kernel.panel)
            forwards[m] = _TransposedLinearForward(m, copy, kernel)
            continue
        p = 1 if id(m) in heads else column_blocks(n, threads)
        blocks = copy.view(p, k, n // p)
        blocks.copy_(m.weight.detach().reshape(p, n // p, k).transpose(1, 2))  # block j: W[j N/P : (j+1) N/P]^T
        forwards[m] = _TransposedLinearForward(m, blocks)
    with _patched(forwards):
        yield
