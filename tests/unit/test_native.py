"""r1repro.native: C kernels built once per machine, cached, and None (with a warning) where they cannot be."""

import pytest

from r1repro import native


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(native, "CACHE", tmp_path)
    native.library.cache_clear()
    yield tmp_path
    native.library.cache_clear()


def test_a_kernel_is_built_once_and_loaded_from_the_cache(fresh):
    lib = native.library("rollout/decode")
    if lib is None:
        pytest.skip("no C compiler here")
    built = list((fresh / "native").glob("decode-*.so"))
    assert len(built) == 1 and hasattr(lib, "r1_attention")
    stamp = built[0].stat().st_mtime_ns
    native.library.cache_clear()
    assert native.library("rollout/decode") is not None
    assert [p.stat().st_mtime_ns for p in (fresh / "native").glob("*")] == [stamp]  # not rebuilt, no temporaries left


def test_no_compiler_means_none_and_a_warning(fresh, monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-r1repro")
    with pytest.warns(UserWarning, match="no C compiler 'no-such-compiler-r1repro'"):
        assert native.library("rollout/decode") is None


def test_a_build_error_names_the_file_and_leaves_nothing(fresh, monkeypatch):
    monkeypatch.setenv("CC", "false")  # a "compiler" that fails
    with pytest.warns(UserWarning, match="decode.c not built"):
        assert native.library("rollout/decode") is None
    assert not list((fresh / "native").glob("*"))


def test_switched_off(fresh, monkeypatch):
    monkeypatch.setenv("R1REPRO_NATIVE", "0")
    assert native.library("rollout/decode") is None


def test_functions_are_typed_and_none_where_not_built(fresh, monkeypatch):
    import ctypes

    sizes = native.functions("linear", restype=ctypes.c_long, linear_panel=[], linear_vector=[])
    if sizes is None:
        pytest.skip("no C compiler here")
    assert sizes.linear_panel.restype is ctypes.c_long and sizes.linear_panel.argtypes == []
    assert (sizes.linear_panel(), sizes.linear_vector()) in ((48, 16), (0, 0))  # AVX-512's panels, or no kernel
    monkeypatch.setenv("R1REPRO_NATIVE", "0")
    native.library.cache_clear()
    assert native.functions("linear", linear_panel=[]) is None
