"""Settings: one pydantic-settings root with frozen, ``extra="forbid"`` sections.

Precedence, highest first: environment ``QT_SECTION__KEY`` → the TOML file (``--config`` or
``QT_CONFIG``) → the defaults embedded here, which ``config/qtrader.toml`` restates with comments.
Each component receives its own section; :mod:`quantum_trader.params` maps them onto the pure core.
"""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.levels import LevelParams
from quantum_trader.core.leverage import LeverageParams
from quantum_trader.core.types import Consensus

EX_CONFIG = 78  # sysexits.h: configuration error; systemd's RestartPreventExitStatus
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("qtrader_config_file", default=None)


class Section(BaseModel):
    """A config section: unknown keys, infinities and NaN are errors, and so is ``true`` where a
    number is wanted (lax parsing would read it as 1 — e.g. loosen the liquidation guard)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            if _wants_a_number(cls.model_fields[info.field_name].annotation):
                raise ValueError(f"a number is needed here, not {str(value).lower()}")
        return value


def _wants_a_number(annotation: Any) -> bool:
    """An int or float field (or a union holding one) that does not also take a bool."""
    kinds = set(typing.get_args(annotation)) if typing.get_args(annotation) else {annotation}
    return bool(kinds & {int, float}) and bool not in kinds


def _core_check(build: Any) -> None:
    """Run a core constructor so cross-field rules surface as config errors."""
    try:
        build()
    except InvalidInput as exc:
        raise ValueError(f"{exc.field.split('.')[-1]}: {exc.problem}") from None


class ExchangeSettings(Section):
    mode: Literal["paper", "testnet", "live"] = "paper"
    #: any ccxt venue whose ``has`` covers what the daemon needs (exchange/venues.py)
    exchange_id: str = "binanceusdm"
    #: ``generic``: ccxt's unified API only, even where a venue adapter exists (Binance)
    adapter: Literal["auto", "generic"] = "auto"
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    api_password: SecretStr | None = None  # the passphrase some venues add (OKX, Bitget, KuCoin)
    keys_file: Path | None = None
    url_override: str | None = None  # loopback only: the fake exchange server in tests
    timeout_ms: int = Field(10_000, ge=100, le=120_000)
    recv_window_ms: int = Field(5_000, ge=100, le=60_000)
    fill_poll_seconds: float = Field(2.0, gt=0, le=60)
    stop_check_seconds: float = Field(15.0, gt=0, le=600)
    #: websocket streams (ccxt.pro): mark prices for the exits, the user-data stream for fills;
    #: REST polling covers whatever a stream misses
    streams: bool = True
    stream_stall_seconds: float = Field(10.0, ge=1, le=300)  # no mark price this long: reconnect
    rest_sweep_seconds: float = Field(30.0, ge=1, le=600)  # full REST fill sweep, streams up
    unknown_positions: Literal["adopt", "close"] = "adopt"
    #: the fake exchange only (``url_override``): market time runs ``time_scale`` times fast
    #: from ``time_origin_ms`` (epoch ms) — the chaos soak's simulated hours
    time_scale: float = Field(1.0, ge=1, le=1000)
    time_origin_ms: int = Field(0, ge=0)

    @field_validator("exchange_id")
    @classmethod
    def _venue(cls, value: str) -> str:
        if value != "binanceusdm":
            from quantum_trader.exchange.venues import check_venue  # imports ccxt: only here

            try:
                check_venue(value)
            except Exception as exc:  # noqa: BLE001 - ConfigError, shown as a config error
                raise ValueError(str(exc)) from None
        return value


class MarketSettings(Section):
    qty_step: float = Field(0.001, gt=0)
    min_qty: float = Field(0.001, ge=0)
    max_qty: float = Field(1e9, gt=0)
    min_notional: float = Field(100.0, ge=0)
    price_tick: float = Field(0.1, ge=0)


TIMEFRAME_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
}


class SignalSettings(Section):
    symbols: tuple[str, ...] = (
        "BTC/USDT:USDT",
        "ETH/USDT:USDT",
        "BNB/USDT:USDT",
        "SOL/USDT:USDT",
        "XRP/USDT:USDT",
    )
    timeframe: Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h"] = "15m"
    #: decide on candles of this timeframe, aggregated from finer feed candles (a replay or
    #: backtest of a 1m file deciding on 15m as the live daemon does; exits still walk every
    #: feed candle); "" decides on the feed's own candles
    decision_timeframe: Literal["", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h"] = ""
    #: the ensemble's models: built-ins by name, user models as "module:Name" or "file.py:Name"
    models: tuple[str, ...] = ("trend", "momentum", "breakout", "mean_reversion")
    min_confidence: float = Field(0.65, ge=0, le=1)
    #: the sides entered: "long" trades long only (a short signal can still close a long,
    #: with exits.on_signal), "short" short only
    sides: Literal["both", "long", "short"] = "both"
    allowed_consensus: tuple[Consensus, ...] = (Consensus.UNANIMOUS, Consensus.STRONG)
    high_vol_atr_pct: float = Field(0.05, ge=0, le=1)
    high_vol_min_confidence: float = Field(0.80, ge=0, le=1)
    force_confidence: float = Field(0.0, ge=0, le=1)
    source: Literal["builtin", "http"] = "builtin"
    http_url: str = "http://127.0.0.1:8001"
    http_timeout_seconds: float = Field(5.0, gt=0, le=60)

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """USDT/USDC-margined linear perpetuals, in ccxt's unified form (``BTCUSDT`` and
        ``btc/usdt:usdt`` are accepted and normalised); at least one, at most 100."""
        from quantum_trader.core.edge import normalise_symbol
        from quantum_trader.core.errors import InvalidInput

        if not value:
            raise ValueError("no symbols: name at least one (e.g. BTC/USDT:USDT)")
        if len(value) > 100:
            raise ValueError(f"{len(value)} symbols: at most 100")
        out = []
        for raw in value:
            try:
                symbol = normalise_symbol(raw)
            except InvalidInput as exc:
                raise ValueError(f"{raw!r}: {exc.problem}") from None
            if symbol.split(":")[-1] not in ("USDT", "USDC"):
                raise ValueError(f"{raw!r} is not a USDT/USDC-margined perpetual")
            out.append(symbol)
        return tuple(dict.fromkeys(out))

    @field_validator("http_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _url(value, ("http", "https"), "the HTTP signal engine's URL")


class LeverageSettings(Section):
    min_leverage: float = Field(5.0, ge=1, le=125)
    max_leverage: float = Field(80.0, ge=1, le=125)
    vol_pivot: float = Field(1.5, ge=0.2, le=10)
    pnl_weight: float = Field(0.25, ge=0, le=0.99)
    funding_weight: float = Field(10.0, ge=0, le=1000)
    safety: float = Field(0.9, gt=0, le=1)
    #: ILFv2's symbol risk per symbol (0.5–1.5; leverage × 1/risk); unlisted symbols: 1.0
    symbol_risk: dict[str, float] = Field(default_factory=dict)
    #: symbols without a symbol_risk entry: volatility_rank (0.75 calmest … 1.25 most volatile
    #: of the traded symbols, by ATR % now) or config (1.0)
    symbol_risk_from: Literal["config", "volatility_rank"] = "volatility_rank"

    @model_validator(mode="after")
    def _core(self) -> LeverageSettings:
        _core_check(
            lambda: LeverageParams(**self.model_dump(exclude={"symbol_risk", "symbol_risk_from"}))
        )
        for symbol, risk in self.symbol_risk.items():
            if not 0.5 <= risk <= 1.5:  # NaN fails this too
                raise ValueError(f"symbol_risk[{symbol}] = {risk} is outside 0.5–1.5")
        return self


class ReferenceSettings(Section):
    """A reference venue for the cross-exchange divergence (live and paper-live)."""

    exchange: str = ""  # a ccxt exchange id (public data only, no keys); "" = none
    #: our symbol → the venue's symbol for the same asset; unlisted symbols use our own name
    symbols: dict[str, str] = Field(default_factory=dict)
    poll_seconds: float = Field(30.0, ge=1, le=3_600)
    stale_seconds: float = Field(120.0, ge=1, le=86_400)


class LevelsSettings(Section):
    base_tp: float = Field(0.015, gt=0, le=0.5)
    base_sl: float = Field(0.007, gt=0, le=0.5)
    atr_scaled: bool = False
    atr_tp_mult: float = Field(3.0, gt=0, le=100)
    atr_sl_mult: float = Field(1.5, gt=0, le=100)
    tp_floor: float = Field(0.003, ge=0, le=0.5)
    sl_floor: float = Field(0.0015, ge=0, le=0.5)
    sl_min: float = Field(0.001, gt=0, le=0.5)
    sl_max: float = Field(0.02, gt=0, le=0.5)
    liq_safety: float = Field(0.8, gt=0, le=1)
    #: fixed exits: one TP at base_tp for the whole size and the stop at base_sl, as given (no
    #: leverage, funding or volatility adaptation) — a strategy's own stoploss and take profit
    fixed: bool = False

    @model_validator(mode="after")
    def _core(self) -> LevelsSettings:
        _core_check(lambda: LevelParams(**self.model_dump(exclude={"liq_safety"})))
        return self


class SizingSettings(Section):
    base_margin_usd: float = Field(200.0, gt=0)
    max_risk_per_trade: float = Field(0.01, gt=0, le=1)
    max_margin_util: float = Field(0.6, gt=0, le=1)
    #: a stop may fill beyond its level (a gap, a fast market): this much of the price is counted
    #: in the per-trade risk cap, with the round trip's fees and slippage
    gap_allowance: float = Field(0.002, ge=0, le=0.2)


class RiskSettings(Section):
    max_positions: int = Field(5, ge=0, le=200)
    daily_loss_limit: float = Field(0.08, gt=0, le=1)
    circuit_breaker_drawdown: float = Field(0.12, gt=0, le=1)
    circuit_breaker_cooldown_minutes: float = Field(120.0, ge=0)
    max_drawdown: float = Field(0.2, gt=0, le=1)
    peak_window_days: float = Field(0.0, ge=0, le=3650)  # 0: the all-time equity peak
    on_limit: Literal["block", "flatten"] = "block"


class FeedSettings(Section):
    kind: Literal["synthetic", "replay", "live"] = "synthetic"
    files: tuple[Path, ...] = ()
    funding_files: tuple[Path, ...] = ()
    speed: float | Literal["max"] = 600.0
    seed: int = 7
    synthetic_timeframe: Literal["1m", "3m", "5m", "15m"] = "1m"
    #: σ per candle of the synthetic market's trending regimes: 0 (default) is a market nothing
    #: can predict; 0.25 the trending demo market of the mechanics tests
    synthetic_drift: float = Field(0.0, ge=0, le=1)
    warmup_candles: int = Field(300, ge=0, le=100_000)
    volatility_days: float = Field(30.0, gt=0, le=365)
    poll_seconds: float = Field(60.0, gt=0)


class PaperSettings(Section):
    starting_balance: float = Field(10_000.0, gt=0)
    taker_fee: float = Field(0.0005, ge=0, le=0.01)
    maker_fee: float = Field(0.0002, ge=-0.001, le=0.01)
    slippage: float = Field(0.0002, ge=0, le=0.05)


class ExitSettings(Section):
    tp_mode: Literal["exchange", "internal"] = "exchange"
    trailing: bool = True
    trail_distance: float = Field(0.0, ge=0, le=0.5)
    loss_guard_roe: float = Field(-0.5, ge=-10, le=0)
    time_stop_minutes: float = Field(0.0, ge=0)
    #: a signal against an open position closes it at market (freqtrade's exit signal)
    on_signal: bool = False
    #: a performance breach predicted within 4 h moves open stops halfway to breakeven (SPEC §8)
    predictive: bool = True


class RLSettings(Section):
    enabled: bool = True
    retrain_every: int = Field(100, ge=1, le=100_000)
    buffer: int = Field(1_000, ge=10, le=1_000_000)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    exploration_sigma: float = Field(0.25, gt=0, le=1)  # synthetic training (qtrader rl train)
    #: exploration in trading: the multiplier is drawn from N(mean, σ), clipped to 0.5–1.5, and
    #: its probability kept for the update; 0 trades the policy's mean (and learns nothing)
    decision_sigma: float = Field(0.1, ge=0, le=0.5)
    epochs: int = Field(10, ge=1, le=1_000)
    seed: int = Field(0, ge=0)


class ApiSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8787, ge=0, le=65535)
    #: bind beyond loopback (``0.0.0.0``, ``::``, an interface's address): then every request,
    #: /health and /metrics included, needs the token from the state directory's ``api.token``
    allow_remote: bool = False

    @model_validator(mode="after")
    def _exposure(self) -> ApiSettings:
        if self.enabled and not self.allow_remote and not loopback(self.host):
            raise ValueError(
                f"api.host {self.host!r} puts the API beyond this machine: set "
                "api.allow_remote = true to mean it (every request then needs the API token)"
            )
        return self

    @property
    def remote(self) -> bool:
        return not loopback(self.host)


def loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RedisSettings(Section):
    url: SecretStr | None = None
    stream_maxlen: int = Field(10_000, ge=100)
    buffer: int = Field(10_000, ge=10)
    position_ttl_seconds: int = Field(86_400, ge=60)

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        """What redis-py's own parser accepts (redis://, rediss://, unix://): the message never
        repeats the URL (it may hold a password)."""
        if value is None:
            return None
        from redis.connection import parse_url

        try:
            parse_url(value.get_secret_value())  # type: ignore[no-untyped-call]
        except (ValueError, TypeError) as exc:
            reason = "scheme" if "scheme" in str(exc) else "form"
            raise ValueError(
                f"not a Redis URL (its {reason}: redis://[:password@]host:port/db, rediss://… or "
                "unix://…)"
            ) from None
        return value


class RuntimeSettings(Section):
    shutdown_timeout_seconds: float = Field(20.0, gt=0, le=600)
    max_task_restarts: int = Field(5, ge=0, le=100)
    health_interval_seconds: float = Field(60.0, gt=0)
    #: how often the account view behind /health is read from the exchange (off the request path)
    account_refresh_seconds: float = Field(10.0, gt=0, le=3600)
    journal: bool = True


class HealthSettings(Section):
    min_overall: float = Field(80.0, ge=0, le=100)
    min_source: float = Field(70.0, ge=0, le=100)


class CalibrationSettings(Section):
    min_resolved: int = Field(20, ge=1)
    #: binned: per raw-confidence bin once it has min_bin resolved signals (shrunk toward the
    #: pooled accuracy by prior pseudo-signals), the coarse rule before; coarse: the seed's rule
    method: Literal["binned", "coarse"] = "binned"
    min_bin: int = Field(30, ge=1, le=10_000)
    prior: float = Field(100.0, ge=0, le=10_000)
    window: int = Field(3_000, ge=20, le=100_000)  # the last this many resolved signals count


class EdgeSettings(Section):
    #: gate: a symbol trades full size only while the net edge of its shadow trades is positive
    #: at ``confidence`` (one-sided) over the last ``window``; before ``min_trades`` are in, up to
    #: ``probe_trades`` decisions trade the exchange's minimum size. off: every decision trades.
    mode: Literal["gate", "off"] = "gate"
    min_trades: int = Field(30, ge=2, le=100_000)
    confidence: float = Field(0.9, ge=0.5, le=0.999)
    window: int = Field(200, ge=2, le=1_000_000)
    probe_trades: int = Field(2, ge=0, le=1_000)

    @model_validator(mode="after")
    def _window_holds_min(self) -> EdgeSettings:
        if self.window < self.min_trades:
            raise ValueError(f"edge.window {self.window} < edge.min_trades {self.min_trades}")
        return self


class LoggingSettings(Section):
    level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    exchange: ExchangeSettings = ExchangeSettings()
    market: MarketSettings = MarketSettings()
    signals: SignalSettings = SignalSettings()
    leverage: LeverageSettings = LeverageSettings()
    levels: LevelsSettings = LevelsSettings()
    sizing: SizingSettings = SizingSettings()
    risk: RiskSettings = RiskSettings()
    feed: FeedSettings = FeedSettings()
    paper: PaperSettings = PaperSettings()
    exits: ExitSettings = ExitSettings()
    rl: RLSettings = RLSettings()
    api: ApiSettings = ApiSettings()
    redis: RedisSettings = RedisSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    health: HealthSettings = HealthSettings()
    calibration: CalibrationSettings = CalibrationSettings()
    reference: ReferenceSettings = ReferenceSettings()
    edge: EdgeSettings = EdgeSettings()
    logging: LoggingSettings = LoggingSettings()

    def secret_values(self) -> list[str]:
        """Every secret's plain value, to be masked wherever it might be logged."""
        secrets = (self.exchange.api_key, self.exchange.api_secret, self.redis.url)
        return [s.get_secret_value() for s in secrets if s is not None]

    @model_validator(mode="after")
    def _stress_knobs_stay_in_paper(self) -> Settings:
        problem = stress_knob_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _CONFIG_FILE.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def _url(value: str, schemes: tuple[str, ...], what: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a URL") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{what} {value!r}: expected {' or '.join(schemes)}://host[:port]")
    return value


