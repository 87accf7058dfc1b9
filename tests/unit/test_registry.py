import pytest

from r1repro.registry import Registry, UnknownNameError


def test_lookup_and_close_match_error():
    reg: Registry = Registry("advantage estimator")
    reg.register("rloo")(len)
    reg.register("grpo")(abs)
    assert reg["rloo"] is len
    with pytest.raises(UnknownNameError) as e:
        reg["rlo"]
    assert str(e.value) == "unknown advantage estimator 'rlo'; did you mean 'rloo'? known: grpo, rloo"
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("rloo")(min)
    assert reg.names() == ["grpo", "rloo"] and "grpo" in reg
