"""Making the ccxt client for ``--testnet`` (Binance demo trading) and ``--live``, and where its
keys come from.

- ``--testnet`` = ``enable_demo_trading(True)`` — never ``set_sandbox_mode`` (Binance retired the
  futures sandbox) — and then a check that every USDⓈ-M URL is the demo one: fail closed.
- ``--live`` needs ``QT_I_UNDERSTAND_LIVE_TRADING=yes`` in the environment.
- Keys: ``QT_EXCHANGE__API_KEY`` / ``QT_EXCHANGE__API_SECRET`` (SecretStr settings) or a keys file
  (``exchange.keys_file``: two lines ``key`` and ``secret``, or ``KEY=…``/``SECRET=…``) that must be
  mode 0600. Secrets are handed to ccxt and to nothing else; errors never include them.
- ``exchange.url_override`` points every USDⓈ-M URL, REST and websocket, at a loopback server (the
  fake exchange in tests); any other host is refused.
- The client is ``ccxt.pro``'s: the same REST API plus the websocket streams (``watch_*``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from quantum_trader.exchange.base import FatalExchangeError
from quantum_trader.logging import register_secret

LIVE_OPT_IN = "QT_I_UNDERSTAND_LIVE_TRADING"
DEMO_HOST = "demo-fapi.binance.com"
LIVE_HOST = "fapi.binance.com"
FAPI = (
    "fapiPublic",
    "fapiPublicV2",
    "fapiPublicV3",
    "fapiPrivate",
    "fapiPrivateV2",
    "fapiPrivateV3",
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ConfigError(Exception):
    """A mode or key problem found before any order: the daemon refuses to start."""


def read_keys_file(path: Path) -> tuple[str, str]:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"keys file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"keys file {path} must be readable by its owner only (chmod 600)")
    values: dict[str, str] = {}
    lines = [x.strip() for x in path.read_text().splitlines() if x.strip() and x[0] != "#"]
    for i, line in enumerate(lines):
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip().upper()] = value.strip()
        else:
            values[("KEY", "SECRET")[min(i, 1)]] = line
    key = values.get("KEY") or values.get("API_KEY")
    secret = values.get("SECRET") or values.get("API_SECRET")
    if not key or not secret:
        raise ConfigError(f"keys file {path} needs a key and a secret")
    register_secret(key)  # masked in every log line from here on, whoever logs them (ccxt too)
    register_secret(secret)
    return key, secret


def check_live_opt_in(environ: dict[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    if env.get(LIVE_OPT_IN) != "yes":
        raise ConfigError(
            f"--live trades real money: set {LIVE_OPT_IN}=yes to confirm (nothing was sent)"
        )


def make_client(
    mode: str,
    key: str,
    secret: str,
    url_override: str | None = None,
    timeout_ms: int = 10_000,
    rate_limit_ms: float | None = None,
    recv_window_ms: int = 5_000,
) -> Any:
    import ccxt.pro as ccxt_pro  # REST and websockets in one client (one rate limiter, markets)

    for secret_text in (key, secret):  # masked in every log line, whoever logs them (ccxt's
        register_secret(secret_text)  # DEBUG request lines carry the key header)

    client = ccxt_pro.binanceusdm(
        {
            "apiKey": key,
            "secret": secret,
            "enableRateLimit": True,
            "timeout": timeout_ms,
            **({"rateLimit": rate_limit_ms} if rate_limit_ms is not None else {}),
            "options": {
                "defaultType": "swap",
                "fetchCurrencies": False,
                "warnOnFetchOpenOrdersWithoutSymbol": False,
                "adjustForTimeDifference": True,  # signed requests use the exchange clock
                "recvWindow": recv_window_ms,  # a request older than this is never executed
            },
        }
    )
    if mode == "testnet":
        client.enable_demo_trading(True)
        _expect_host(client, DEMO_HOST, "testnet (Binance demo trading)")
    elif mode == "live":
        _expect_host(client, LIVE_HOST, "live")
    else:
        raise ConfigError(f"unknown exchange mode {mode!r}")
    if url_override:
        _override(client, url_override)
    return client


def _expect_host(client: Any, host: str, what: str) -> None:
    wrong = {
        n: client.urls["api"].get(n)
        for n in FAPI
        if urlparse(client.urls["api"].get(n) or "").hostname != host
    }
    if wrong:
        raise FatalExchangeError(
            f"{what}: ccxt's USDⓈ-M URLs are not {host} ({', '.join(sorted(wrong))}); refusing"
        )


def _override(client: Any, base: str) -> None:
    parsed = urlparse(base)
    if parsed.hostname not in LOOPBACK:
        raise ConfigError(f"exchange.url_override must be a loopback URL, not {parsed.hostname}")
    root = base.rstrip("/")
    for name in FAPI:
        url = urlparse(client.urls["api"][name])
        client.urls["api"][name] = root + url.path
    ws = client.urls["api"].get("ws")
    if isinstance(ws, dict):  # market and user-data streams: ws://host:port/{market,private}/ws
        ws["linear"] = "ws" + root.removeprefix("http") + "/ws"