class ConfigError(Exception):
    """An invalid configuration; the message names each key and its problem."""


def stress_knob_problem(settings: Settings) -> str | None:
    """Stress knobs trade every signal as if sure: paper and backtests only; a fast clock is for
    the fake exchange only."""
    x = settings.exchange
    if x.time_scale != 1.0 and not x.url_override:
        return f"exchange.time_scale = {x.time_scale:g} needs the fake exchange (url_override)"
    if settings.signals.force_confidence and settings.exchange.mode != "paper":
        return (
            f"signals.force_confidence = {settings.signals.force_confidence:g} is for paper and "
            f"backtests only, not {settings.exchange.mode}"
        )
    return None


def with_mode(settings: Settings, mode: Literal["paper", "testnet", "live"]) -> Settings:
    """The one resolved mode (command-line flag over config) written into the settings, so every
    check reads the same; the mode's own checks run again on the result."""
    resolved = settings.model_copy(
        update={"exchange": settings.exchange.model_copy(update={"mode": mode})}
    )
    problem = stress_knob_problem(resolved)
    if problem is not None:
        raise ConfigError(problem)
    return resolved


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(root)"
        env = "QT_" + "__".join(str(part) for part in err["loc"]).upper()
        origin = f" [from env {env}]" if env in os.environ else ""
        secret = any(part in key for part in ("key", "secret", "url", "password", "token"))
        given = (
            f" (got {str(repr(err['input']))[:60]})"
            if "input" in err and not isinstance(err["input"], dict) and not secret
            else ""
        )
        lines.append(f"{key}: {err['msg']}{given}{origin}")
    return "invalid configuration: " + "; ".join(lines)  # one line, for the journal


