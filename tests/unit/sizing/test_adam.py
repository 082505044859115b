"""The sizer's Adam is torch.optim.Adam's update to the bit, reads and writes its state dict, and
training with it imports no compiler (torch.optim's first use imports torch._dynamo: 1.4 s)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

from quantum_trader.sizing.adam import Adam  # noqa: E402
from quantum_trader.sizing.learner import ADAM_EPS, ValueBaseline  # noqa: E402
from quantum_trader.sizing.policy import SizerPolicy  # noqa: E402


def _train(net: torch.nn.Module, opt: object, steps: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.rand(64, 6, generator=g) * 2
        y = torch.rand(64, generator=g)
        loss = ((net(x).reshape(-1) - y) ** 2).mean()
        opt.zero_grad()  # type: ignore[attr-defined]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()  # type: ignore[attr-defined]


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("make", [SizerPolicy, ValueBaseline])
def test_steps_equal_torch_optim_adam_to_the_bit(make: type) -> None:
    ours, theirs = make(3), make(3)
    assert _same(ours, theirs)
    _train(ours, Adam(ours.parameters(), lr=1e-3, eps=ADAM_EPS), 60, seed=1)
    _train(theirs, torch.optim.Adam(theirs.parameters(), lr=1e-3, eps=ADAM_EPS), 60, seed=1)
    assert _same(ours, theirs)
    assert not _same(ours, make(3))  # it did train


def test_state_dicts_load_both_ways_and_training_goes_on_the_same() -> None:
    start = SizerPolicy(4)
    _train(start, torch.optim.Adam(start.parameters(), lr=1e-3, eps=ADAM_EPS), 1, seed=0)
    a, b = SizerPolicy(4), SizerPolicy(4)
    a.load_state_dict(start.state_dict())
    b.load_state_dict(start.state_dict())
    torch_opt = torch.optim.Adam(a.parameters(), lr=1e-3, eps=ADAM_EPS)
    _train(a, torch_opt, 20, seed=2)  # torch's state after 20 steps ...
    ours = Adam(b.parameters(), lr=5e-1, eps=1.0)
    b.load_state_dict(a.state_dict())
    ours.load_state_dict(torch_opt.state_dict())  # ... read by ours (lr and ε too)
    assert (ours.lr, ours.eps) == (1e-3, ADAM_EPS)
    back = torch.optim.Adam(a.parameters(), lr=1e-3, eps=ADAM_EPS)
    back.load_state_dict(ours.state_dict())  # ... and ours read by torch
    _train(a, back, 20, seed=3)
    _train(b, ours, 20, seed=3)
    assert _same(a, b)


def test_a_state_for_other_parameters_is_refused_and_changes_nothing() -> None:
    net = SizerPolicy(0)
    opt = Adam(net.parameters(), lr=1e-3, eps=ADAM_EPS)
    _train(net, opt, 2, seed=0)
    before = opt.state_dict()
    other = ValueBaseline(0)
    foreign = Adam(other.parameters(), lr=1e-3, eps=ADAM_EPS)
    _train(other, foreign, 1, seed=0)
    with pytest.raises((ValueError, KeyError, TypeError)):
        opt.load_state_dict(foreign.state_dict())
    assert all(
        torch.equal(before["state"][i]["exp_avg"], s["exp_avg"]) for i, s in opt.state.items()
    )


def test_training_the_sizer_imports_no_compiler() -> None:
    code = textwrap.dedent(
        """
        import sys
        from quantum_trader.sizing.trainer import Trainer
        from quantum_trader.sizing.state import Experience
        t = Trainer(seed=0, lr=1e-3, sigma=0.25, epochs=2)
        batch = [Experience((0.7, 1.0, 0.0, 0.0, 0.0, 0.1), 1.0 + i / 100, (-1) ** i, -0.5)
                 for i in range(40)]
        t.adopt(*t.train_copy(batch)[:2])
        print("torch._dynamo" in sys.modules, "torch" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]
