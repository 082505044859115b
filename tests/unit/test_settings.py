"""Settings: embedded defaults, the commented TOML, env overrides, errors naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from quantum_trader.params import decision_params, filter_params
from quantum_trader.settings import (
    ConfigError,
    Settings,
    load_settings,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "qtrader.toml"


pytestmark = pytest.mark.usefixtures("clean_qt_env")


def test_shipped_file_equals_the_embedded_defaults() -> None:
    assert load_settings(SHIPPED) == load_settings(None)


def test_shipped_file_states_every_knob() -> None:
    data = tomllib.loads(SHIPPED.read_text())
    text = SHIPPED.read_text()
    for section, model in Settings.model_fields.items():
        assert section in data, f"[{section}] missing from {SHIPPED.name}"
        section_type = model.annotation
        assert section_type is not None
        for key, field in section_type.model_fields.items():  # type: ignore[union-attr]
            if field.default is None:
                assert f"# {key} =" in text, f"{section}.{key} should appear commented"
            else:
                assert key in data[section], f"{section}.{key} missing from {SHIPPED.name}"


def test_env_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "q.toml"
    cfg.write_text("[leverage]\nmax_leverage = 40\n[sizing]\nbase_margin_usd = 100\n")
    monkeypatch.setenv("QT_LEVERAGE__MAX_LEVERAGE", "30")
    s = load_settings(cfg)
    assert s.leverage.max_leverage == 30
    assert s.sizing.base_margin_usd == 100
    monkeypatch.setenv("QT_CONFIG", str(cfg))
    monkeypatch.delenv("QT_LEVERAGE__MAX_LEVERAGE")
    assert load_settings().leverage.max_leverage == 40


def test_sections_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(Exception, match="frozen"):
        s.leverage.max_leverage = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[leverage]\nmax_leverage = 300\n", "leverage.max_leverage: Input should be less than"),
        ("[leverage]\nmaxx = 3\n", "leverage.maxx: Extra inputs are not permitted"),
        ("[nonsense]\na = 1\n", "nonsense: Extra inputs are not permitted"),
        ("[levels]\nsl_min = 0.05\n", "levels: Value error, sl_min: 0.05 is above sl_max 0.02"),
        ("[leverage]\nmin_leverage = 90\n", "min_leverage: 90 is above max_leverage 80"),
        ("[exchange]\nmode = 'yolo'\n", "exchange.mode: Input should be 'paper', 'testnet' or"),
        ("[signals]\nallowed_consensus = ['MAYBE']\n", "signals.allowed_consensus.0"),
        ("[sizing]\nbase_margin_usd = 'lots'\n", "sizing.base_margin_usd: Input should be a valid"),
        ("[leverage\n", "not valid TOML"),
    ],
)
def test_invalid_files_name_the_key(tmp_path: Path, toml: str, fragment: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert fragment in str(info.value)


def test_invalid_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_SIZING__MAX_MARGIN_UTIL", "7")
    with pytest.raises(ConfigError, match=r"sizing.max_margin_util.*\[from env QT_SIZING__"):
        load_settings()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_EXCHANGE__API_KEY", "k-123456")
    s = load_settings()
    assert "k-123456" not in repr(s) and "k-123456" not in str(s.model_dump(mode="json"))
    assert s.secret_values() == ["k-123456"]


def test_params_mapping() -> None:
    s = load_settings()
    p = decision_params(s)
    assert (p.leverage.max_leverage, p.levels.base_tp, p.sizing.base_margin_usd) == (80, 0.015, 200)
    assert p.liq_safety == 0.8
    assert filter_params(s).max_positions == 5


def test_a_fast_clock_needs_the_fake_exchange() -> None:
    with pytest.raises(ValueError, match="time_scale = 20 needs the fake exchange"):
        Settings(exchange={"time_scale": 20.0})
    fast = Settings(exchange={"time_scale": 20.0, "url_override": "http://127.0.0.1:9"})
    assert fast.exchange.time_scale == 20.0


def test_the_wall_clock_runs_fast_from_its_origin_only_when_told() -> None:
    import time

    from quantum_trader.runtime.clock import WallClock

    origin = int(time.time() * 1000) - 60_000  # a minute ago
    real, fast = WallClock().now_ms(), WallClock(20.0, origin).now_ms()
    assert abs(real - time.time() * 1000) < 1_000
    assert abs(fast - (origin + 20 * 60_000)) < 20 * 1_000  # twenty minutes on from the origin
