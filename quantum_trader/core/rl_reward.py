"""The RL sizer's state and reward (SPEC §7), pure.

    state  = (confidence, volatility, pnl_trend, exchange_divergence, funding_rate, margin_util)
    reward = roe_sized × confidence − 0.005 × |leverage − target_leverage|
             − 0.002 × divergence + 0.003 × sign(pnl_trend)

``roe_sized = multiplier × roe`` is the trade's return on the *base* margin. The SPEC's plain ROE
(PnL / margin) does not change with the size multiplier, so a reward built on it would carry no
signal about the sizer's one decision; scaling by the multiplier keeps the SPEC's terms and makes
the reward answer "was this size right?". ``target_leverage`` is ILFv2's own whole leverage; the
difference is what the liquidation guard or the bracket took away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from quantum_trader.core.checks import finite, in_range
from quantum_trader.core.errors import InvalidInput

STATE_SIZE = 6
STATE_NAMES = ("confidence", "volatility", "pnl_trend", "divergence", "funding_rate", "margin_util")


def check_state(state: Sequence[float]) -> tuple[float, ...]:
    if len(state) != STATE_SIZE:
        raise InvalidInput("state", f"expected {STATE_SIZE} values, got {len(state)}")
    return tuple(finite(f"state.{name}", v) for name, v in zip(STATE_NAMES, state, strict=True))


def sizing_reward(
    roe: float,
    multiplier: float,
    confidence: float,
    leverage: float,
    target_leverage: float,
    divergence: float,
    pnl_trend: float,
) -> float:
    trend = finite("pnl_trend", pnl_trend)
    sign = 1.0 if trend > 0 else -1.0 if trend < 0 else 0.0
    return (
        finite("roe", roe)
        * in_range("multiplier", multiplier, 0.0, 10.0)
        * in_range("confidence", confidence, 0.0, 1.0)
        - 0.005 * abs(finite("leverage", leverage) - finite("target_leverage", target_leverage))
        - 0.002 * finite("divergence", divergence)
        + 0.003 * sign
    )


def zscore(values: Sequence[float]) -> list[float]:
    n = len(values)
    if n == 0:
        return []
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / n
    std = math.sqrt(var)
    return [(v - mean) / std if std > 1e-12 else 0.0 for v in values]
