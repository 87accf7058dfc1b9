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
