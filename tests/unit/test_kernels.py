"""oneDNN linear layers: F.linear's values and gradients, the gates, and the module patch restored; frozen_linears'
transposed copies (MKL's column blocks, linear.c's panels)."""

import pytest
import torch

from r1repro import kernels
from r1repro.kernels import frozen_linears, linear, onednn_linears

needs_panels = pytest.mark.skipif(kernels.panel_kernel() is None,
                                  reason="linear.c has no kernel here (no C compiler, or no AVX-512)")
needs_onednn = pytest.mark.skipif(kernels._LINEAR_POINTWISE is None or not torch.backends.mkldnn.is_available(),
                                  reason="this torch has no oneDNN linear")


class TwoLinears(torch.nn.Module):
    def __init__(self, dtype=torch.float32, bias=False):
        super().__init__()
        self.proj = torch.nn.Linear(8, 300, bias=bias, dtype=dtype)
        self.head = torch.nn.Linear(300, 40, bias=bias, dtype=dtype)


@pytest.fixture
def everything_on_onednn(monkeypatch):
    return _everything_on_onednn(monkeypatch)


def _everything_on_onednn(monkeypatch):
    """oneDNN chosen, gates at 0 (the tests' layers are small) and a count of the oneDNN calls."""
    monkeypatch.setattr(kernels, "BACKEND", "onednn")
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    monkeypatch.setattr(kernels, "ONEDNN_MIN_MACS", 0)
    calls = []
    op = kernels._LINEAR_POINTWISE
    monkeypatch.setattr(kernels, "_LINEAR_POINTWISE", lambda *a: calls.append(a[0].shape) or op(*a))
    return calls


@needs_onednn
@pytest.mark.parametrize("bias", [False, True])
def test_linear_values_and_gradients_equal_f_linear(bias, everything_on_onednn):
    torch.manual_seed(0)
    x = torch.randn(3, 5, 24, dtype=torch.float32, requires_grad=True)  # (B, T, K)
    w = torch.randn(40, 24, requires_grad=True)  # (N, K)
    b = torch.randn(40, requires_grad=True) if bias else None
    gy = torch.randn(3, 5, 40)
    got = linear(x, w, b)
    grads = torch.autograd.grad(got, [x, w] + ([b] if bias else []), gy)
    assert len(everything_on_onednn) == 3  # forward, the input's and the weight's gradients
    want = torch.nn.functional.linear(x, w, b)
    want_grads = torch.autograd.grad(want, [x, w] + ([b] if bias else []), gy)
    assert torch.allclose(got, want, atol=1e-5)
    for g, h in zip(grads, want_grads, strict=True):
        assert torch.allclose(g, h, atol=1e-4)


@needs_onednn
def test_linear_takes_strided_views_and_frozen_weights(everything_on_onednn):
    x = torch.randn(24, 6).t().requires_grad_()  # (6, 24), not contiguous
    w = torch.randn(10, 48)[:, ::2]  # (10, 24), every other column
    gx, = torch.autograd.grad(linear(x, w).sum(), x)  # a frozen weight (LoRA's base layer): no weight gradient
    assert len(everything_on_onednn) == 2
    want, = torch.autograd.grad(torch.nn.functional.linear(x, w).sum(), x)
    assert torch.allclose(gx, want, atol=1e-5)


def test_backend_goes_by_the_setting_then_the_vendor():
    assert kernels.choose_backend("auto", "AuthenticAMD") == "onednn"  # MKL runs AVX2 code on AMD
    assert kernels.choose_backend("auto", "GenuineIntel") == "mkl"
    assert kernels.choose_backend("auto", "") == "mkl"  # no /proc/cpuinfo (macOS, Arm)
    assert kernels.choose_backend("onednn", "GenuineIntel") == "onednn"
    assert kernels.choose_backend("mkl", "AuthenticAMD") == "mkl"
    with pytest.raises(ValueError, match="R1REPRO_CPU_LINEARS='mlk'"):
        kernels.choose_backend("mlk", "AuthenticAMD")


