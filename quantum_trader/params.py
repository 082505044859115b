"""The pure core's parameters, built from the settings sections (one place maps configuration
onto :mod:`quantum_trader.core`)."""

from __future__ import annotations

from quantum_trader.core.decision import DecisionParams
from quantum_trader.core.filter import FilterParams
from quantum_trader.core.gate import GateParams
from quantum_trader.core.levels import LevelParams
from quantum_trader.core.leverage import LeverageParams
from quantum_trader.core.liquidation import DEFAULT_BRACKETS
from quantum_trader.core.shadow import ShadowCosts
from quantum_trader.core.sizing import MarketRules, SizingParams
from quantum_trader.exchange.binance_client import ConfigError, read_keys_file
from quantum_trader.runtime.clock import WallClock
from quantum_trader.settings import Settings


def decision_params(settings: Settings) -> DecisionParams:
    """The pure core's parameters from the settings sections."""
    lv, m = settings.levels, settings.market
    return DecisionParams(
        leverage=LeverageParams(
            **settings.leverage.model_dump(exclude={"symbol_risk", "symbol_risk_from"})
        ),
        levels=LevelParams(**lv.model_dump(exclude={"liq_safety"})),
        sizing=SizingParams(
            **settings.sizing.model_dump(),
            round_trip_cost=2 * (settings.paper.taker_fee + settings.paper.slippage),
            slippage=settings.paper.slippage,
        ),
        rules=MarketRules(**m.model_dump()),
        brackets=DEFAULT_BRACKETS,
        liq_safety=lv.liq_safety,
    )


def filter_params(settings: Settings) -> FilterParams:
    s = settings.signals
    return FilterParams(
        min_health_overall=settings.health.min_overall,
        min_health_source=settings.health.min_source,
        allowed_consensus=frozenset(s.allowed_consensus),
        min_confidence=s.min_confidence,
        high_vol_atr_pct=s.high_vol_atr_pct,
        high_vol_min_confidence=s.high_vol_min_confidence,
        max_positions=settings.risk.max_positions,
        sides=s.sides,
    )


def gate_params(settings: Settings) -> GateParams:
    return GateParams(**settings.edge.model_dump())


def shadow_costs(settings: Settings) -> ShadowCosts:
    """Shadow trades pay what the paper exchange charges (live: Binance's default tier)."""
    p = settings.paper
    return ShadowCosts(p.taker_fee, p.maker_fee, p.slippage)


def wall_clock(settings: Settings) -> WallClock:
    """The wall clock; against the fake exchange it may run ``time_scale`` times fast."""
    x = settings.exchange
    return WallClock(x.time_scale, x.time_origin_ms)


def api_keys(settings: Settings) -> tuple[str, str]:
    """The exchange's key and secret: from the environment, or the 0600 keys file."""
    x = settings.exchange
    if x.api_key is not None and x.api_secret is not None:
        return x.api_key.get_secret_value(), x.api_secret.get_secret_value()
    if x.keys_file is not None:
        return read_keys_file(x.keys_file)
    raise ConfigError(
        "no API keys: set QT_EXCHANGE__API_KEY and QT_EXCHANGE__API_SECRET, or exchange.keys_file"
    )


def api_password(settings: Settings) -> str | None:
    """The passphrase some venues add to key and secret (OKX, Bitget, KuCoin)."""
    pw = settings.exchange.api_password
    return pw.get_secret_value() if pw is not None else None