#: ``QT_`` variables that are not settings: read elsewhere, on purpose
OTHER_ENV = frozenset(
    {"QT_CONFIG", "QT_STATE_DIR", "QT_CANDLE_CACHE", "QT_CRASH_AT", "QT_I_UNDERSTAND_LIVE_TRADING",
     "QT_DEMO_API_KEY", "QT_DEMO_API_SECRET"}
)  # fmt: skip


def unknown_env_keys(environ: Mapping[str, str]) -> list[str]:
    """``QT_`` variables that name no setting (a misspelling would otherwise be ignored)."""
    out = []
    for name in environ:
        upper = name.upper()
        if not upper.startswith("QT_") or upper in OTHER_ENV:
            continue
        section, _, key = upper[3:].lower().partition("__")
        field = Settings.model_fields.get(section)
        model = field.annotation if field is not None else None
        fields = getattr(model, "model_fields", {})
        if key.split("__")[0] not in fields:
            out.append(name)
    return sorted(out)


def load_settings(config_file: Path | str | None = None) -> Settings:
    """Build the settings, or raise :class:`ConfigError` with a message naming each bad key."""
    raw = config_file if config_file is not None else os.environ.get("QT_CONFIG")
    path = Path(raw) if raw else None
    unknown = unknown_env_keys(os.environ)
    if unknown:
        raise ConfigError(
            f"invalid configuration: unknown environment variable(s) {', '.join(unknown)} "
            "(QT_<SECTION>__<KEY>, as in config/qtrader.toml)"
        )
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {path}: not found or not a file")
        try:
            with path.open("rb") as handle:
                tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"config file {path}: not a text (UTF-8) TOML file") from None
        except RecursionError:
            raise ConfigError(f"config file {path}: nested too deeply to be a config") from None
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror}") from None
    token = _CONFIG_FILE.set(path)
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:  # an env value that is not the JSON a list or table needs
        raise ConfigError(_describe_env(exc)) from None
    finally:
        _CONFIG_FILE.reset(token)


def settings_from(data: Mapping[str, Any]) -> Settings:
    """Settings from a (changed) model dump — a sweep's trial — or :class:`ConfigError` naming
    each bad key."""
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe_env(exc: SettingsError) -> str:
    """Name the variables behind a settings source error, never their values (one may be a
    secret): lists and tables in the environment are JSON."""
    field = str(exc).split('"')[1] if '"' in str(exc) else ""
    prefix = f"QT_{field.upper()}__" if field else "QT_"
    names = sorted(k for k in os.environ if k.startswith(prefix)) or [prefix + "…"]
    return (
        f"invalid configuration: {', '.join(names)}: not a valid value for its setting — a "
        "list or table in an environment variable is JSON, e.g. "
        """QT_SIGNALS__SYMBOLS='["BTC/USDT:USDT"]'"""
    )