def test_linear_gates(monkeypatch):
    monkeypatch.setattr(kernels, "BACKEND", "onednn")
    calls = []
    op = kernels._LINEAR_POINTWISE
    monkeypatch.setattr(kernels, "_LINEAR_POINTWISE", lambda *a: calls.append(1) or op(*a))
    x = torch.randn(4, 8)
    linear(x, torch.randn(300, 8))  # 2,400 weights: below ONEDNN_MIN_WEIGHTS
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    linear(x, torch.randn(300, 8))  # 9,600 multiply-adds: below ONEDNN_MIN_MACS
    monkeypatch.setattr(kernels, "ONEDNN_MIN_MACS", 0)
    linear(x.double(), torch.randn(300, 8, dtype=torch.float64))  # float64
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
    linear(x, torch.randn(300, 8))  # oneDNN switched off
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", True)
    monkeypatch.setattr(kernels, "BACKEND", "mkl")
    linear(x, torch.randn(300, 8))  # MKL chosen (an Intel CPU)
    monkeypatch.setattr(kernels, "BACKEND", "onednn")
    assert calls == []
    if op is not None and torch.backends.mkldnn.is_available():
        linear(x, torch.randn(300, 8))
        assert calls == [1]


@needs_onednn
@pytest.mark.parametrize("bias", [False, True])
def test_onednn_linears_patch_the_modules_and_restore_them(bias, everything_on_onednn):
    model = TwoLinears(bias=bias)
    x = torch.randn(5, 1, 8)  # (R, 1, K): a decode step's activations
    want = model.head(model.proj(x))
    with onednn_linears(model, model):  # twice (LoRA's reference model is the policy): patched once
        assert "forward" in vars(model.proj) and "forward" in vars(model.head)
        got = model.head(model.proj(x))
        got.sum().backward()
    assert len(everything_on_onednn) == 5  # two forwards; backward: the head's gx and gw, proj's gw (x is data)
    assert torch.allclose(got, want, atol=1e-5)
    assert "forward" not in vars(model.proj) and "forward" not in vars(model.head)
    with pytest.raises(RuntimeError), onednn_linears(model):
        raise RuntimeError("a failed step")
    assert "forward" not in vars(model.proj)  # restored after an error too


def test_onednn_linears_leave_small_layers_and_other_dtypes_alone(monkeypatch):
    monkeypatch.setattr(kernels, "BACKEND", "onednn")
    small = TwoLinears()  # 2,400 and 12,000 weights, below ONEDNN_MIN_WEIGHTS
    with onednn_linears(small):
        assert "forward" not in vars(small.proj) and "forward" not in vars(small.head)
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    bf16 = TwoLinears(dtype=torch.bfloat16)
    with onednn_linears(bf16, None):
        assert "forward" not in vars(bf16.proj)
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
    with onednn_linears(small):
        assert "forward" not in vars(small.proj)
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", True)
    monkeypatch.setattr(kernels, "BACKEND", "mkl")
    with onednn_linears(small):
        assert "forward" not in vars(small.proj)


