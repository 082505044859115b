"""Adam for the sizer's two small nets, written out.

``torch.optim``'s first use imports torch's compiler (``torch._dynamo``, and with it sympy,
inductor and the distributed tensors): 1.4 s and ~70 MB once per process, for nothing the sizer
uses — every ``torch.optim`` optimizer wraps its methods in a compiler guard that imports it. This
is ``torch.optim.Adam``'s single-tensor update (no AMSGrad, no weight decay) op for op, so its
steps equal torch's to the bit (a test holds them equal), and its state dict has torch's layout,
so a checkpoint written by either loads in the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch


class Adam:
    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float,
        eps: float,
        betas: tuple[float, float] = (0.9, 0.999),
    ) -> None:
        self.params = list(params)
        self.lr, self.eps, self.betas = lr, eps, betas
        self.state: dict[int, dict[str, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        for i, p in enumerate(self.params):
            grad = p.grad
            if grad is None:
                continue
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = {
                    "step": torch.tensor(0.0),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            state["step"] += 1
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step = state["step"].item()
            step_size = self.lr / (1 - beta1**step)
            denom = (exp_avg_sq.sqrt() / (1 - beta2**step) ** 0.5).add_(self.eps)
            p.addcdiv_(exp_avg, denom, value=-step_size)

    def state_dict(self) -> dict[str, Any]:
        group = {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": 0.0,
                 "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                 "differentiable": False, "fused": None, "decoupled_weight_decay": False,
                 "params": list(range(len(self.params)))}  # fmt: skip
        state = {i: {k: v.clone() for k, v in s.items()} for i, s in self.state.items()}
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        """torch's layout (one group); a state that does not fit these parameters is refused
        (ValueError, KeyError or TypeError) and nothing is changed."""
        (group,) = saved["param_groups"]
        if len(group["params"]) != len(self.params):
            raise ValueError(f"{len(group['params'])} parameters saved, {len(self.params)} here")
        if group.get("amsgrad") or group.get("weight_decay"):
            raise ValueError("AMSGrad or weight decay: not this optimizer's update")
        state: dict[int, dict[str, torch.Tensor]] = {}
        for i, s in saved["state"].items():
            if not 0 <= int(i) < len(self.params):
                raise ValueError(f"a state for parameter {i} of {len(self.params)}")
            p = self.params[int(i)]
            moments = (s["exp_avg"], s["exp_avg_sq"])
            if any(not isinstance(m, torch.Tensor) or m.shape != p.shape for m in moments):
                raise ValueError(f"parameter {i}: moments of another shape")
            state[int(i)] = {
                "step": torch.tensor(float(s["step"])),
                "exp_avg": moments[0].detach().clone().to(p.dtype),
                "exp_avg_sq": moments[1].detach().clone().to(p.dtype),
            }
        beta1, beta2 = group["betas"]
        self.lr, self.eps, self.betas = float(group["lr"]), float(group["eps"]), (beta1, beta2)
        self.state = state
