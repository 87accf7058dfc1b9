"""KL estimators, entropy and KL-in-reward on hand-computed numbers."""

import math

import pytest
import torch

from r1repro.algos.kl import KL_ESTIMATORS, entropy_from_logits, kl_penalized_rewards

F64 = torch.float64
LOGP = torch.tensor([[-1.0, -2.0, -1.0]], dtype=F64)
REF = torch.tensor([[-1.0, -1.0, -2.0]], dtype=F64)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("k1", [0.0, -1.0, 1.0]),  # logp - ref
        ("k2", [0.0, 0.5, 0.5]),  # 0.5 * (logp - ref)^2
        # d = ref - logp = [0, 1, -1]; e^d - d - 1 = [0, e - 2, e^-1]
        ("k3", [0.0, math.e - 2.0, math.exp(-1.0)]),
    ],
)
def test_estimators_hand_computed(name, expected):
    out = KL_ESTIMATORS[name](LOGP, REF)
    assert torch.allclose(out, torch.tensor([expected], dtype=F64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", ["k1", "k2", "k3"])
def test_equal_logps_give_zero(name):
    x = torch.tensor([[-0.3, -7.0]])
    assert torch.equal(KL_ESTIMATORS[name](x, x.clone()), torch.zeros(1, 2))


@pytest.mark.parametrize("name", ["k1", "k3"])
def test_unbiased_estimators_exact_expectation(name):
    # pi = [.5, .25, .25], ref = [.25, .25, .5]; KL(pi || ref) = .5 ln 2 + 0 + .25 ln .5 = .25 ln 2
    pi = torch.tensor([0.5, 0.25, 0.25], dtype=F64)
    ref = torch.tensor([0.25, 0.25, 0.5], dtype=F64)
    per_token = KL_ESTIMATORS[name](pi.log()[None], ref.log()[None])[0]  # (3,)
    assert (pi * per_token).sum().item() == pytest.approx(0.25 * math.log(2), abs=1e-12)


def test_k3_nonnegative():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 9, generator=g), torch.randn(4, 9, generator=g)
    assert (KL_ESTIMATORS["k3"](a, b) >= 0).all()


def test_entropy_from_logits():
    # p = [.5, .25, .25]: H = .5 ln 2 + 2 * .25 ln 4 = 1.5 ln 2
    logits = torch.tensor([[0.5, 0.25, 0.25]], dtype=F64).log() + 3.0  # shift does not matter
    assert entropy_from_logits(logits).item() == pytest.approx(1.5 * math.log(2), abs=1e-12)
    # uniform over 8: ln 8; bf16 input computed (and returned) in float32
    h = entropy_from_logits(torch.zeros(2, 3, 8, dtype=torch.bfloat16))
    assert h.dtype == torch.float32 and h.shape == (2, 3)
    assert torch.allclose(h, torch.full((2, 3), math.log(8)))


def test_kl_penalized_rewards():
    rewards = torch.tensor([1.0, 0.0], dtype=F64)
    kl = torch.tensor([[0.1, 0.2, 9.0], [0.3, 9.0, 9.0]], dtype=F64, requires_grad=True)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    out = kl_penalized_rewards(rewards, kl, mask, coef=0.5)
    # 1 - .5 * (.1 + .2) = .85 ; 0 - .5 * .3 = -.15 ; the 9s are masked
    assert torch.allclose(out, torch.tensor([0.85, -0.15], dtype=F64), atol=1e-12, rtol=0)
    assert not out.requires_grad  # the penalty is a reward: no gradient through kl


def test_registry_names():
    assert KL_ESTIMATORS.names() == ["k1", "k2", "k3"]


def test_in_loss_gradient_directions_documented_in_module():
    # on-policy expected gradient of each estimator used as a loss: sum_x pi(x) (no grad) * grad k(x)
    theta = torch.tensor([0.3, -0.2, 0.9], dtype=F64, requires_grad=True)
    ref = torch.log_softmax(torch.tensor([0.0, 0.5, -0.4], dtype=F64), -1)
    logp = torch.log_softmax(theta, -1)
    pi = logp.exp().detach()

    def grad(value):
        return torch.autograd.grad(value, theta, retain_graph=True)[0]

    fwd_kl = grad((logp.exp() * (logp - ref)).sum())  # grad KL(pi || ref)
    rev_kl = grad((ref.exp() * (ref - logp)).sum())  # grad KL(ref || pi)
    k = {n: grad((pi * KL_ESTIMATORS[n](logp[None], ref[None])[0]).sum()) for n in ("k1", "k2", "k3")}
    assert torch.allclose(k["k1"], torch.zeros(3, dtype=F64), atol=1e-12)  # no KL gradient at all
    assert torch.allclose(k["k2"], fwd_kl, atol=1e-12)
    assert torch.allclose(k["k3"], rev_kl, atol=1e-12)
    assert not torch.allclose(fwd_kl, rev_kl, atol=1e-3)  # the two directions really differ here