@needs_onednn
def test_a_models_log_probs_and_gradients_through_onednn_equal_mkls(monkeypatch):
    # a small Llama through the training path (token_logprobs: the chunked LM head calls `linear`)
    import transformers

    from r1repro.models import token_logprobs

    cfg = transformers.LlamaConfig(vocab_size=64, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                                   num_attention_heads=6, num_key_value_heads=2)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa")
    ids = torch.randint(1, 64, (3, 10))
    mask = torch.ones_like(ids)
    loss_mask = torch.zeros_like(ids)
    loss_mask[:, 4:] = 1

    def run():
        model.zero_grad(set_to_none=True)
        logp, _ = token_logprobs(model, ids, mask, loss_mask, chunk_size=8)
        logp.sum().backward()
        return logp.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}

    want, want_grads = run()  # MKL everywhere: the layers are below the gates
    calls = _everything_on_onednn(monkeypatch)
    with onednn_linears(model):
        got, grads = run()
    assert len(calls) > 2 * 7 * 3  # 7 projections a layer: forward, input and weight gradients; the LM head
    assert torch.allclose(got, want, atol=1e-5)
    for n, g in grads.items():
        assert torch.allclose(g, want_grads[n], atol=1e-5, rtol=1e-4), n


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_frozen_linears_multiply_by_transposed_column_blocks_in_one_buffer(bias, threads, monkeypatch):
    monkeypatch.setattr(kernels, "BACKEND", "mkl")
    monkeypatch.setattr(kernels, "panel_kernel", lambda: None)  # no AVX-512 kernel: MKL's column blocks
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    model = TwoLinears(bias=bias)  # proj 8 -> 300 columns, head 300 -> 40
    x = torch.randn(5, 1, 8)
    with torch.no_grad():
        want = model.head(model.proj(x))
        with frozen_linears(model, model):
            proj, head = vars(model.proj)["forward"], vars(model.head)["forward"]
            # a block a thread where the threads divide the columns: 300 by 1, 2 and 3, 40 by 1 and 2
            assert proj.blocks.shape == (threads, 8, 300 // threads) and proj.blocks.is_contiguous()
            assert head.blocks.shape == ((1, 300, 40) if threads == 3 else (threads, 300, 40 // threads))
            for f, w in ((proj, model.proj.weight), (head, model.head.weight)):
                p, _, nb = f.blocks.shape
                assert all(torch.equal(f.blocks[j], w[j * nb:(j + 1) * nb].t()) for j in range(p))
            assert proj.blocks.untyped_storage().data_ptr() == head.blocks.untyped_storage().data_ptr()  # one buffer
            got = model.head(model.proj(x))
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5)
    assert "forward" not in vars(model.proj) and "forward" not in vars(model.head)


def test_frozen_linears_keep_the_lm_head_whole(monkeypatch):
    monkeypatch.setattr(kernels, "SPLIT_MAX_COLUMNS", 300)
    assert kernels.column_blocks(300, 2) == 1 and kernels.column_blocks(298, 2) == 2 and kernels.column_blocks(298, 1) == 1
    # a model's output embeddings stay one block whatever their width (the native step's logits are one array)
    monkeypatch.setattr(kernels, "SPLIT_MAX_COLUMNS", 16384)
    monkeypatch.setattr(kernels, "BACKEND", "mkl")
    monkeypatch.setattr(kernels, "panel_kernel", lambda: None)
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    model = TwoLinears()  # proj 8 -> 300 and head 300 -> 40: 2 blocks each as plain layers
    model.get_output_embeddings = lambda: model.head
    with torch.no_grad(), frozen_linears(model):
        assert vars(model.proj)["forward"].blocks.shape[0] == 2 and vars(model.head)["forward"].blocks.shape == (1, 300, 40)


@pytest.mark.parametrize("panels", [False, True])
def test_frozen_linears_leave_gradients_and_other_layers_to_f_linear(panels, monkeypatch):
    monkeypatch.setattr(kernels, "BACKEND", "mkl")
    if not panels:
        monkeypatch.setattr(kernels, "panel_kernel", lambda: None)
    elif kernels.panel_kernel() is None:
        pytest.skip("linear.c has no kernel here")
    small = TwoLinears()  # below ONEDNN_MIN_WEIGHTS
    with frozen_linears(small):
        assert "forward" not in vars(small.proj)
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    model = TwoLinears()
    x = torch.randn(4, 8)
    with frozen_linears(model):
        model.head(model.proj(x)).sum().backward()  # grad enabled: the copy is detached, F.linear runs
        assert model.proj.weight.grad is not None and model.proj.weight.grad.abs().sum() > 0
        model.proj.weight.data.zero_()  # a weight changed inside the context is not seen by the copy
        with torch.no_grad():
            assert model.proj(x).abs().sum() > 0
    with pytest.raises(RuntimeError), frozen_linears(model):
        raise RuntimeError("a failed sample")
    assert "forward" not in vars(model.proj)  # restored after an error too


def test_frozen_linears_run_f_linear_from_frozen_max_rows(monkeypatch):
    monkeypatch.setattr(kernels, "BACKEND", "mkl")
    monkeypatch.setattr(kernels, "panel_kernel", lambda: None)
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    monkeypatch.setattr(kernels, "FROZEN_MAX_ROWS", 4)
    model = TwoLinears()
    with torch.no_grad(), frozen_linears(model):
        x = torch.randn(2, 2, 8)  # 4 rows: F.linear on the module's weight
        assert torch.equal(model.proj(x), torch.nn.functional.linear(x, model.proj.weight, model.proj.bias))
        model.proj.weight.zero_()  # the copies keep the old weight; F.linear reads the new one
        assert model.proj(x).abs().sum() == 0
        assert model.proj(torch.randn(3, 8)).abs().sum() > 0  # 3 rows: the transposed copy


@needs_onednn
def test_frozen_linears_are_onednn_where_it_is_the_backend(everything_on_onednn):
    model = TwoLinears()
    with torch.no_grad(), frozen_linears(model):
        assert isinstance(vars(model.proj)["forward"], kernels._LinearForward)
        model.head(model.proj(torch.randn(5, 8)))
    assert len(everything_on_onednn) == 2 and "forward" not in vars(model.proj)


def test_huge_empty_is_a_writable_tensor_of_the_shape():
    t = kernels.huge_empty(3, 4)
    assert t.shape == (3, 4) and t.dtype == torch.float32 and t.is_contiguous()
    t.fill_(1.5)
    assert t.sum().item() == 18.0
    ids = kernels.huge_empty(5, dtype=torch.int64)
    ids.copy_(torch.arange(5))
    assert ids.tolist() == [0, 1, 2, 3, 4]
    assert kernels.huge_empty(0, 7).shape == (0, 7)


def test_pack_panels_lays_out_each_panel_as_its_columns_transposed():
    w = torch.arange(15.0).view(5, 3)  # (N 5, K 3), panels of 2 columns: W[0:2]^T, W[2:4]^T, W[4:5]^T
    out = torch.empty(15)
    kernels.pack_panels(w, out, 2)
    want = [0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11, 12, 13, 14]
    assert out.tolist() == want


def _panel_product(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    kernel = kernels.panel_kernel()
    packed = torch.empty(w.numel())
    kernels.pack_panels(w, packed, kernel.panel)
    y = torch.full((x.shape[0], w.shape[0]), float("nan"))
    kernel.linear(x.data_ptr(), x.shape[0], x.shape[1], packed.data_ptr(), w.shape[0], y.data_ptr())
    return y


@needs_panels
@pytest.mark.parametrize("n", [16, 48, 80, 96, 128, 400])  # 48-column panels: 0, 1 or 2 full ones, tails 16 or 32
@pytest.mark.parametrize("k", [1, 7, 64])
def test_panel_product_equals_f_linear(n, k):
    torch.manual_seed(n * k)
    w = torch.randn(n, k)
    for m in (1, 5, 8, 13, 17, 40):  # 8-row tiles: tails of 1-7 rows, one to five row blocks
        x = torch.randn(m, k)
        y = _panel_product(x, w)
        assert torch.allclose(y, torch.nn.functional.linear(x, w), rtol=1e-5, atol=1e-5), (n, k, m)


@needs_panels
def test_panel_product_of_a_row_does_not_depend_on_its_batch_or_the_threads():
    torch.manual_seed(0)
    w, x = torch.randn(400, 64), torch.randn(21, 64)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _panel_product(x, w)
        torch.set_num_threads(2)
        two = _panel_product(x, w)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)
    assert all(torch.equal(_panel_product(x[i:i + 1], w)[0], two[i]) for i in (0, 9, 20))  # alone vs in a tile


@needs_panels
@pytest.mark.parametrize("bias", [False, True])
def test_frozen_linears_multiply_by_panels_where_linear_c_runs(bias, monkeypatch):
    monkeypatch.setattr(kernels, "BACKEND", "mkl")
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    monkeypatch.setattr(kernels, "FROZEN_MAX_ROWS", 4)  # not for panels: they take every row count
    model = TwoLinears(bias=bias)
    model.head = torch.nn.Linear(300, 64, bias=bias)  # 64 columns (a multiple of 16); proj's 300 are not
    x = torch.randn(5, 1, 8)
    with torch.no_grad():
        want = model.head(model.proj(x))
        with frozen_linears(model):
            proj, head = vars(model.proj)["forward"], vars(model.head)["forward"]
            assert proj.kernel is None and proj.blocks.dim() == 3  # MKL's column blocks
            assert head.kernel is not None and head.blocks.shape == (300 * 64,) and head.takes(10**6)
            got = model.head(model.proj(x))
            blocks = kernels.block_product(model.head, model.proj(x).view(5, 300))
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5)
    assert blocks.shape == (1, 5, 64) and torch.allclose(blocks[0] + (model.head.bias if bias else 0), want.view(5, 64),
                                                          atol=1e-5)
