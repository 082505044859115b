"""Modes and keys: demo trading fails closed, live needs its opt-in, keys files must be private,
and no secret is ever printed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from quantum_trader.cli import main
from quantum_trader.exchange.base import FatalExchangeError
from quantum_trader.exchange.binance_client import (
    DEMO_HOST,
    FAPI,
    LIVE_OPT_IN,
    ConfigError,
    _expect_host,
    check_live_opt_in,
    make_client,
    read_keys_file,
)

KEY, SECRET = "k-" + "A1" * 16, "s-" + "B2" * 24


def _close(client: object) -> None:
    asyncio.run(client.close())  # type: ignore[attr-defined]


def test_testnet_is_demo_trading_on_every_usdm_url() -> None:
    client = make_client("testnet", KEY, SECRET)
    try:
        assert {urlparse(client.urls["api"][n]).hostname for n in FAPI} == {DEMO_HOST}
        assert client.options["enableDemoTrading"] is True
        assert not client.isSandboxModeEnabled
        client.urls["api"]["fapiPrivate"] = "https://fapi.binance.com/fapi/v1"
        with pytest.raises(FatalExchangeError, match="fapiPrivate"):
            _expect_host(client, DEMO_HOST, "testnet")
    finally:
        _close(client)


def test_live_urls_and_the_loopback_only_override() -> None:
    client = make_client("live", KEY, SECRET)
    _close(client)
    assert urlparse(client.urls["api"]["fapiPrivate"]).hostname == "fapi.binance.com"
    with pytest.raises(ConfigError, match="loopback"):
        make_client("testnet", KEY, SECRET, "https://evil.example.com")
    local = make_client("testnet", KEY, SECRET, "http://127.0.0.1:9")
    _close(local)
    assert local.urls["api"]["fapiPrivateV3"] == "http://127.0.0.1:9/fapi/v3"


def test_live_needs_the_explicit_opt_in() -> None:
    with pytest.raises(ConfigError, match=LIVE_OPT_IN):
        check_live_opt_in({})
    with pytest.raises(ConfigError):
        check_live_opt_in({LIVE_OPT_IN: "true"})
    check_live_opt_in({LIVE_OPT_IN: "yes"})


def test_keys_file_must_be_private(tmp_path: Path) -> None:
    f = tmp_path / "keys"
    f.write_text(f"# demo keys\nKEY={KEY}\nSECRET={SECRET}\n")
    f.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600") as info:
        read_keys_file(f)
    assert SECRET not in str(info.value) and KEY not in str(info.value)
    f.chmod(0o600)
    assert read_keys_file(f) == (KEY, SECRET)
    f.write_text(f"{KEY}\n{SECRET}\n")
    assert read_keys_file(f) == (KEY, SECRET)


def test_run_live_without_opt_in_refuses_and_prints_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(LIVE_OPT_IN, raising=False)
    monkeypatch.setenv("QT_EXCHANGE__API_KEY", KEY)
    monkeypatch.setenv("QT_EXCHANGE__API_SECRET", SECRET)
    assert main(["run", "--live"]) == 78
    out = "".join(capsys.readouterr())
    assert LIVE_OPT_IN in out
    assert KEY not in out and SECRET not in out


def test_run_testnet_without_keys_says_which_are_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for k in [k for k in os.environ if k.startswith("QT_EXCHANGE")]:
        monkeypatch.delenv(k)
    assert main(["run", "--testnet"]) == 78
    assert "QT_EXCHANGE__API_KEY" in capsys.readouterr().out
