"""The trade intent (SPEC §10 ``trade.intent``): a validated decision to open a position, with
the plan that made it."""

from __future__ import annotations

from dataclasses import dataclass

from quantum_trader.core.checks import in_range, non_negative, positive
from quantum_trader.core.decision import Decision
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Regime, Side, check_symbol, check_ts


@dataclass(frozen=True, slots=True)
class TradeIntent:
    """A validated decision to open a position (SPEC §10 ``trade.intent``).

    ``stop_loss`` and ``take_profit`` are absolute prices; ``plan`` is the decision behind them,
    whole (:class:`~quantum_trader.core.decision.Decision`): execution places exactly it. An
    intent from outside (a mapping through :func:`~quantum_trader.core.edge.parse_trade_intent`)
    has no plan: execution plans it with :func:`~quantum_trader.core.decision.decide`, its
    leverage and margin as given. A plan that disagrees with the intent's own fields is refused
    here, so the two can never differ silently.
    """

    intent_id: str
    ts: int
    symbol: str
    side: Side
    confidence: float
    entry_price: float
    stop_loss: float
    take_profit: float
    margin_usd: float
    leverage: float
    atr_value: float
    volatility: float
    exchange_divergence: float
    funding_rate: float
    regime: Regime
    source: str
    reason: str
    voters: tuple[str, ...] = ()  # the models that voted for this side (attribution)
    plan: Decision | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.intent_id, str) or not self.intent_id.strip():
            raise InvalidInput("intent_id", f"expected a non-empty string, got {self.intent_id!r}")
        check_ts("ts", self.ts)
        check_symbol("symbol", self.symbol)
        in_range("confidence", self.confidence, 0.0, 1.0)
        entry = positive("entry_price", self.entry_price)
        sl = positive("stop_loss", self.stop_loss)
        tp = positive("take_profit", self.take_profit)
        positive("margin_usd", self.margin_usd)
        in_range("leverage", self.leverage, 1.0, 125.0)
        non_negative("atr_value", self.atr_value)
        in_range("volatility", self.volatility, 0.0, 100.0)
        in_range("exchange_divergence", self.exchange_divergence, 0.0, 1.0)
        in_range("funding_rate", self.funding_rate, -1.0, 1.0)
        if self.side is Side.LONG and not sl < entry < tp:
            raise InvalidInput(
                "stop_loss",
                f"LONG needs stop_loss < entry_price < take_profit, got {sl}/{entry}/{tp}",
            )
        if self.side is Side.SHORT and not tp < entry < sl:
            raise InvalidInput(
                "stop_loss",
                f"SHORT needs take_profit < entry_price < stop_loss, got {tp}/{entry}/{sl}",
            )
        if self.plan is not None:
            _check_plan(self, self.plan)

    @property
    def atr_pct(self) -> float | None:
        """ATR / entry price (None when the intent gives no ATR)."""
        return self.atr_value / self.entry_price if self.atr_value else None


def _check_plan(intent: TradeIntent, plan: Decision) -> None:
    if not plan.accepted or plan.prices is None or plan.sizing is None:
        raise InvalidInput("plan", f"a refused plan cannot be an intent: {plan.refused}")
    mine = (intent.side, float(intent.leverage), intent.stop_loss, intent.take_profit,
            intent.margin_usd)  # fmt: skip
    its = (plan.inputs.side, float(plan.leverage), plan.prices.sl, plan.prices.tp1,
           plan.sizing.margin)  # fmt: skip
    if mine != its:
        raise InvalidInput(
            "plan", f"intent (side, leverage, stop, tp1, margin) {mine} differs from its plan {its}"
        )
